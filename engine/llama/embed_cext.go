package llama

/*
#include <stdbool.h>
#include <stdint.h>
struct llama_context;
struct llama_model;
struct llama_vocab;
float * llama_get_embeddings_seq(struct llama_context * ctx, int32_t seq_id);
int llama_pooling_type(const struct llama_context * ctx);
uint32_t llama_model_n_cls_out(const struct llama_model * model);
int32_t llama_model_n_ctx_train(const struct llama_model * model);
const struct llama_vocab * llama_model_get_vocab(const struct llama_model * model);
int32_t llama_vocab_bos(const struct llama_vocab * vocab);
int32_t llama_vocab_eos(const struct llama_vocab * vocab);
int32_t llama_vocab_sep(const struct llama_vocab * vocab);
bool llama_vocab_get_add_bos(const struct llama_vocab * vocab);
bool llama_vocab_get_add_eos(const struct llama_vocab * vocab);
bool llama_vocab_get_add_sep(const struct llama_vocab * vocab);
*/
import "C"

import (
	"unsafe"

	llamacpp "github.com/ollama/ollama/llama"
)

// llama.cpp's pooling types (enum llama_pooling_type).
const (
	poolingNone = 0
	poolingMean = 1
	poolingCLS  = 2
	poolingLast = 3
	poolingRank = 4
)

// The declarations above are llama.h's; the llama package wraps none of them. Its Context and Model hold
// the C pointer as their first field, as freeContext relies on too.

// cContext returns the C context behind c.
func cContext(c *llamacpp.Context) *C.struct_llama_context {
	return *(**C.struct_llama_context)(unsafe.Pointer(c))
}

// cModel returns the C model behind m.
func cModel(m *llamacpp.Model) *C.struct_llama_model {
	return *(**C.struct_llama_model)(unsafe.Pointer(m))
}

// embeddingsSeq copies the pooled output of sequence seq: n floats (n_embd for a pooled embedding,
// n_cls_out for RANK pooling). The llama package's GetEmbeddingsSeq always reads n_embd floats, past the
// end of a reranker's n_cls_out. nil when the context has no pooled output for seq.
func embeddingsSeq(c *llamacpp.Context, seq, n int) []float32 {
	p := C.llama_get_embeddings_seq(cContext(c), C.int32_t(seq))
	if p == nil {
		return nil
	}
	return append([]float32(nil), unsafe.Slice((*float32)(unsafe.Pointer(p)), n)...)
}

// poolingType is the context's pooling type (one of the pooling constants).
func poolingType(c *llamacpp.Context) int { return int(C.llama_pooling_type(cContext(c))) }

// clsOutputs is the number of outputs of a model's classification head (1 for a reranker).
func clsOutputs(m *llamacpp.Model) int { return int(C.llama_model_n_cls_out(cModel(m))) }

// trainedContext is the context length the model was trained with.
func trainedContext(m *llamacpp.Model) int { return int(C.llama_model_n_ctx_train(cModel(m))) }

// specialTokens are the tokens llama.cpp adds around an input, or between a query and a document.
type specialTokens struct {
	bos, eos, sep          int
	addBOS, addEOS, addSEP bool
}

// vocabSpecials reads the model's special tokens and when its tokenizer adds them.
func vocabSpecials(m *llamacpp.Model) specialTokens {
	v := C.llama_model_get_vocab(cModel(m))
	return specialTokens{
		bos:    int(C.llama_vocab_bos(v)),
		eos:    int(C.llama_vocab_eos(v)),
		sep:    int(C.llama_vocab_sep(v)),
		addBOS: bool(C.llama_vocab_get_add_bos(v)),
		addEOS: bool(C.llama_vocab_get_add_eos(v)),
		addSEP: bool(C.llama_vocab_get_add_sep(v)),
	}
}
