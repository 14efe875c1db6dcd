// Package llama runs GGUF models in the server process through llama.cpp (the cgo package
// github.com/ollama/ollama/llama): backend initialisation, model loading and the decode loop.
// It knows nothing of HTTP.
package llama

import (
	"os"
	"path/filepath"
	"sort"
	"sync"

	llamacpp "github.com/ollama/ollama/llama"
	ggml "github.com/ollama/ollama/ml/backend/ggml/ggml/src"

	"github.com/hearthlink/hearth/internal/llamaext"
)

// SystemInfo is what the loaded ggml backends report about this machine.
type SystemInfo struct {
	// LibraryPath lists the folders the CPU backends were loaded from.
	LibraryPath []string
	// Backends maps a backend name ("CPU") to the features it reports with their values.
	Backends map[string]map[string]string
}

// CPUFeatures lists the CPU features the loaded CPU backend was built to use (AVX512, AMX_INT8, ...),
// sorted, without the ones reported as off.
func (s SystemInfo) CPUFeatures() []string {
	var out []string
	for name, v := range s.Backends["CPU"] {
		if v != "0" && name != "LLAMAFILE" && name != "OPENMP" && name != "REPACK" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// AMX reports whether the loaded CPU backend uses Intel AMX tiles.
func (s SystemInfo) AMX() bool {
	v, ok := s.Backends["CPU"]["AMX_INT8"]
	return ok && v == "1"
}

var (
	initOnce sync.Once
	initInfo SystemInfo
)

// Init loads ggml's CPU backends and initialises llama.cpp once per process. libraryPath is a list of
// folders (filepath.ListSeparator-separated) holding libggml-cpu-*.so; the best variant for this CPU
// is picked from them. When empty, OLLAMA_LIBRARY_PATH or <executable>/../lib/ollama is used, as in
// Ollama. ggml only loads from folders whose path contains lib/ollama. Later calls return the first
// call's result whatever their libraryPath.
func Init(libraryPath string) SystemInfo {
	initOnce.Do(func() {
		withLibraryPath(libraryPath, llamacpp.BackendInit)
		initInfo = SystemInfo{LibraryPath: ggml.LibPaths(), Backends: llamaext.DeviceFeatures()}
	})
	return initInfo
}

// withLibraryPath runs load, which loads ggml's backends, with OLLAMA_LIBRARY_PATH set to libraryPath
// (unless it is empty), and restores the variable afterwards. The environment is the only way to hand
// ggml the folders: Ollama's loader (ml/backend/ggml/ggml/src.OnceLoad, run by llama.BackendInit) takes no
// argument and reads only that variable, once. Loading the folders ourselves instead would load them a
// second time when OnceLoad falls back to <executable>/../lib/ollama, the release layout.
func withLibraryPath(libraryPath string, load func()) {
	if libraryPath == "" {
		load()
		return
	}
	const name = "OLLAMA_LIBRARY_PATH"
	old, had := os.LookupEnv(name)
	os.Setenv(name, libraryPath)
	defer func() {
		if had {
			os.Setenv(name, old)
		} else {
			os.Unsetenv(name)
		}
	}()
	load()
}

// DefaultLibraryPath is where hearth looks for the CPU backends when the user named none: next to the
// executable (<exe>/../lib/ollama, the release layout), then the bootstrap cache.
func DefaultLibraryPath(cacheDir string) string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(exe), "..", "lib", "ollama"))
	}
	if cacheDir != "" {
		dirs = append(dirs, filepath.Join(cacheDir, "lib", "ollama"))
	}
	for _, d := range dirs {
		if m, _ := filepath.Glob(filepath.Join(d, "libggml-cpu-*.so")); len(m) > 0 {
			return d
		}
	}
	return ""
}
