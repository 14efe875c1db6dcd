package llamaext

/*
#include <stdbool.h>
#include <stdint.h>

struct llama_context;
struct ggml_backend;
void llama_set_n_threads(struct llama_context * ctx, int32_t n_threads, int32_t n_threads_batch);
bool ggml_backend_is_cpu(struct ggml_backend * backend);
void ggml_backend_cpu_set_n_threads(struct ggml_backend * backend_cpu, int n_threads);
*/
import "C"

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"
)

// SetThreads sets the thread counts of c's next Decode calls: threads for a batch of one token, batch for
// larger ones (llama.cpp picks between the two per call). The llama package sets both once, at
// NewContextWithModel.
func SetThreads(c *llama.Context, threads, batch int) {
	C.llama_set_n_threads(cContext(c), C.int32_t(max(1, threads)), C.int32_t(max(1, batch)))
}

// BackendThreads sets the thread count of the CPU backends that b's graphs compute on, for the next
// computations (ggml reads it at every one). b must be the ggml backend of Ollama's Go engine
// (ml/backend/ggml), whose scheduler's backends are its unexported field schedBackends; the llama package
// has no setter for it.
func BackendThreads(b ml.Backend, threads int) error {
	backends, err := schedBackends(b)
	if err != nil {
		return err
	}
	for _, p := range backends {
		if p != nil && C.ggml_backend_is_cpu(p) {
			C.ggml_backend_cpu_set_n_threads(p, C.int(max(1, threads)))
		}
	}
	return nil
}

// schedBackends reads the schedBackends field ([]C.ggml_backend_t) of ml/backend/ggml's *Backend.
func schedBackends(b ml.Backend) ([]*C.struct_ggml_backend, error) {
	v := reflect.ValueOf(b)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("llamaext: %T is not ml/backend/ggml's *Backend", b)
	}
	f := v.Elem().FieldByName("schedBackends")
	if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Pointer {
		return nil, fmt.Errorf("llamaext: %T has no schedBackends slice of pointers (Ollama's layout changed)", b)
	}
	if f.Len() == 0 {
		return nil, nil
	}
	return unsafe.Slice((**C.struct_ggml_backend)(f.UnsafePointer()), f.Len()), nil
}
