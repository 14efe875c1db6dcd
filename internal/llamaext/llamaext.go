// Package llamaext is hearth's one fence around the internals of github.com/ollama/ollama/llama: the
// llama.cpp and ggml functions that package compiles in but does not wrap, declared here by hand against
// the llama.h and ggml-backend.h of the pinned Ollama version, and the unsafe casts that reach the C
// pointers inside its Context and Model. Nothing else in hearth may do either. layout_test.go pins what the
// casts assume and fails when the Ollama version changes, so an upgrade is re-checked here, not discovered
// as memory corruption.
package llamaext

/*
struct llama_context;
struct llama_model;
void llama_free(struct llama_context * ctx);
*/
import "C"

import (
	"unsafe"

	"github.com/ollama/ollama/llama"
)

// OllamaVersion is the version of github.com/ollama/ollama whose llama.Context and llama.Model layouts and
// C declarations this package was checked against.
const OllamaVersion = "v0.17.4"

// cContext is the C context behind c. llama.Context holds it as its first field (c *C.struct_llama_context);
// cgo gives each package its own Go type for the same C struct, so the pointer can only be reached by
// reading that field's memory.
func cContext(c *llama.Context) *C.struct_llama_context {
	return *(**C.struct_llama_context)(unsafe.Pointer(c))
}

// cModel is the C model behind m, the first field of llama.Model (c *C.struct_llama_model).
func cModel(m *llama.Model) *C.struct_llama_model {
	return *(**C.struct_llama_model)(unsafe.Pointer(m))
}

// FreeContext frees a llama context, which the llama package has no function for. nil is a no-op.
func FreeContext(c *llama.Context) {
	if c == nil {
		return
	}
	if p := cContext(c); p != nil {
		C.llama_free(p)
	}
}
