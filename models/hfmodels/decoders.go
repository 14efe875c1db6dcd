package hfmodels

import (
	"fmt"
	"maps"
	"math"
)

// This file holds architectures Ollama leaves to llama.cpp (not in ggml.KV.OllamaEngineRequired): their
// checkpoints check that what Ollama's converter writes for them loads and generates in hearth's llama.cpp.

// decoderShape is the size of a small dense decoder.
type decoderShape struct {
	hidden, layers, heads, kvHeads, ffn, merges int
}

// tinyDecoder is the size of the tiny dense recipes: 2 layers, 64 dims, the cut GPT-2 vocabulary.
var tinyDecoder = decoderShape{hidden: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, merges: 1792}

// decoderStd is the standard deviation of these checkpoints' matrices: wide enough that two 64-wide
// blocks move the residual stream as much as the embedding does, so the output depends on the context
// rather than repeating the last token (which a tied output favours).
const decoderStd = 0.15

// qwen2Checkpoint is a Qwen2ForCausalLM checkpoint (Qwen 2 and 2.5): pre-norm RMSNorm blocks, grouped-query
// attention with biases on the query, key and value projections, SwiGLU, the output tied to the embedding
// as the small Qwen2 models have it.
func qwen2Checkpoint(s decoderShape) Checkpoint {
	nVocab := 256 + s.merges + 3
	headDim := s.hidden / s.heads
	h, kv, f, v := uint64(s.hidden), uint64(s.kvHeads*headDim), uint64(s.ffn), uint64(nVocab)
	matrix := func(name string, shape ...uint64) Tensor { return Tensor{Name: name, Shape: shape, Std: decoderStd} }
	norm := func(name string) Tensor { return Tensor{Name: name, Shape: []uint64{h}, Value: 1} }
	ts := []Tensor{
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: embedStd},
		norm("model.norm.weight"),
	}
	for i := range s.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			norm(p+"input_layernorm.weight"),
			matrix(p+"self_attn.q_proj.weight", h, h), matrix(p+"self_attn.q_proj.bias", h),
			matrix(p+"self_attn.k_proj.weight", kv, h), matrix(p+"self_attn.k_proj.bias", kv),
			matrix(p+"self_attn.v_proj.weight", kv, h), matrix(p+"self_attn.v_proj.bias", kv),
			matrix(p+"self_attn.o_proj.weight", h, h),
			norm(p+"post_attention_layernorm.weight"),
			matrix(p+"mlp.gate_proj.weight", f, h),
			matrix(p+"mlp.up_proj.weight", f, h),
			matrix(p+"mlp.down_proj.weight", h, f),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"Qwen2ForCausalLM"},
			"model_type":              "qwen2",
			"hidden_size":             s.hidden,
			"num_hidden_layers":       s.layers,
			"intermediate_size":       s.ffn,
			"num_attention_heads":     s.heads,
			"num_key_value_heads":     s.kvHeads,
			"max_position_embeddings": 32768,
			"rms_norm_eps":            1e-6,
			"rope_theta":              1000000.0,
			"vocab_size":              nVocab,
			"tie_word_embeddings":     true,
			"torch_dtype":             "float32",
		},
		Tokenizer: gpt2HFTokenizer(s.merges),
		Tensors:   ts,
	}
}

// phi3Checkpoint is a Phi3ForCausalLM checkpoint: pre-norm RMSNorm blocks, the query, key and value
// projections fused in one qkv_proj and SwiGLU's gate and up in one gate_up_proj (llama.cpp splits them at
// load), a sliding window, an untied output. With longRope it is Phi-3-mini-128k's and Phi-3.5-mini's
// layout: LongRoPE, per-dimension long and short factors, which the converter writes as
// rope_factors_long and rope_factors_short. Without, it is Phi-3-mini-4k's (no RoPE scaling), which does not
// load in Ollama 0.17.4 either: its converter writes the two factor tensors empty and llama.cpp's loader
// rejects them ("tensor 'rope_factors_long.weight' has wrong shape; expected 8, got 0").
func phi3Checkpoint(s decoderShape, longRope bool) Checkpoint {
	nVocab := 256 + s.merges + 3
	headDim := s.hidden / s.heads
	h, kv, f, v := uint64(s.hidden), uint64(s.kvHeads*headDim), uint64(s.ffn), uint64(nVocab)
	matrix := func(name string, shape ...uint64) Tensor { return Tensor{Name: name, Shape: shape, Std: decoderStd} }
	norm := func(name string) Tensor { return Tensor{Name: name, Shape: []uint64{h}, Value: 1} }
	// One factor per rotated pair of dimensions, rising from 1 as Phi-3's do.
	longFactors, shortFactors := make([]float64, headDim/2), make([]float64, headDim/2)
	for i := range longFactors {
		longFactors[i] = 1 + 3*float64(i)/float64(len(longFactors))
		shortFactors[i] = 1 + 0.1*float64(i)/float64(len(shortFactors))
	}
	ts := []Tensor{
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: embedStd},
		norm("model.norm.weight"),
		{Name: "lm_head.weight", Shape: []uint64{v, h}, Std: float32(2 / math.Sqrt(float64(s.hidden)))},
	}
	for i := range s.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			norm(p+"input_layernorm.weight"),
			matrix(p+"self_attn.qkv_proj.weight", h+2*kv, h),
			matrix(p+"self_attn.o_proj.weight", h, h),
			norm(p+"post_attention_layernorm.weight"),
			matrix(p+"mlp.gate_up_proj.weight", 2*f, h),
			matrix(p+"mlp.down_proj.weight", h, f),
		)
	}
	config := map[string]any{
		"max_position_embeddings":          4096,
		"original_max_position_embeddings": 4096,
		"sliding_window":                   2047,
		"rope_scaling":                     nil,
	}
	if longRope {
		config = map[string]any{
			"max_position_embeddings":          131072,
			"original_max_position_embeddings": 4096,
			"sliding_window":                   262144,
			"rope_scaling":                     map[string]any{"type": "longrope", "long_factor": longFactors, "short_factor": shortFactors},
		}
	}
	maps.Copy(config, map[string]any{
		"architectures":       []string{"Phi3ForCausalLM"},
		"model_type":          "phi3",
		"hidden_size":         s.hidden,
		"num_hidden_layers":   s.layers,
		"intermediate_size":   s.ffn,
		"num_attention_heads": s.heads,
		"num_key_value_heads": s.kvHeads,
		"rms_norm_eps":        1e-5,
		"rope_theta":          10000.0,
		"vocab_size":          nVocab,
		"tie_word_embeddings": false,
		"torch_dtype":         "float32",
	})
	return Checkpoint{Config: config, Tokenizer: gpt2HFTokenizer(s.merges), Tensors: ts}
}

// commandRLogitScale is Command-R's logit_scale: the output logits are multiplied by it.
const commandRLogitScale = 0.0625

// commandRCheckpoint is a CohereForCausalLM checkpoint (Command-R): one LayerNorm (weight only) before
// attention and the MLP, which run in parallel on it, SwiGLU, the output tied to the embedding and scaled
// by logit_scale.
func commandRCheckpoint(s decoderShape) Checkpoint {
	nVocab := 256 + s.merges + 3
	headDim := s.hidden / s.heads
	h, kv, f, v := uint64(s.hidden), uint64(s.kvHeads*headDim), uint64(s.ffn), uint64(nVocab)
	matrix := func(name string, shape ...uint64) Tensor { return Tensor{Name: name, Shape: shape, Std: decoderStd} }
	norm := func(name string) Tensor { return Tensor{Name: name, Shape: []uint64{h}, Value: 1} }
	// The tied output's logits, scaled by logit_scale over the normed final state, spread with standard
	// deviation about 0.5: a wider embedding would drown the blocks' output in the residual stream.
	ts := []Tensor{
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: float32(0.5 / (commandRLogitScale * math.Sqrt(float64(s.hidden))))},
		norm("model.norm.weight"),
	}
	for i := range s.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			norm(p+"input_layernorm.weight"),
			matrix(p+"self_attn.q_proj.weight", h, h),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.o_proj.weight", h, h),
			matrix(p+"mlp.gate_proj.weight", f, h),
			matrix(p+"mlp.up_proj.weight", f, h),
			matrix(p+"mlp.down_proj.weight", h, f),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"CohereForCausalLM"},
			"model_type":              "cohere",
			"hidden_size":             s.hidden,
			"num_hidden_layers":       s.layers,
			"intermediate_size":       s.ffn,
			"num_attention_heads":     s.heads,
			"num_key_value_heads":     s.kvHeads,
			"max_position_embeddings": 8192,
			"layer_norm_eps":          1e-5,
			"logit_scale":             commandRLogitScale,
			"rope_theta":              10000.0,
			"use_qk_norm":             false,
			"vocab_size":              nVocab,
			"tie_word_embeddings":     true,
			"torch_dtype":             "float32",
		},
		Tokenizer: gpt2HFTokenizer(s.merges),
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-qwen2",
		Description: "qwen2 (llama.cpp), 2 layers, 64 dims, GPT-2 BPE cut to 2,051 tokens + ChatML, tied output (random weights)",
		Version:     1,
		Seed:        15,
		Checkpoint:  qwen2Checkpoint(tinyDecoder),
	})
	register(Recipe{
		Name:        "tiny-phi3",
		Description: "phi3 (llama.cpp), 2 layers, 64 dims, fused qkv and gate_up, GPT-2 BPE cut to 2,051 tokens + ChatML (random weights)",
		Version:     1,
		Seed:        16,
		Checkpoint:  phi3Checkpoint(tinyDecoder, true),
	})
	register(Recipe{
		Name:        "tiny-phi3-4k",
		Description: "phi3 without RoPE scaling (Phi-3-mini-4k's layout), which Ollama's converter writes in a form llama.cpp refuses to load: for the error path (random weights)",
		Version:     1,
		Seed:        18,
		Checkpoint:  phi3Checkpoint(tinyDecoder, false),
	})
	register(Recipe{
		Name:        "tiny-command-r",
		Description: "command-r (llama.cpp), 2 layers, 64 dims, parallel attention and MLP, GPT-2 BPE cut to 2,051 tokens + ChatML, tied output (random weights)",
		Version:     1,
		Seed:        17,
		Checkpoint:  commandRCheckpoint(tinyDecoder),
	})
}
