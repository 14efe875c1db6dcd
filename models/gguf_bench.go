package models

import (
	"strings"

	"github.com/ollama/ollama/fs/ggml"
)

// benchLlamaLayers is TinyLlama-1.1B's depth; q4KMType needs it to place the Q6_K layers.
const benchLlamaLayers = 22

// benchLlama has TinyLlama-1.1B's exact shape and Q4_K_M's exact tensor types, so prompt processing and
// decoding cost what they cost with the real model: the model the benchmarks compare hearth and Ollama on.
// It writes about 640 MB; weights are generated and quantized a block at a time, so generation needs a few
// tens of MB of memory.
var benchLlama = llamaModel{
	name:        "bench-llama",
	description: "TinyLlama-1.1B-shaped benchmark model: Llama 2 tokenizer, ChatML template, Q4_K_M, random weights",
	vocab:       llama2Vocab,
	embd:        2048,
	layers:      benchLlamaLayers,
	ffn:         5632,
	heads:       32,
	kvHeads:     4,
	ctxLen:      2048,
	fileType:    ggml.FileTypeQ4_K_M,
	weightType:  q4KMType(benchLlamaLayers),
	ropeBase:    10000,
	rmsEpsilon:  1e-5,
}

// q4KMType picks each matrix's type the way llama.cpp's llama-quantize does for Q4_K_M on a llama model
// (llama_tensor_get_type): Q6_K for output.weight, and for attn_v and ffn_down in the first and last eighth
// of the layers and every third layer between; Q4_K for everything else, token_embd included.
func q4KMType(nLayers int) func(name string, layer int) ggml.TensorType {
	// use_more_bits in llama-quant.cpp.
	moreBits := func(i int) bool {
		return i < nLayers/8 || i >= 7*nLayers/8 || (i-nLayers/8)%3 == 2
	}
	return func(name string, layer int) ggml.TensorType {
		switch {
		case name == "output.weight":
			return ggml.TensorTypeQ6_K
		case (strings.HasSuffix(name, ".attn_v.weight") || strings.HasSuffix(name, ".ffn_down.weight")) && moreBits(layer):
			return ggml.TensorTypeQ6_K
		default:
			return ggml.TensorTypeQ4_K
		}
	}
}

func init() {
	registerGGUF(Recipe{
		Name:        "bench-llama",
		Description: "TinyLlama-1.1B shape (22 layers, 2048 dims, GQA 32/4), Llama 2 tokenizer + ChatML template, Q4_K_M (random weights)",
		Version:     1,
		Seed:        3,
	}, benchLlama)
}
