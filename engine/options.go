package engine

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/registry"
)

// maxNumCtx bounds num_ctx before any model is consulted: beyond it no KV cache fits in memory.
const maxNumCtx = 1 << 24

// Options merges a request's options over the model's parameters over the defaults, with Ollama's
// semantics (unknown keys ignored, JSON numbers truncated to integers), except that a wrong type, or a
// load-time value that makes no sense, is a *RequestError (Ollama answers 500).
func (s *Scheduler) Options(m *registry.Model, requestOpts map[string]any) (api.Options, error) {
	defaults := s.optionsOf(m)
	if defaults.err != nil {
		return api.Options{}, &LoadError{Model: m.ShortName, Err: defaults.err}
	}
	opts := defaults.opts
	if err := setOptions(&opts, requestOpts, s.log); err != nil {
		return api.Options{}, &RequestError{Msg: err.Error()}
	}
	switch {
	case opts.NumCtx < 0 || opts.NumCtx > maxNumCtx:
		return api.Options{}, badRequest("num_ctx %d is out of range: use a context length between 1 and %d tokens", opts.NumCtx, maxNumCtx)
	case opts.NumBatch < 0:
		return api.Options{}, badRequest("num_batch %d is out of range: use a positive batch size", opts.NumBatch)
	case opts.NumThread < 0:
		return api.Options{}, badRequest("num_thread %d is out of range: use 0 (automatic) or a positive thread count", opts.NumThread)
	}
	if opts.NumCtx == 0 {
		opts.NumCtx = s.cfg.Pipeline.NumCtx
	}
	if opts.NumBatch == 0 {
		opts.NumBatch = 512
	}
	return opts, nil
}

// loadConfig picks the load-time options out of opts. num_gpu and main_gpu are left out: hearth runs on
// the CPU, so they never force a reload.
func (s *Scheduler) loadConfig(opts api.Options) LoadConfig {
	mmap := 0
	if opts.UseMMap != nil {
		mmap = -1
		if *opts.UseMMap {
			mmap = 1
		}
	}
	// Ollama's scheduler loads a runner with at least 4 tokens of context; the llama backend applies that
	// floor to generators (clampContext), while an encoder keeps the exact num_ctx as the length it truncates
	// an input to, as Ollama's /api/embed does.
	numCtx := max(opts.NumCtx, 1)
	return LoadConfig{
		NumCtx:         numCtx,
		NumBatch:       min(opts.NumBatch, numCtx),
		NumThread:      opts.NumThread,
		UseMMap:        mmap,
		Parallel:       s.cfg.Pipeline.NumParallel,
		KVCacheType:    s.cfg.Pipeline.KVCacheType,
		FlashAttention: s.cfg.Pipeline.FlashAttention,
	}
}

// jsonMarshal is json.Marshal, named for the one place that round-trips a parameter.
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// systemMemory reads MemTotal from /proc/meminfo; 16 GiB when it cannot.
func systemMemory() int64 {
	const fallback = 16 << 30
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return fallback
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return fallback
}

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

// setOptions applies a map of options (a request's "options", a model's parameters) to opts exactly as
// api.Options.FromMap does, with the same errors and the same warning for unknown keys (to log), without
// its per-call reflection over the struct. An empty map changes nothing.
func setOptions(opts *api.Options, m map[string]any, log *slog.Logger) error {
	if len(m) == 0 {
		return nil
	}
	fields := optionFields()
	v := reflect.ValueOf(opts).Elem()
	for key, val := range m {
		f, ok := fields[key]
		if !ok {
			log.Warn("invalid option provided", "option", key)
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
				return fmt.Errorf("option %q must be of type integer", key)
			}
		case reflect.Bool:
			b, ok := val.(bool)
			if !ok {
				return fmt.Errorf("option %q must be of type boolean", key)
			}
			field.SetBool(b)
		case reflect.Float32:
			x, ok := val.(float64)
			if !ok {
				return fmt.Errorf("option %q must be of type float32", key)
			}
			field.SetFloat(x)
		case reflect.String:
			s, ok := val.(string)
			if !ok {
				return fmt.Errorf("option %q must be of type string", key)
			}
			field.SetString(s)
		case reflect.Slice:
			items, ok := val.([]any)
			if !ok {
				return fmt.Errorf("option %q must be of type array", key)
			}
			slice := make([]string, len(items))
			for i, item := range items {
				s, ok := item.(string)
				if !ok {
					return fmt.Errorf("option %q must be of an array of strings", key)
				}
				slice[i] = s
			}
			field.Set(reflect.ValueOf(slice))
		case reflect.Pointer:
			if f.typ != boolPointer {
				return fmt.Errorf("unknown type loading config params: %v %v", f.kind, f.typ)
			}
			b, ok := val.(bool)
			if !ok {
				return fmt.Errorf("option %q must be of type boolean", key)
			}
			field.Set(reflect.ValueOf(&b))
		default:
			return fmt.Errorf("unknown type loading config params: %v", f.kind)
		}
	}
	return nil
}
