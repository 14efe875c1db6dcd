package llama

import (
	"os"
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

func TestSystemInfoFeatures(t *testing.T) {
	info := SystemInfo{Backends: map[string]map[string]string{
		"CPU": {"SSE3": "1", "AVX512": "1", "AMX_INT8": "1", "LLAMAFILE": "1", "REPACK": "1"},
	}}
	if !info.AMX() {
		t.Error("AMX() = false for AMX_INT8 = 1")
	}
	if f := info.CPUFeatures(); !reflect.DeepEqual(f, []string{"AMX_INT8", "AVX512", "SSE3"}) {
		t.Errorf("CPUFeatures() = %v", f)
	}
	if (SystemInfo{Backends: map[string]map[string]string{"CPU": {"AVX2": "1", "AMX_INT8": "0"}}}).AMX() {
		t.Error("AMX() = true for AMX_INT8 = 0")
	}
}

// TestInitLoadsBestBackend checks the real backends from the bootstrap cache: the variant loaded must use
// the widest vector units this CPU has (AMX tiles where present, else AVX-512, else AVX2), not the
// statically compiled fallback.
func TestInitLoadsBestBackend(t *testing.T) {
	info := Init("") // OLLAMA_LIBRARY_PATH from scripts/env.sh
	features := info.CPUFeatures()
	t.Logf("library path %v, CPU features %v", info.LibraryPath, features)
	if len(features) == 0 {
		t.Fatalf("no CPU backend features reported: %+v", info)
	}
	switch {
	case cpu.X86.HasAMXTile && cpu.X86.HasAMXInt8:
		if !info.AMX() {
			t.Errorf("CPU has AMX but the loaded backend does not use it: %v", features)
		}
	case cpu.X86.HasAVX512F:
		if !slices.Contains(features, "AVX512") {
			t.Errorf("CPU has AVX-512 but the loaded backend does not use it: %v", features)
		}
	case cpu.X86.HasAVX2:
		if !slices.Contains(features, "AVX2") {
			t.Errorf("CPU has AVX2 but the loaded backend does not use it: %v", features)
		}
	}
}

// TestWithLibraryPathHandsGGMLThePathOnlyWhileLoading checks that ggml's loader sees the library path hearth
// was configured with, and that the process environment is as it was once the backends are loaded.
func TestWithLibraryPathHandsGGMLThePathOnlyWhileLoading(t *testing.T) {
	t.Setenv("OLLAMA_LIBRARY_PATH", "/from/the/environment")
	seen := ""
	withLibraryPath("/configured/lib/ollama", func() { seen = os.Getenv("OLLAMA_LIBRARY_PATH") })
	if seen != "/configured/lib/ollama" {
		t.Errorf("the loader saw OLLAMA_LIBRARY_PATH=%q, want the configured path", seen)
	}
	if got := os.Getenv("OLLAMA_LIBRARY_PATH"); got != "/from/the/environment" {
		t.Errorf("after loading OLLAMA_LIBRARY_PATH=%q, want it restored", got)
	}
	withLibraryPath("", func() { seen = os.Getenv("OLLAMA_LIBRARY_PATH") })
	if seen != "/from/the/environment" {
		t.Errorf("with no configured path the loader saw %q, want the environment's", seen)
	}

	os.Unsetenv("OLLAMA_LIBRARY_PATH")
	withLibraryPath("/configured/lib/ollama", func() {})
	if _, set := os.LookupEnv("OLLAMA_LIBRARY_PATH"); set {
		t.Error("OLLAMA_LIBRARY_PATH is left set after loading; it was unset before")
	}
}
