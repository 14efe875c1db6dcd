package hfmodels

import "fmt"

// qwen35Shape is the size of a Qwen 3.5 / Qwen3-Next text model: the hybrid of Gated DeltaNet linear
// attention layers and gated full-attention layers (every fourth).
type qwen35Shape struct {
	hidden, layers, heads, kvHeads, headDim, ffn int
	// The linear attention: key heads, value heads and their width (Ollama's engine wants key and value
	// heads equally wide), and the causal convolution's kernel.
	linKHeads, linVHeads, linHeadDim, conv int
	// experts, when not 0, makes every MLP a mixture of that many experts (used of them per token), each
	// expertFFN wide, beside a shared expert sharedFFN wide.
	experts, used, expertFFN, sharedFFN int
	merges                              int
}

// layerTypes is three linear-attention layers to one full-attention layer, as Qwen 3.5 and Qwen3-Next do.
func (s qwen35Shape) layerTypes() []string {
	out := make([]string, s.layers)
	for i := range out {
		out[i] = "linear_attention"
		if i%4 == 3 {
			out[i] = "full_attention"
		}
	}
	return out
}

// textConfig is the config of the text model, as both classes spell it.
func (s qwen35Shape) textConfig(modelType string) map[string]any {
	c := map[string]any{
		"model_type":              modelType,
		"hidden_size":             s.hidden,
		"num_hidden_layers":       s.layers,
		"intermediate_size":       s.ffn,
		"num_attention_heads":     s.heads,
		"num_key_value_heads":     s.kvHeads,
		"head_dim":                s.headDim,
		"layer_types":             s.layerTypes(),
		"full_attention_interval": 4,
		"linear_num_key_heads":    s.linKHeads,
		"linear_num_value_heads":  s.linVHeads,
		"linear_key_head_dim":     s.linHeadDim,
		"linear_value_head_dim":   s.linHeadDim,
		"linear_conv_kernel_dim":  s.conv,
		"max_position_embeddings": 4096,
		"rms_norm_eps":            1e-6,
		"vocab_size":              256 + s.merges + 3,
		"tie_word_embeddings":     true,
		"torch_dtype":             "float32",
	}
	if s.experts > 0 {
		c["num_experts"] = s.experts
		c["num_experts_per_tok"] = s.used
		c["moe_intermediate_size"] = s.expertFFN
		c["shared_expert_intermediate_size"] = s.sharedFFN
		c["norm_topk_prob"] = true
	}
	return c
}

// tensors lists the text model's weights under prefix ("model.language_model." for Qwen 3.5,
// "model." for Qwen3-Next). legacy packs the linear attention's projections as Qwen3-Next does
// (in_proj_qkvz grouped by key head, in_proj_ba), else as Qwen 3.5 does (in_proj_qkv, in_proj_z,
// in_proj_a, in_proj_b). Norm weights are offsets from 1 (Ollama's converter adds the 1), except the
// linear attention's gated norm.
func (s qwen35Shape) tensors(prefix string, legacy bool) []Tensor {
	h, v := uint64(s.hidden), uint64(256+s.merges+3)
	kDim, vDim := uint64(s.linKHeads*s.linHeadDim), uint64(s.linVHeads*s.linHeadDim)
	// Wider than weightStd so every block changes the residual stream and the output depends on the
	// context (the recurrent state included), as for tiny-lfm2.
	matrix := func(name string, shape ...uint64) Tensor { return Tensor{Name: name, Shape: shape, Std: 0.06} }
	offset := func(name string, n uint64) Tensor { return Tensor{Name: name, Shape: []uint64{n}} }
	ts := []Tensor{
		{Name: prefix + "embed_tokens.weight", Shape: []uint64{v, h}, Std: 0.2},
		offset(prefix+"norm.weight", h),
	}
	for i, typ := range s.layerTypes() {
		p := fmt.Sprintf("%slayers.%d.", prefix, i)
		ts = append(ts, offset(p+"input_layernorm.weight", h), offset(p+"post_attention_layernorm.weight", h))
		if typ == "full_attention" {
			q, kv, hd := uint64(s.heads*s.headDim), uint64(s.kvHeads*s.headDim), uint64(s.headDim)
			ts = append(ts,
				matrix(p+"self_attn.q_proj.weight", 2*q, h), // queries and their output gate
				matrix(p+"self_attn.k_proj.weight", kv, h),
				matrix(p+"self_attn.v_proj.weight", kv, h),
				matrix(p+"self_attn.o_proj.weight", h, q),
				offset(p+"self_attn.q_norm.weight", hd),
				offset(p+"self_attn.k_norm.weight", hd),
			)
		} else {
			a := p + "linear_attn."
			if legacy {
				ts = append(ts,
					matrix(a+"in_proj_qkvz.weight", 2*kDim+2*vDim, h),
					matrix(a+"in_proj_ba.weight", uint64(2*s.linVHeads), h),
				)
			} else {
				ts = append(ts,
					matrix(a+"in_proj_qkv.weight", 2*kDim+vDim, h),
					matrix(a+"in_proj_z.weight", vDim, h),
					matrix(a+"in_proj_a.weight", uint64(s.linVHeads), h),
					matrix(a+"in_proj_b.weight", uint64(s.linVHeads), h),
				)
			}
			ts = append(ts,
				Tensor{Name: a + "conv1d.weight", Shape: []uint64{2*kDim + vDim, 1, uint64(s.conv)}, Std: 0.5},
				Tensor{Name: a + "dt_bias", Shape: []uint64{uint64(s.linVHeads)}, Value: 1},
				Tensor{Name: a + "A_log", Shape: []uint64{uint64(s.linVHeads)}, Std: 0.5},
				Tensor{Name: a + "norm.weight", Shape: []uint64{uint64(s.linHeadDim)}, Value: 1},
				matrix(a+"out_proj.weight", h, vDim),
			)
		}
		if s.experts == 0 {
			f := uint64(s.ffn)
			ts = append(ts,
				matrix(p+"mlp.gate_proj.weight", f, h),
				matrix(p+"mlp.up_proj.weight", f, h),
				matrix(p+"mlp.down_proj.weight", h, f),
			)
			continue
		}
		e, sh := uint64(s.expertFFN), uint64(s.sharedFFN)
		ts = append(ts,
			Tensor{Name: p + "mlp.gate.weight", Shape: []uint64{uint64(s.experts), h}, Std: 0.5},
			matrix(p+"mlp.shared_expert.gate_proj.weight", sh, h),
			matrix(p+"mlp.shared_expert.up_proj.weight", sh, h),
			matrix(p+"mlp.shared_expert.down_proj.weight", h, sh),
			matrix(p+"mlp.shared_expert_gate.weight", 1, h),
		)
		for x := range s.experts {
			ep := fmt.Sprintf("%smlp.experts.%d.", p, x)
			ts = append(ts,
				matrix(ep+"gate_proj.weight", e, h),
				matrix(ep+"up_proj.weight", e, h),
				matrix(ep+"down_proj.weight", h, e),
			)
		}
	}
	return ts
}

// qwen35Checkpoint is a Qwen3_5ForConditionalGeneration checkpoint without its vision tower: the text
// model under "text_config" and "model.language_model.", with partial interleaved multi-axis rotary
// positions (a text prompt gives every axis the same position). Ollama converts it to "qwen35", which only
// its Go engine runs, one sequence per forward pass.
func qwen35Checkpoint(s qwen35Shape) Checkpoint {
	text := s.textConfig("qwen3_5_text")
	rotary := s.headDim / 4 // partial_rotary_factor 0.25; the sections split half the rotary width
	text["rope_parameters"] = map[string]any{
		"rope_type":             "default",
		"rope_theta":            10000000.0,
		"partial_rotary_factor": 0.25,
		"mrope_interleaved":     true,
		"mrope_section":         []int{rotary/2 - rotary/4, rotary / 8, rotary / 8},
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":       []string{"Qwen3_5ForConditionalGeneration"},
			"model_type":          "qwen3_5",
			"text_config":         text,
			"tie_word_embeddings": true,
		},
		Tokenizer: gpt2HFTokenizer(s.merges),
		Tensors:   s.tensors("model.language_model.", false),
	}
}

// qwen3NextCheckpoint is a Qwen3NextForCausalLM checkpoint: the same hybrid with Qwen3-Next's packed
// linear-attention projections and a mixture of experts beside a shared expert. Ollama's converter splits
// the packed projections and writes it as "qwen35moe" (the v heads left in Qwen3-Next's grouped order).
func qwen3NextCheckpoint(s qwen35Shape) Checkpoint {
	c := s.textConfig("qwen3_next")
	c["architectures"] = []string{"Qwen3NextForCausalLM"}
	c["rope_theta"] = 10000000.0
	c["partial_rotary_factor"] = 0.25
	return Checkpoint{
		Config:    c,
		Tokenizer: gpt2HFTokenizer(s.merges),
		Tensors:   s.tensors("model.", true),
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-qwen35",
		Description: "qwen35 (Go engine only; hybrid: Gated DeltaNet + gated attention, one sequence per pass), 4 layers, 128 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        12,
		Checkpoint: qwen35Checkpoint(qwen35Shape{hidden: 128, layers: 4, heads: 4, kvHeads: 2, headDim: 32, ffn: 256,
			linKHeads: 2, linVHeads: 4, linHeadDim: 32, conv: 4, merges: 1792}),
	})
	register(Recipe{
		Name:        "tiny-qwen3next",
		Description: "Qwen3-Next converted to qwen35moe (Go engine only; hybrid with 4 experts + a shared one), 4 layers, 128 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, F16 (random weights)",
		Version:     1,
		Seed:        13,
		Checkpoint: qwen3NextCheckpoint(qwen35Shape{hidden: 128, layers: 4, heads: 4, kvHeads: 2, headDim: 32, ffn: 256,
			linKHeads: 2, linVHeads: 4, linHeadDim: 32, conv: 4, experts: 4, used: 2, expertFFN: 64, sharedFFN: 128, merges: 1792}),
	})
}
