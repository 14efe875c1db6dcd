package hfmodels

import "fmt"

// ministral3Checkpoint is a Ministral3ForCausalLM checkpoint, the text model of Mistral 3 (Ministral 3):
// Llama's pre-norm decoder with grouped-query attention whose heads are narrower than the width allows
// (head_dim set apart), YaRN rotary positions and Llama 4's position-dependent query temperature
// (llama_4_scaling_beta). Ollama converts it to "mistral3", which it runs in its Go engine.
func ministral3Checkpoint(hidden, layers, heads, kvHeads, headDim, ffn, merges int) Checkpoint {
	nVocab := 256 + merges + 3
	h, q, kv, f, v := uint64(hidden), uint64(heads*headDim), uint64(kvHeads*headDim), uint64(ffn), uint64(nVocab)
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
			ones(p+"post_attention_layernorm.weight", h),
			matrix(p+"mlp.gate_proj.weight", f, h),
			matrix(p+"mlp.up_proj.weight", f, h),
			matrix(p+"mlp.down_proj.weight", h, f),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"Ministral3ForCausalLM"},
			"model_type":              "ministral3",
			"hidden_size":             hidden,
			"num_hidden_layers":       layers,
			"intermediate_size":       ffn,
			"num_attention_heads":     heads,
			"num_key_value_heads":     kvHeads,
			"head_dim":                headDim,
			"hidden_act":              "silu",
			"max_position_embeddings": 262144,
			"rms_norm_eps":            1e-5,
			"sliding_window":          nil,
			"rope_parameters": map[string]any{ // Ministral 3's own
				"rope_type":                        "yarn",
				"type":                             "yarn",
				"rope_theta":                       1000000.0,
				"factor":                           16.0,
				"original_max_position_embeddings": 16384,
				"beta_fast":                        32.0,
				"beta_slow":                        1.0,
				"mscale":                           1.0,
				"mscale_all_dim":                   1.0,
				"llama_4_scaling_beta":             0.1,
			},
			"vocab_size":          nVocab,
			"tie_word_embeddings": true,
			"torch_dtype":         "float32",
		},
		Tokenizer: gpt2HFTokenizer(merges),
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-ministral3",
		Description: "mistral3 text (Ministral3ForCausalLM; Go engine in Ollama), 2 layers, 128 dims, YaRN + Llama 4 query temperature, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        17,
		Checkpoint:  ministral3Checkpoint(128, 2, 4, 2, 48, 256, 1792),
	})
}
