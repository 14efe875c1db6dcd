package hfmodels

import "fmt"

// nemotronHCheckpoint is a dense NemotronHForCausalLM checkpoint: a hybrid of Mamba-2 layers ('M'),
// attention layers ('*') and squared-ReLU MLP layers ('-'), each its own block, in the order of pattern.
// hearth's llama.cpp divides the MLP width by the expert count, which is 0 for a dense model: loading one
// kills the process with SIGFPE. Ollama, and this engine, run it in the Go engine, one sequence per pass.
func nemotronHCheckpoint(hidden, heads, kvHeads, ffn, mambaHeads, mambaHeadDim, state, groups, conv, merges int, pattern string) Checkpoint {
	nVocab := 256 + merges + 3
	headDim := hidden / heads
	inner := mambaHeads * mambaHeadDim
	convDim := inner + 2*groups*state
	h, v := uint64(hidden), uint64(nVocab)
	matrix := func(name string, shape ...uint64) Tensor {
		return Tensor{Name: name, Shape: shape, Std: 0.06}
	}
	ones := func(name string, n uint64) Tensor { return Tensor{Name: name, Shape: []uint64{n}, Value: 1} }
	ts := []Tensor{
		{Name: "backbone.embeddings.weight", Shape: []uint64{v, h}, Std: 0.2},
		ones("backbone.norm_f.weight", h),
	}
	for i, kind := range pattern {
		p := fmt.Sprintf("backbone.layers.%d.", i)
		ts = append(ts, ones(p+"norm.weight", h))
		switch kind {
		case 'M':
			ts = append(ts,
				matrix(p+"mixer.in_proj.weight", uint64(2*inner+2*groups*state+mambaHeads), h),
				Tensor{Name: p + "mixer.conv1d.weight", Shape: []uint64{uint64(convDim), 1, uint64(conv)}, Std: 0.5},
				Tensor{Name: p + "mixer.conv1d.bias", Shape: []uint64{uint64(convDim)}},
				Tensor{Name: p + "mixer.dt_bias", Shape: []uint64{uint64(mambaHeads)}, Value: -2},
				Tensor{Name: p + "mixer.A_log", Shape: []uint64{uint64(mambaHeads)}, Value: 0.5},
				ones(p+"mixer.D", uint64(mambaHeads)),
				ones(p+"mixer.norm.weight", uint64(inner)),
				matrix(p+"mixer.out_proj.weight", h, uint64(inner)),
			)
		case '*':
			ts = append(ts,
				matrix(p+"mixer.q_proj.weight", uint64(heads*headDim), h),
				matrix(p+"mixer.k_proj.weight", uint64(kvHeads*headDim), h),
				matrix(p+"mixer.v_proj.weight", uint64(kvHeads*headDim), h),
				matrix(p+"mixer.o_proj.weight", h, uint64(heads*headDim)),
			)
		case '-':
			ts = append(ts,
				matrix(p+"mixer.up_proj.weight", uint64(ffn), h),
				matrix(p+"mixer.down_proj.weight", h, uint64(ffn)),
			)
		}
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"NemotronHForCausalLM"},
			"model_type":              "nemotron_h",
			"hidden_size":             hidden,
			"num_hidden_layers":       len(pattern),
			"hybrid_override_pattern": pattern,
			"num_attention_heads":     heads,
			"num_key_value_heads":     kvHeads,
			"head_dim":                headDim,
			"intermediate_size":       ffn,
			"mamba_num_heads":         mambaHeads,
			"mamba_head_dim":          mambaHeadDim,
			"ssm_state_size":          state,
			"n_groups":                groups,
			"conv_kernel":             conv,
			"layer_norm_epsilon":      1e-5,
			"max_position_embeddings": 4096,
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
		Name:        "tiny-nemotron-h",
		Description: "nemotron_h dense (Go engine only; llama.cpp dies of SIGFPE on it), Mamba-2 + attention + MLP layers, 128 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        11,
		Checkpoint:  nemotronHCheckpoint(128, 4, 2, 256, 4, 32, 16, 1, 4, 1792, "M-*-M-"),
	})
}
