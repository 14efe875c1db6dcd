// Package llamaext reaches the llama.cpp functions that github.com/ollama/ollama/llama compiles in but does
// not wrap, for the models package's tests. Its C declarations are written by hand against llama.h of the
// ollama version in go.mod; the symbols are linked from the llama package.
package llamaext

/*
#include <stdint.h>
struct llama_model;
struct llama_context;
float *  llama_get_embeddings_seq(struct llama_context * ctx, int32_t seq_id);
uint32_t llama_model_n_cls_out(const struct llama_model * model);
*/
import "C"

import (
	"unsafe"

	"github.com/ollama/ollama/llama"
)

// cModel is the C model behind m: the first field of llama.Model.
func cModel(m *llama.Model) *C.struct_llama_model {
	return *(**C.struct_llama_model)(unsafe.Pointer(m))
}

// cContext is the C context behind c: the first field of llama.Context.
func cContext(c *llama.Context) *C.struct_llama_context {
	return *(**C.struct_llama_context)(unsafe.Pointer(c))
}

// RankScores returns the scores of sequence seq after a decode with RANK pooling: n_cls_out floats (one
// for a reranker), or nil when the context has none for seq. llama.Context.GetEmbeddingsSeq cannot be used
// for them: it copies n_embd floats, reading far past the end of llama.cpp's n_cls_out-long buffer.
func RankScores(c *llama.Context, seq int) []float32 {
	p := C.llama_get_embeddings_seq(cContext(c), C.int32_t(seq))
	if p == nil {
		return nil
	}
	n := int(C.llama_model_n_cls_out(cModel(c.Model())))
	return append([]float32(nil), unsafe.Slice((*float32)(unsafe.Pointer(p)), n)...)
}
