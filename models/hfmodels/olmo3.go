package hfmodels

import "fmt"

// weightStd is the standard deviation of generated weight matrices, the usual transformer initialisation.
const weightStd = 0.02

// embedStd is the standard deviation of the tied embedding and output matrix.
const embedStd = 0.2

// olmo3Checkpoint is an Olmo3ForCausalLM checkpoint: OLMo 3's decoder (RMSNorm after attention and after
// the MLP rather than before, RMSNorm on the whole query and key projections, SwiGLU, grouped-query
// attention, three sliding-window layers to one full-attention layer). Ollama converts it to the GGUF
// architecture "olmo3", which only its Go engine runs: llama.cpp knows no such name.
func olmo3Checkpoint(hidden, layers, heads, kvHeads, ffn, window, merges int) Checkpoint {
	nVocab := 256 + merges + 3 // GPT-2's bytes and first merges, then the three added special tokens
	headDim := hidden / heads
	h, kv, f, v := uint64(hidden), uint64(kvHeads*headDim), uint64(ffn), uint64(nVocab)
	matrix := func(name string, shape ...uint64) Tensor {
		return Tensor{Name: name, Shape: shape, Std: weightStd}
	}
	norm := func(name string, n uint64) Tensor {
		return Tensor{Name: name, Shape: []uint64{n}, Value: 1}
	}
	ts := []Tensor{
		// The embedding is also the output projection (tied). Drawn wider than the other matrices so the
		// logits spread (std about 2) and greedy choices are rarely near-ties, which the tiny numeric
		// differences between batch shapes could flip.
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: embedStd},
		norm("model.norm.weight", h),
	}
	layerTypes := make([]string, layers)
	for i := range layers {
		layerTypes[i] = "sliding_attention"
		if i%4 == 3 {
			layerTypes[i] = "full_attention"
		}
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			matrix(p+"self_attn.q_proj.weight", h, h),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.o_proj.weight", h, h),
			norm(p+"self_attn.q_norm.weight", h),
			norm(p+"self_attn.k_norm.weight", kv),
			norm(p+"post_attention_layernorm.weight", h),
			matrix(p+"mlp.gate_proj.weight", f, h),
			matrix(p+"mlp.up_proj.weight", f, h),
			matrix(p+"mlp.down_proj.weight", h, f),
			norm(p+"post_feedforward_layernorm.weight", h),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"Olmo3ForCausalLM"},
			"model_type":              "olmo3",
			"hidden_size":             hidden,
			"num_hidden_layers":       layers,
			"intermediate_size":       ffn,
			"num_attention_heads":     heads,
			"num_key_value_heads":     kvHeads,
			"max_position_embeddings": 4096,
			"rms_norm_eps":            1e-6,
			"rope_theta":              500000.0,
			"sliding_window":          window,
			"layer_types":             layerTypes,
			"vocab_size":              nVocab,
			"tie_word_embeddings":     true,
			"torch_dtype":             "float32",
		},
		Tokenizer: gpt2HFTokenizer(merges),
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-olmo3",
		Description: "olmo3 (Go engine only), 4 layers, 128 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, F16, converted by Ollama's converter (random weights)",
		Version:     2,
		Seed:        7,
		Checkpoint:  olmo3Checkpoint(128, 4, 4, 2, 256, 32, 1792),
	})
}
