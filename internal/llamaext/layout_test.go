package llamaext

import (
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml/backend/ggml"
	"golang.org/x/mod/modfile"
)

const ollamaModule = "github.com/ollama/ollama"

// field is one struct field as reflect reports it: its name and its type as Go prints it.
type field struct{ name, typ string }

// pinnedLayouts are the structs cContext and cModel read, field by field, as of OllamaVersion. Both
// casts need field 0 to be the pointer to llama.cpp's C struct; the other fields are listed so that any
// change to the struct is noticed and the casts re-checked.
var pinnedLayouts = []struct {
	typ  reflect.Type
	want []field
}{
	{reflect.TypeFor[llama.Context](), []field{{"c", "*llama._Ctype_struct_llama_context"}, {"numThreads", "int"}}},
	{reflect.TypeFor[llama.Model](), []field{{"c", "*llama._Ctype_struct_llama_model"}}},
}

// layoutMismatch describes how typ differs from the fields in want, with field 0 at offset 0 and
// pointer-sized, or returns "".
func layoutMismatch(typ reflect.Type, want []field) string {
	if typ.Kind() != reflect.Struct {
		return fmt.Sprintf("%v is a %v, not a struct", typ, typ.Kind())
	}
	var got []field
	for i := range typ.NumField() {
		f := typ.Field(i)
		got = append(got, field{f.Name, f.Type.String()})
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("%v has fields %v, want %v", typ, got, want)
	}
	f0 := typ.Field(0)
	if f0.Offset != 0 || f0.Type.Kind() != reflect.Pointer || f0.Type.Size() != reflect.TypeFor[uintptr]().Size() {
		return fmt.Sprintf("%v's field %s is a %v at offset %d, want a pointer at offset 0", typ, f0.Name, f0.Type.Kind(), f0.Offset)
	}
	return ""
}

func TestOllamaStructLayoutsAreThePinnedOnes(t *testing.T) {
	for _, p := range pinnedLayouts {
		if m := layoutMismatch(p.typ, p.want); m != "" {
			t.Errorf("%s; the unsafe casts in llamaext.go read field 0 as the C pointer: re-check them against the new layout, then update pinnedLayouts", m)
		}
	}
}

func TestLayoutMismatchReportsAChangedStruct(t *testing.T) {
	want := []field{{"c", "*int"}, {"n", "int"}}
	for _, tc := range []struct {
		name string
		typ  reflect.Type
		ok   bool
	}{
		{"same", reflect.TypeFor[struct {
			c *int
			n int
		}](), true},
		{"reordered", reflect.TypeFor[struct {
			n int
			c *int
		}](), false},
		{"field added", reflect.TypeFor[struct {
			c *int
			n int
			m int
		}](), false},
		{"pointer became a value", reflect.TypeFor[struct {
			c int
			n int
		}](), false},
	} {
		if got := layoutMismatch(tc.typ, want) == ""; got != tc.ok {
			t.Errorf("%s: layoutMismatch reports a match = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestBuiltWithTheCheckedOllamaVersion(t *testing.T) {
	// A test binary records no dependency versions (debug.ReadBuildInfo lists none), so the version comes
	// from the module's go.mod, which names every dependency's selected version and any replacement.
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	version := ""
	for _, r := range mf.Require {
		if r.Mod.Path == ollamaModule {
			version = r.Mod.Version
		}
	}
	for _, r := range mf.Replace {
		if r.Old.Path == ollamaModule {
			version = fmt.Sprintf("%s (replaced by %s %s)", version, r.New.Path, r.New.Version)
		}
	}
	if version != OllamaVersion {
		t.Fatalf("go.mod builds with %s %s, but llamaext's casts and C declarations were checked against %s: re-check llama.Context, llama.Model and the declared functions against the new llama.h and ggml-backend.h, then update OllamaVersion and pinnedLayouts",
			ollamaModule, version, OllamaVersion)
	}
}

// TestGGMLBackendHasSchedBackends pins the field BackendThreads reads from ml/backend/ggml's Backend.
func TestGGMLBackendHasSchedBackends(t *testing.T) {
	f, ok := reflect.TypeFor[ggml.Backend]().FieldByName("schedBackends")
	if !ok || f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Pointer {
		t.Fatalf("ml/backend/ggml.Backend has no schedBackends []C.ggml_backend_t (got %v): re-check BackendThreads", f.Type)
	}
	if got := f.Type.Elem().String(); got != "ggml._Ctype_ggml_backend_t" {
		t.Errorf("schedBackends holds %s, want ggml._Ctype_ggml_backend_t", got)
	}
}

func TestBackendThreadsRejectsAnotherBackend(t *testing.T) {
	if err := BackendThreads(nil, 2); err == nil {
		t.Error("BackendThreads(nil) succeeded")
	}
}
