package llama

/*
#include <stdint.h>
struct llama_context;
void llama_free(struct llama_context * ctx);
*/
import "C"

import (
	"unsafe"

	llamacpp "github.com/ollama/ollama/llama"
)

// freeContext frees a llama context, which the llama package has no function for. The C pointer is the
// first field of llamacpp.Context; the declaration above is llama.h's.
func freeContext(c *llamacpp.Context) {
	if c == nil {
		return
	}
	p := *(**C.struct_llama_context)(unsafe.Pointer(c))
	if p != nil {
		C.llama_free(p)
	}
}
