package modelfacts

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/ollama/ollama/api"
)

// jsonMarshal is json.Marshal, named for the one place that round-trips a parameter.
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// optionField is one api.Options field that a JSON key sets.
type optionField struct {
	index []int
	kind  reflect.Kind
	typ   reflect.Type
}

// optionFields maps each json key of api.Options to its field, built once: api.Options.FromMap rebuilds
// this map with reflect.VisibleFields on every call, which was most of its cost.
var optionFields = sync.OnceValue(func() map[string]optionField {
	fields := make(map[string]optionField)
	for _, f := range reflect.VisibleFields(reflect.TypeFor[api.Options]()) {
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" {
			fields[tag] = optionField{index: f.Index, kind: f.Type.Kind(), typ: f.Type}
		}
	}
	return fields
})

// boolPointer is the type of api.Runner.UseMMap.
var boolPointer = reflect.TypeFor[*bool]()

// ApplyOptions applies a map of options (a request's "options", a model's parameters) to opts exactly as
// api.Options.FromMap does, with the same errors, without its per-call reflection over the struct. Keys
// that are not options are ignored and returned, for the caller to warn about as Ollama does. An empty map
// changes nothing.
func ApplyOptions(opts *api.Options, m map[string]any) (unknown []string, err error) {
	if len(m) == 0 {
		return nil, nil
	}
	fields := optionFields()
	v := reflect.ValueOf(opts).Elem()
	for key, val := range m {
		f, ok := fields[key]
		if !ok {
			unknown = append(unknown, key)
			continue
		}
		if val == nil {
			continue
		}
		field := v.FieldByIndex(f.index)
		switch f.kind {
		case reflect.Int:
			switch t := val.(type) {
			case int64:
				field.SetInt(t)
			case float64:
				// when JSON unmarshals numbers, it uses float64, not int
				field.SetInt(int64(t))
			default:
				return unknown, fmt.Errorf("option %q must be of type integer", key)
			}
		case reflect.Bool:
			b, ok := val.(bool)
			if !ok {
				return unknown, fmt.Errorf("option %q must be of type boolean", key)
			}
			field.SetBool(b)
		case reflect.Float32:
			x, ok := val.(float64)
			if !ok {
				return unknown, fmt.Errorf("option %q must be of type float32", key)
			}
			field.SetFloat(x)
		case reflect.String:
			s, ok := val.(string)
			if !ok {
				return unknown, fmt.Errorf("option %q must be of type string", key)
			}
			field.SetString(s)
		case reflect.Slice:
			items, ok := val.([]any)
			if !ok {
				return unknown, fmt.Errorf("option %q must be of type array", key)
			}
			slice := make([]string, len(items))
			for i, item := range items {
				s, ok := item.(string)
				if !ok {
					return unknown, fmt.Errorf("option %q must be of an array of strings", key)
				}
				slice[i] = s
			}
			field.Set(reflect.ValueOf(slice))
		case reflect.Pointer:
			if f.typ != boolPointer {
				return unknown, fmt.Errorf("unknown type loading config params: %v %v", f.kind, f.typ)
			}
			b, ok := val.(bool)
			if !ok {
				return unknown, fmt.Errorf("option %q must be of type boolean", key)
			}
			field.Set(reflect.ValueOf(&b))
		default:
			return unknown, fmt.Errorf("unknown type loading config params: %v", f.kind)
		}
	}
	return unknown, nil
}
