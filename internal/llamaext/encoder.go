package llamaext

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

	"github.com/ollama/ollama/llama"
)

// llama.cpp's pooling types (enum llama_pooling_type), as PoolingType returns them and as GGUF files store
// them under <arch>.pooling_type.
const (
	PoolingNone = 0
	PoolingMean = 1
	PoolingCLS  = 2
	PoolingLast = 3
	PoolingRank = 4
)

// EmbeddingsSeq copies the pooled output of sequence seq after a decode: n floats (n_embd for a pooled
// embedding, ClsOutputs for RANK pooling). llama.Context.GetEmbeddingsSeq cannot be used for a reranker:
// it always copies n_embd floats, reading far past the end of llama.cpp's n_cls_out-long buffer. nil when
// the context has no pooled output for seq.
func EmbeddingsSeq(c *llama.Context, seq, n int) []float32 {
	p := C.llama_get_embeddings_seq(cContext(c), C.int32_t(seq))
	if p == nil {
		return nil
	}
	return append([]float32(nil), unsafe.Slice((*float32)(unsafe.Pointer(p)), n)...)
}

// PoolingType is the context's pooling type (one of the Pooling constants).
func PoolingType(c *llama.Context) int { return int(C.llama_pooling_type(cContext(c))) }

// ClsOutputs is the number of outputs of a model's classification head (1 for a reranker).
func ClsOutputs(m *llama.Model) int { return int(C.llama_model_n_cls_out(cModel(m))) }

// TrainedContext is the context length the model was trained with.
func TrainedContext(m *llama.Model) int { return int(C.llama_model_n_ctx_train(cModel(m))) }

// SpecialTokens are the tokens llama.cpp adds around an input, or between a query and a document, and
// whether the model's tokenizer adds each. A token id is negative when the vocabulary has none.
type SpecialTokens struct {
	BOS, EOS, SEP          int
	AddBOS, AddEOS, AddSEP bool
}

// VocabSpecials reads the model's special tokens.
func VocabSpecials(m *llama.Model) SpecialTokens {
	v := C.llama_model_get_vocab(cModel(m))
	return SpecialTokens{
		BOS:    int(C.llama_vocab_bos(v)),
		EOS:    int(C.llama_vocab_eos(v)),
		SEP:    int(C.llama_vocab_sep(v)),
		AddBOS: bool(C.llama_vocab_get_add_bos(v)),
		AddEOS: bool(C.llama_vocab_get_add_eos(v)),
		AddSEP: bool(C.llama_vocab_get_add_sep(v)),
	}
}
