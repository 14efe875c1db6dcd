package llama

import (
	"strings"

	llamacpp "github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/internal/llamaext"
)

// The slots of a context share one pool of num_ctx KV cells (llama.cpp's unified KV cache) only with flash
// attention off. Batching must not change what a sequence computes, and in a unified cache a sequence's
// tokens do not keep their order in the cells: a token lands in the first free cell, which is often one
// freed below the sequence's earlier tokens (another slot's cache dropped or truncated, a sequence ended).
// llama.cpp's CPU flash attention walks the cells in order and sums the values in an f16 accumulator, so
// that order rounds differently: the same prompt gave logits up to 8e-3 apart alone and beside another
// sequence (TestUnifiedCacheLayoutKeepsResults logs it), enough to change greedy output and embeddings.
// Without flash attention the attention is a softmax over all the cells, where a masked cell is an exact
// zero, and a product with the values summed in f32: the same sequence's logits come out bit-identical
// wherever its cells lie (TestUnifiedCacheLayoutKeepsResults, TestConcurrentMatchesSequential). It costs a
// KQ buffer of cells x batch x heads floats, touched as long prompts are evaluated against a full context. Flash attention asked for (OLLAMA_FLASH_ATTENTION), or a quantized KV
// cache (which llama.cpp only allows with it), keeps a stream of num_ctx cells per slot instead, as
// llama.cpp does by default: there each slot's cells stay in order.

// unifiedKV reports whether a context loaded with cfg keeps one KV pool for all its slots.
func unifiedKV(cfg engine.LoadConfig) bool {
	switch strings.ToLower(cfg.KVCacheType) {
	case "q8_0", "q4_0":
		return false
	}
	return !cfg.FlashAttention
}

// contextParams are the llama context parameters of a Runner loaded with cfg, and the KV cells of the
// context: num_ctx in one pool (unifiedKV), or num_ctx per slot.
func contextParams(cfg engine.LoadConfig) (llamacpp.ContextParams, int, error) {
	unified := unifiedKV(cfg)
	fa, cells := ml.FlashAttentionAuto, cfg.NumCtx*cfg.Parallel
	switch {
	case cfg.FlashAttention:
		fa = ml.FlashAttentionEnabled
	case unified:
		fa, cells = ml.FlashAttentionDisabled, cfg.NumCtx
	}
	params := llamacpp.NewContextParams(cells, cfg.NumBatch, cfg.Parallel, cfg.NumThread, fa, cfg.KVCacheType)
	if err := llamaext.SetKVUnified(&params, unified); err != nil {
		return params, 0, err
	}
	return params, cells, nil
}
