package engine

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/ollama/ollama/api"
)

// TestSetOptionsMatchesFromMap checks setOptions against api.Options.FromMap, which it replaces, for every
// option and every JSON type a value can have: the same options result, or the same error.
func TestSetOptionsMatchesFromMap(t *testing.T) {
	values := []any{nil, true, false, 3.0, -1.5, int64(7), 7, float32(0.5), "x", []any{"a", "b"}, []any{"a", 1.0},
		[]any{}, []string{"a"}, map[string]any{"a": 1.0}}
	keys := []string{"unknown_key"}
	for key := range optionFields() {
		keys = append(keys, key)
	}
	for _, key := range keys {
		for _, v := range values {
			m := map[string]any{key: v}
			want, got := api.DefaultOptions(), api.DefaultOptions()
			wantErr, gotErr := want.FromMap(m), setOptions(&got, m, discardLog)
			if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) || !reflect.DeepEqual(want, got) {
				t.Errorf("%s=%#v: setOptions %+v, %v; FromMap %+v, %v", key, v, got, gotErr, want, wantErr)
			}
		}
	}

	m := map[string]any{"num_ctx": 2048.0, "temperature": 0.1, "stop": []any{"</s>"}, "use_mmap": false,
		"num_predict": int64(3), "keep_alive": "5m"}
	want, got := api.DefaultOptions(), api.DefaultOptions()
	if err := want.FromMap(m); err != nil {
		t.Fatal(err)
	}
	if err := setOptions(&got, m, discardLog); err != nil || !reflect.DeepEqual(want, got) {
		t.Errorf("setOptions %+v, %v; FromMap %+v", got, err, want)
	}
}

// TestSetOptionsCopies checks that options set on a copy of a model's default options leave the defaults
// alone, which the per-model cache relies on.
func TestSetOptionsCopies(t *testing.T) {
	base := api.DefaultOptions()
	if err := setOptions(&base, map[string]any{"stop": []any{"a"}, "use_mmap": true}, discardLog); err != nil {
		t.Fatal(err)
	}
	opts := base
	if err := setOptions(&opts, map[string]any{"stop": []any{"b"}, "use_mmap": false}, discardLog); err != nil {
		t.Fatal(err)
	}
	if base.Stop[0] != "a" || !*base.UseMMap {
		t.Errorf("the defaults changed: %v %v", base.Stop, *base.UseMMap)
	}
}
