package hfmodels

import "fmt"

// mixtralCheckpoint is a MixtralForCausalLM checkpoint: Llama's decoder with each MLP a mixture of experts
// (w1 gate, w2 down, w3 up, as Mistral names them) routed top-used of experts. Ollama 0.17.4's converter
// writes it as "llama" with w2 and w3 swapped, a file no engine loads (llama.cpp's shape check rejects it
// in Ollama too); hfconvert swaps them back. llama.cpp runs it, in Ollama and in hearth.
func mixtralCheckpoint(hidden, layers, heads, kvHeads, ffn, experts, used, merges int) Checkpoint {
	nVocab := 256 + merges + 3
	headDim := hidden / heads
	h, kv, f, v := uint64(hidden), uint64(kvHeads*headDim), uint64(ffn), uint64(nVocab)
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
			matrix(p+"self_attn.q_proj.weight", h, h),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.o_proj.weight", h, h),
			ones(p+"post_attention_layernorm.weight", h),
			Tensor{Name: p + "block_sparse_moe.gate.weight", Shape: []uint64{uint64(experts), h}, Std: 0.5},
		)
		for x := range experts {
			ep := fmt.Sprintf("%sblock_sparse_moe.experts.%d.", p, x)
			ts = append(ts,
				matrix(ep+"w1.weight", f, h),
				matrix(ep+"w2.weight", h, f),
				matrix(ep+"w3.weight", f, h),
			)
		}
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"MixtralForCausalLM"},
			"model_type":              "mixtral",
			"hidden_size":             hidden,
			"num_hidden_layers":       layers,
			"intermediate_size":       ffn,
			"num_attention_heads":     heads,
			"num_key_value_heads":     kvHeads,
			"num_local_experts":       experts,
			"num_experts_per_tok":     used,
			"max_position_embeddings": 4096,
			"rms_norm_eps":            1e-5,
			"rope_theta":              1000000.0,
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
		Name:        "tiny-mixtral",
		Description: "Mixtral as llama with 4 experts (2 used; llama.cpp), the experts' w2/w3 put right after Ollama 0.17.4's converter, 2 layers, 128 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        16,
		Checkpoint:  mixtralCheckpoint(128, 2, 4, 2, 192, 4, 2, 1792),
	})
}
