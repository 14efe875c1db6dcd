package hfmodels

import (
	"fmt"
	"math"
)

// gemma3nCheckpoint is the text model of a Gemma3nForConditionalGeneration checkpoint (no audio or vision
// tower): Gemma 3n's decoder with AltUp (altup copies of the residual stream, one active, the others
// predicted and corrected by small routers), LAuReL (a low-rank residual beside attention), per-layer
// input embeddings projected into every layer, activation sparsity on the first layers' MLPs, and four
// sliding-window layers to one global layer. Its tokenizer is SentencePiece, as Gemma's. Ollama converts
// it to "gemma3n", which it runs in its Go engine. llama.cpp takes the per-layer input width (256), the
// LAuReL rank (64), four AltUp inputs, sparsity on the first 10 layers and KV sharing from layer 20 as fixed,
// so a tiny one keeps those.
func gemma3nCheckpoint(hidden, layers, heads, kvHeads, headDim, ffn, perLayer, altup, laurel, window, pieces int) Checkpoint {
	nVocab := len(gemmaSpecials) + 256 + pieces
	h, q, kv, f, v := uint64(hidden), uint64(heads*headDim), uint64(kvHeads*headDim), uint64(ffn), uint64(nVocab)
	hp, n, r := uint64(perLayer), uint64(altup), uint64(laurel)
	matrix := func(name string, shape ...uint64) Tensor { return Tensor{Name: name, Shape: shape, Std: 0.06} }
	ones := func(name string, d uint64) Tensor { return Tensor{Name: name, Shape: []uint64{d}, Value: 1} }
	const p0 = "model.language_model."
	ts := []Tensor{
		// Scaled by sqrt(hidden) on the way in; drawn so the logits spread as tiny-gemma3's do.
		{Name: p0 + "embed_tokens.weight", Shape: []uint64{v, h}, Std: float32(2.3 / math.Sqrt(float64(hidden)))},
		{Name: p0 + "embed_tokens_per_layer.weight", Shape: []uint64{v, uint64(layers) * hp}, Std: 0.2},
		matrix(p0+"per_layer_model_projection.weight", uint64(layers)*hp, h),
		ones(p0+"per_layer_projection_norm.weight", hp),
		ones(p0+"norm.weight", h),
	}
	for i := range altup - 1 {
		ts = append(ts,
			matrix(fmt.Sprintf("%saltup_projections.%d.weight", p0, i), h, h),
			matrix(fmt.Sprintf("%saltup_unembed_projections.%d.weight", p0, i), h, h),
		)
	}
	layerTypes := make([]string, layers)
	sparsity := make([]float64, layers)
	for i := range layers {
		layerTypes[i] = "sliding_attention"
		if i%5 == 4 {
			layerTypes[i] = "full_attention"
		}
		sparsity[i] = 0.95 // as Gemma 3n's first 10 layers (llama.cpp takes that as fixed)
		p := fmt.Sprintf("%slayers.%d.", p0, i)
		ts = append(ts,
			ones(p+"input_layernorm.weight", h),
			matrix(p+"self_attn.q_proj.weight", q, h),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.o_proj.weight", h, q),
			ones(p+"self_attn.q_norm.weight", uint64(headDim)),
			ones(p+"self_attn.k_norm.weight", uint64(headDim)),
			ones(p+"post_attention_layernorm.weight", h),
			ones(p+"pre_feedforward_layernorm.weight", h),
			matrix(p+"mlp.gate_proj.weight", f, h),
			matrix(p+"mlp.up_proj.weight", f, h),
			matrix(p+"mlp.down_proj.weight", h, f),
			ones(p+"post_feedforward_layernorm.weight", h),
			matrix(p+"per_layer_input_gate.weight", hp, h),
			matrix(p+"per_layer_projection.weight", h, hp),
			ones(p+"post_per_layer_input_norm.weight", h),
			ones(p+"altup.correct_output_scale", h),
			Tensor{Name: p + "altup.correction_coefs.weight", Shape: []uint64{n, n}, Std: 0.1},
			Tensor{Name: p + "altup.prediction_coefs.weight", Shape: []uint64{n * n, n}, Std: 0.1},
			matrix(p+"altup.modality_router.weight", n, h),
			ones(p+"altup.router_norm.weight", h),
			matrix(p+"laurel.linear_left.weight", r, h),
			matrix(p+"laurel.linear_right.weight", h, r),
			ones(p+"laurel.post_laurel_norm.weight", h),
		)
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures": []string{"Gemma3nForConditionalGeneration"},
			"model_type":    "gemma3n",
			"text_config": map[string]any{
				"model_type":                  "gemma3n_text",
				"hidden_size":                 hidden,
				"hidden_size_per_layer_input": perLayer,
				"num_hidden_layers":           layers,
				"intermediate_size":           ffn,
				"num_attention_heads":         heads,
				"num_key_value_heads":         kvHeads,
				"head_dim":                    headDim,
				"num_kv_shared_layers":        0,
				"altup_num_inputs":            altup,
				"altup_active_idx":            0,
				"altup_coef_clip":             120.0,
				"altup_correct_scale":         true,
				"altup_lr_multiplier":         1.0,
				"laurel_rank":                 laurel,
				"activation_sparsity_pattern": sparsity,
				"layer_types":                 layerTypes,
				"sliding_window":              window,
				"max_position_embeddings":     32768,
				"rms_norm_eps":                1e-6,
				"rope_theta":                  1000000.0,
				"rope_local_base_freq":        10000.0,
				"final_logit_softcapping":     30.0,
				"hidden_activation":           "gelu_pytorch_tanh",
				"vocab_size":                  nVocab,
				"vocab_size_per_layer_input":  nVocab,
				"torch_dtype":                 "float32",
			},
			"vision_config":       map[string]any{},
			"audio_config":        map[string]any{},
			"tie_word_embeddings": true,
		},
		Tokenizer: spmHFTokenizer(pieces),
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name:        "tiny-gemma3n",
		Description: "gemma3n text (Go engine in Ollama): AltUp x4, LAuReL, per-layer inputs, 5 layers (4 sliding, 1 global), 128 dims, SentencePiece: Gemma's specials + bytes + Llama 2's first 1,536 pieces, F16 (random weights)",
		Version:     1,
		Seed:        19,
		Checkpoint:  gemma3nCheckpoint(128, 5, 4, 2, 32, 256, 256, 4, 64, 32, 1536),
	})
}
