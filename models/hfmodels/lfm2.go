package hfmodels

import "fmt"

// lfm2Checkpoint is an Lfm2ForCausalLM checkpoint, Liquid's hybrid: most layers are gated short
// convolutions whose state lives in a recurrent cache, the rest grouped-query attention with per-head
// query and key norms; pre-norm residual blocks with SwiGLU. Ollama's Go engine runs it one sequence per
// forward pass (a mixed batch is an "unsupported batch layout"), and hearth's llama.cpp cannot load what
// Ollama's converter writes (it wants output_norm, the converter writes token_embd_norm).
func lfm2Checkpoint(hidden, heads, kvHeads, ffn, convCache, merges int, layerTypes []string) Checkpoint {
	nVocab := 256 + merges + 3
	headDim := hidden / heads
	h, kv, f, v := uint64(hidden), uint64(kvHeads*headDim), uint64(ffn), uint64(nVocab)
	// Pre-norm blocks add their output to the embedding; matrices wider than weightStd make them change
	// the residual stream as much as the embedding does, so the output depends on the context (the
	// convolution state included) rather than repeating the last token.
	matrix := func(name string, shape ...uint64) Tensor {
		return Tensor{Name: name, Shape: shape, Std: 0.06}
	}
	norm := func(name string, n uint64) Tensor {
		return Tensor{Name: name, Shape: []uint64{n}, Value: 1}
	}
	ts := []Tensor{
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: 0.2},
		norm("model.embedding_norm.weight", h),
	}
	for i, typ := range layerTypes {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			norm(p+"operator_norm.weight", h),
			norm(p+"ffn_norm.weight", h),
			matrix(p+"feed_forward.w1.weight", f, h),
			matrix(p+"feed_forward.w3.weight", f, h),
			matrix(p+"feed_forward.w2.weight", h, f),
		)
		if typ == "full_attention" {
			ts = append(ts,
				matrix(p+"self_attn.q_proj.weight", h, h),
				matrix(p+"self_attn.k_proj.weight", kv, h),
				matrix(p+"self_attn.v_proj.weight", kv, h),
				matrix(p+"self_attn.out_proj.weight", h, h),
				norm(p+"self_attn.q_layernorm.weight", uint64(headDim)),
				norm(p+"self_attn.k_layernorm.weight", uint64(headDim)),
			)
			continue
		}
		ts = append(ts,
			Tensor{Name: p + "conv.conv.weight", Shape: []uint64{h, 1, uint64(convCache)}, Std: 0.5},
			matrix(p+"conv.in_proj.weight", 3*h, h),
			matrix(p+"conv.out_proj.weight", h, h),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":            []string{"Lfm2ForCausalLM"},
			"model_type":               "lfm2",
			"hidden_size":              hidden,
			"num_hidden_layers":        len(layerTypes),
			"intermediate_size":        ffn,
			"block_ff_dim":             ffn,
			"block_auto_adjust_ff_dim": false,
			"num_attention_heads":      heads,
			"num_key_value_heads":      kvHeads,
			"norm_eps":                 1e-5,
			"conv_L_cache":             convCache,
			"layer_types":              layerTypes,
			"max_position_embeddings":  4096,
			"rope_theta":               1000000.0,
			"vocab_size":               nVocab,
			"tie_embedding":            true,
			"torch_dtype":              "float32",
		},
		Tokenizer: gpt2HFTokenizer(merges),
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-lfm2",
		Description: "lfm2 (Go engine only; hybrid: short convolutions + attention, one sequence per pass), 6 layers, 128 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        10,
		Checkpoint: lfm2Checkpoint(128, 4, 2, 256, 3, 1792,
			[]string{"conv", "conv", "full_attention", "conv", "conv", "full_attention"}),
	})
}
