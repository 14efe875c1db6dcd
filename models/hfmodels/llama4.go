package hfmodels

import "fmt"

// llama4Checkpoint is the text model of a Llama4ForConditionalGeneration checkpoint (no vision tower):
// grouped-query attention with L2-normed queries and keys, every fourth layer without rotary positions,
// and in each layer a mixture of experts (the routed expert's gate and up projections fused, as Meta
// publishes them) beside a shared expert. Ollama converts it to "llama4", which it runs in its Go engine.
func llama4Checkpoint(hidden, layers, heads, kvHeads, headDim, ffn, experts, merges int) Checkpoint {
	nVocab := 256 + merges + 3
	h, q, kv, f, e, v := uint64(hidden), uint64(heads*headDim), uint64(kvHeads*headDim), uint64(ffn), uint64(experts), uint64(nVocab)
	matrix := func(name string, shape ...uint64) Tensor { return Tensor{Name: name, Shape: shape, Std: 0.06} }
	ones := func(name string, n uint64) Tensor { return Tensor{Name: name, Shape: []uint64{n}, Value: 1} }
	ts := []Tensor{
		{Name: "language_model.model.embed_tokens.weight", Shape: []uint64{v, h}, Std: 0.2},
		ones("language_model.model.norm.weight", h),
		{Name: "language_model.lm_head.weight", Shape: []uint64{v, h}, Std: 0.2},
	}
	for i := range layers {
		p := fmt.Sprintf("language_model.model.layers.%d.", i)
		ts = append(ts,
			ones(p+"input_layernorm.weight", h),
			matrix(p+"self_attn.q_proj.weight", q, h),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.o_proj.weight", h, q),
			ones(p+"post_attention_layernorm.weight", h),
			Tensor{Name: p + "feed_forward.router.weight", Shape: []uint64{e, h}, Std: 0.5},
			// The routed experts are stored input-major: [experts, hidden, 2 x width] and [experts, width, hidden].
			matrix(p+"feed_forward.experts.gate_up_proj", e, h, 2*f),
			matrix(p+"feed_forward.experts.down_proj", e, f, h),
			matrix(p+"feed_forward.shared_expert.gate_proj.weight", f, h),
			matrix(p+"feed_forward.shared_expert.up_proj.weight", f, h),
			matrix(p+"feed_forward.shared_expert.down_proj.weight", h, f),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures": []string{"Llama4ForConditionalGeneration"},
			"model_type":    "llama4",
			"text_config": map[string]any{
				"model_type":                "llama4_text",
				"hidden_size":               hidden,
				"num_hidden_layers":         layers,
				"intermediate_size":         ffn,
				"intermediate_size_mlp":     2 * ffn,
				"num_attention_heads":       heads,
				"num_key_value_heads":       kvHeads,
				"head_dim":                  headDim,
				"num_local_experts":         experts,
				"num_experts_per_tok":       1,
				"interleave_moe_layer_step": 1,
				"use_qk_norm":               true,
				"attention_chunk_size":      8192,
				"max_position_embeddings":   10485760,
				"rms_norm_eps":              1e-5,
				"rope_theta":                500000.0,
				"rope_scaling":              nil,
				"vocab_size":                nVocab,
				"tie_word_embeddings":       false,
				"torch_dtype":               "float32",
			},
			"tie_word_embeddings": false,
		},
		Tokenizer: gpt2HFTokenizer(merges),
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-llama4",
		Description: "llama4 text (Go engine in Ollama), 4 layers (the last without rotary positions), 128 dims, 4 experts + a shared one, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        18,
		Checkpoint:  llama4Checkpoint(128, 4, 4, 2, 32, 128, 4, 1792),
	})
}
