// Package llama runs GGUF models in the server process through llama.cpp (the cgo package
// github.com/ollama/ollama/llama): backend initialisation, model loading and the decode loop.
// It knows nothing of HTTP.
package llama

/*
#include <stddef.h>

// Prototypes of ggml's backend registry functions (compiled into the binary by the llama package), with
// opaque handles: only what is needed to read the features of the device llama.cpp computes on.
typedef struct { const char * name; const char * value; } hearth_feature;
typedef hearth_feature * (*hearth_get_features_fn)(void * reg);
size_t ggml_backend_dev_count(void);
void * ggml_backend_dev_get(size_t index);
void * ggml_backend_dev_backend_reg(void * device);
const char * ggml_backend_reg_name(void * reg);
void * ggml_backend_reg_get_proc_address(void * reg, const char * name);

// hearth_device_features returns the feature list of device i's backend, or NULL.
static hearth_feature * hearth_device_features(size_t i, const char ** reg_name) {
	void * reg = ggml_backend_dev_backend_reg(ggml_backend_dev_get(i));
	*reg_name = ggml_backend_reg_name(reg);
	hearth_get_features_fn fn = (hearth_get_features_fn) ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
	return fn ? fn(reg) : NULL;
}
*/
import "C"

import (
	"os"
	"path/filepath"
	"sort"
	"sync"
	"unsafe"

	llamacpp "github.com/ollama/ollama/llama"
	ggml "github.com/ollama/ollama/ml/backend/ggml/ggml/src"
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
// Ollama. ggml only loads from folders whose path contains lib/ollama.
func Init(libraryPath string) SystemInfo {
	initOnce.Do(func() {
		if libraryPath != "" {
			os.Setenv("OLLAMA_LIBRARY_PATH", libraryPath)
		}
		llamacpp.BackendInit()
		initInfo = SystemInfo{LibraryPath: ggml.LibPaths(), Backends: deviceFeatures()}
	})
	return initInfo
}

// deviceFeatures reads the features of each backend in device order, keeping the first backend of each
// name: llama.cpp computes on the first CPU device, which is the best loaded variant; the statically
// linked fallback CPU backend comes after it.
func deviceFeatures() map[string]map[string]string {
	out := map[string]map[string]string{}
	for i := C.size_t(0); i < C.ggml_backend_dev_count(); i++ {
		var name *C.char
		f := C.hearth_device_features(i, &name)
		reg := C.GoString(name)
		if _, seen := out[reg]; seen || f == nil {
			continue
		}
		features := map[string]string{}
		for p := f; p.name != nil; p = (*C.hearth_feature)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p))) {
			features[C.GoString(p.name)] = C.GoString(p.value)
		}
		out[reg] = features
	}
	return out
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
