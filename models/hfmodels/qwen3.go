package hfmodels

import "fmt"

// qwen3Checkpoint is a Qwen3ForCausalLM checkpoint, or with experts > 0 a Qwen3MoeForCausalLM one (each
// expert's weights apart, as Qwen publishes them): pre-norm blocks with RMSNorm on each head's queries
// and keys, grouped-query attention, SwiGLU (or top-used of experts routed by softmax, renormalised). Ollama
// 0.17.4's converter no longer takes these classes; hfconvert reaches its Qwen 3 converter (see there).
// Ollama runs both in its Go engine; hearth's llama.cpp runs them too.
func qwen3Checkpoint(hidden, layers, heads, kvHeads, headDim, ffn, experts, used, expertFFN, merges int) Checkpoint {
	nVocab := 256 + merges + 3
	h, q, kv, v := uint64(hidden), uint64(heads*headDim), uint64(kvHeads*headDim), uint64(nVocab)
	// Pre-norm blocks: matrices wider than weightStd make each block change the residual stream as much
	// as the embedding does, so the output depends on the context rather than repeating the last token.
	matrix := func(name string, shape ...uint64) Tensor { return Tensor{Name: name, Shape: shape, Std: 0.06} }
	ones := func(name string, n uint64) Tensor { return Tensor{Name: name, Shape: []uint64{n}, Value: 1} }
	ts := []Tensor{
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: 0.2},
		ones("model.norm.weight", h),
	}
	for i := range layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			ones(p+"input_layernorm.weight", h),
			matrix(p+"self_attn.q_proj.weight", q, h),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.o_proj.weight", h, q),
			ones(p+"self_attn.q_norm.weight", uint64(headDim)),
			ones(p+"self_attn.k_norm.weight", uint64(headDim)),
			ones(p+"post_attention_layernorm.weight", h),
		)
		if experts == 0 {
			f := uint64(ffn)
			ts = append(ts,
				matrix(p+"mlp.gate_proj.weight", f, h),
				matrix(p+"mlp.up_proj.weight", f, h),
				matrix(p+"mlp.down_proj.weight", h, f),
			)
			continue
		}
		e := uint64(expertFFN)
		ts = append(ts, Tensor{Name: p + "mlp.gate.weight", Shape: []uint64{uint64(experts), h}, Std: 0.5})
		for x := range experts {
			ep := fmt.Sprintf("%smlp.experts.%d.", p, x)
			ts = append(ts,
				matrix(ep+"gate_proj.weight", e, h),
				matrix(ep+"up_proj.weight", e, h),
				matrix(ep+"down_proj.weight", h, e),
			)
		}
	}
	config := map[string]any{
		"architectures":           []string{"Qwen3ForCausalLM"},
		"model_type":              "qwen3",
		"hidden_size":             hidden,
		"num_hidden_layers":       layers,
		"intermediate_size":       ffn,
		"num_attention_heads":     heads,
		"num_key_value_heads":     kvHeads,
		"head_dim":                headDim,
		"max_position_embeddings": 4096,
		"rms_norm_eps":            1e-6,
		"rope_theta":              1000000.0,
		"rope_scaling":            nil,
		"vocab_size":              nVocab,
		"tie_word_embeddings":     true,
		"torch_dtype":             "float32",
	}
	if experts > 0 {
		config["architectures"] = []string{"Qwen3MoeForCausalLM"}
		config["model_type"] = "qwen3_moe"
		config["num_experts"] = experts
		config["num_experts_per_tok"] = used
		config["moe_intermediate_size"] = expertFFN
		config["norm_topk_prob"] = true
		config["decoder_sparse_step"] = 1
		config["mlp_only_layers"] = []int{}
	}
	return Checkpoint{Config: config, Tokenizer: gpt2HFTokenizer(merges), Tensors: ts}
}

func init() {
	register(Recipe{
		Name:        "tiny-qwen3",
		Description: "qwen3 (Qwen3ForCausalLM, which Ollama 0.17.4's converter dropped; Go engine in Ollama), 2 layers, 128 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        14,
		Checkpoint:  qwen3Checkpoint(128, 2, 4, 2, 32, 256, 0, 0, 0, 1792),
	})
	register(Recipe{
		Name:        "tiny-qwen3moe",
		Description: "qwen3moe (Qwen3MoeForCausalLM with separate experts; Go engine in Ollama), 2 layers, 128 dims, 4 experts (2 used), GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        15,
		// intermediate_size (the dense width, unused) differs from used experts x expert width, so a
		// reader guessing the experts' width from it would fail.
		Checkpoint: qwen3Checkpoint(128, 2, 4, 2, 32, 384, 4, 2, 96, 1792),
	})
}
