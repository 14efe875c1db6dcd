package hfmodels

import (
	"fmt"
	"math"
)

// gemma3Checkpoint is a Gemma3ForCausalLM checkpoint, Gemma 3's text model (what the 1B is): RMSNorm
// before and after both attention and MLP, RMSNorm on each head's queries and keys, GeGLU, embeddings
// scaled by the square root of the width, five sliding-window layers to one global layer. Gemma stores its
// norm weights as offsets from 1; Ollama's converter adds the 1. Both of hearth's engines run the result,
// which makes it the architecture to compare them on.
func gemma3Checkpoint(hidden, layers, heads, kvHeads, headDim, ffn, window, merges int) Checkpoint {
	nVocab := 256 + merges + 3
	h, q, kv, f, v := uint64(hidden), uint64(heads*headDim), uint64(kvHeads*headDim), uint64(ffn), uint64(nVocab)
	matrix := func(name string, shape ...uint64) Tensor {
		return Tensor{Name: name, Shape: shape, Std: weightStd}
	}
	norm := func(name string, n uint64) Tensor {
		return Tensor{Name: name, Shape: []uint64{n}} // 0: a scale of 1 once converted
	}
	// The embedding is scaled by sqrt(hidden) on the way in; drawn so the tied output's logits spread about
	// as tiny-olmo3's do.
	embedStd := float32(2.3 / math.Sqrt(float64(hidden)))
	ts := []Tensor{
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: embedStd},
		norm("model.norm.weight", h),
	}
	layerTypes := make([]string, layers)
	for i := range layers {
		layerTypes[i] = "sliding_attention"
		if i%6 == 5 { // llama.cpp takes Gemma 3's 5:1 pattern as fixed: a model without a global layer aborts it
			layerTypes[i] = "full_attention"
		}
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			norm(p+"input_layernorm.weight", h),
			matrix(p+"self_attn.q_proj.weight", q, h),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.o_proj.weight", h, q),
			norm(p+"self_attn.q_norm.weight", uint64(headDim)),
			norm(p+"self_attn.k_norm.weight", uint64(headDim)),
			norm(p+"post_attention_layernorm.weight", h),
			norm(p+"pre_feedforward_layernorm.weight", h),
			matrix(p+"mlp.gate_proj.weight", f, h),
			matrix(p+"mlp.up_proj.weight", f, h),
			matrix(p+"mlp.down_proj.weight", h, f),
			norm(p+"post_feedforward_layernorm.weight", h),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"Gemma3ForCausalLM"},
			"model_type":              "gemma3_text",
			"hidden_size":             hidden,
			"num_hidden_layers":       layers,
			"intermediate_size":       ffn,
			"num_attention_heads":     heads,
			"num_key_value_heads":     kvHeads,
			"head_dim":                headDim,
			"query_pre_attn_scalar":   headDim,
			"max_position_embeddings": 32768,
			"rms_norm_eps":            1e-6,
			"rope_theta":              1000000.0,
			"rope_local_base_freq":    10000.0,
			"sliding_window":          window,
			"layer_types":             layerTypes,
			"vocab_size":              nVocab,
			"tie_word_embeddings":     true,
			"hidden_activation":       "gelu_pytorch_tanh",
			"torch_dtype":             "float32",
		},
		Tokenizer: gpt2HFTokenizer(merges),
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-gemma3",
		Description: "gemma3 text (both engines), 6 layers, 128 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     2,
		Seed:        8,
		Checkpoint:  gemma3Checkpoint(128, 6, 4, 1, 32, 256, 32, 1792),
	})
	register(Recipe{
		Name:        "tiny-gemma3-spm",
		Description: "gemma3 text with a SentencePiece vocabulary as real Gemma 3 folders have (Go engine: llama.cpp would prefix a space Ollama's tokenizer does not), 6 layers, 128 dims, Gemma's specials + bytes + Llama 2's first 1,536 pieces, F16 (random weights)",
		Version:     1,
		Seed:        21,
		Checkpoint:  withSentencePiece(gemma3Checkpoint(128, 6, 4, 1, 32, 256, 32, 1792), 1536),
	})
	register(Recipe{
		Name:        "bench-gemma3",
		Description: "gemma3 text at benchmark size for comparing the engines: 8 layers, 768 dims, about 75M parameters, F16 (random weights)",
		Version:     1,
		Seed:        9,
		Checkpoint:  gemma3Checkpoint(768, 8, 8, 2, 96, 3072, 512, 1792),
	})
}
