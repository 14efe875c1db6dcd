package llamaext

/*
#include <stddef.h>

// Prototypes of ggml's backend registry functions (compiled into the binary by the llama package), with
// opaque handles: only what is needed to read the features of the devices llama.cpp computes on.
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

import "unsafe"

// DeviceFeatures reads the features each loaded ggml backend reports (name to value, e.g. "AVX512": "1"),
// by backend name ("CPU"), in device order, keeping the first backend of each name: llama.cpp computes on
// the first CPU device, which is the best loaded variant; the statically linked fallback CPU backend comes
// after it. The backends must have been loaded (llama.BackendInit).
func DeviceFeatures() map[string]map[string]string {
	out := map[string]map[string]string{}
	for i := C.size_t(0); i < C.ggml_backend_dev_count(); i++ {
		var name *C.char
		f := C.hearth_device_features(i, &name)
		reg := C.GoString(name)
		if _, seen := out[reg]; seen || f == nil {
			continue
		}
		features := map[string]string{}
		// The list is a C array ended by a NULL name.
		for p := f; p.name != nil; p = (*C.hearth_feature)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p))) {
			features[C.GoString(p.name)] = C.GoString(p.value)
		}
		out[reg] = features
	}
	return out
}
