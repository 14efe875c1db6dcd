// Package gguf reads what both GGUF engines (engine/llama and engine/ollamaengine) need from a model
// file's header before loading it: the decoded header itself, the context length the model allows, and
// ggml's forecast of its KV cache and compute memory. Ollama's decoder and estimate panic on some
// malformed metadata; here every panic becomes an error or a zero, so a bad file fails its request and
// never the server.
package gguf

import (
	"fmt"
	"os"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/registry"
)

// DecodeHeader decodes a GGUF file's header, returning it with the file's size. Arrays of over 1,024
// values (the vocabulary) are left out. A file the decoder rejects, or panics on, is an "invalid GGUF
// file" error.
func DecodeHeader(path string) (f *ggml.GGML, size int64, err error) {
	return decodeHeader(path, 0)
}

// DecodeFullHeader is DecodeHeader keeping every array, for a caller that builds the tokenizer.
func DecodeFullHeader(path string) (*ggml.GGML, error) {
	f, _, err := decodeHeader(path, -1)
	return f, err
}

// decodeHeader decodes the header, keeping arrays of up to maxArraySize values (all when negative, 1,024
// when 0).
func decodeHeader(path string, maxArraySize int) (f *ggml.GGML, size int64, err error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if r := recover(); r != nil {
			f, size, err = nil, 0, fmt.Errorf("invalid GGUF file: %v", r)
		}
	}()
	// DecodeGGUFHeader first checks the header's counts against the file, which a recover cannot do for
	// a header that makes the decoder loop or allocate without end.
	f, err = registry.DecodeGGUFHeader(file, maxArraySize)
	if err != nil {
		return nil, 0, fmt.Errorf("invalid GGUF file: %w", err)
	}
	return f, st.Size(), nil
}

// ClampContext limits a requested context length to what the model was trained for, with Ollama's floor
// of 4 tokens.
func ClampContext(numCtx int, kv ggml.KV) int {
	if train := int(kv.ContextLength()); train > 0 && numCtx > train {
		numCtx = train
	}
	return max(numCtx, 4)
}

// EstimateGraph is ggml's forecast of the KV cache (all layers summed) and the compute buffers of f
// loaded with cfg and a context of numCtx tokens per sequence. The estimate knows the common layouts and
// panics on some metadata; a panic gives zeros.
func EstimateGraph(f *ggml.GGML, numCtx int, cfg engine.LoadConfig) (kv, compute int64) {
	defer func() {
		if recover() != nil {
			kv, compute = 0, 0
		}
	}()
	fa := ml.FlashAttentionDisabled
	if cfg.FlashAttention {
		fa = ml.FlashAttentionEnabled
	}
	layers, _, full := f.GraphSize(uint64(numCtx), uint64(max(cfg.NumBatch, 1)), max(cfg.Parallel, 1), cfg.KVCacheType, fa)
	for _, l := range layers {
		kv += int64(l)
	}
	return kv, int64(full)
}
