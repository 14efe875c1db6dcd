package hfmodels

import (
	"fmt"
	"math"
)

// gemma3VisionCheckpoint is a Gemma3ForConditionalGeneration checkpoint: Gemma 3's text model with its
// SigLIP vision tower and the projector that pools the tower's patches and maps them into the text model's
// width, under the names transformers wrote when Ollama's converter learned them (language_model.model.*,
// vision_tower.vision_model.*, multi_modal_projector.*). The vocabulary is Gemma 3's own, whole
// (gemma3Tokenizer): the image tokens Ollama's engine inserts (<start_of_image> 255999, <end_of_image>
// 256000, "\n\n" 108) are inside it. Ollama's engine always pools an image to 256 tokens (it reads
// mm_tokens_per_image under a key its converter does not write), so the tower sees a 16x16 grid of
// patches: imageSize/patchSize must be 16.
func gemma3VisionCheckpoint(hidden, layers, heads, kvHeads, headDim, ffn int, vHidden, vLayers, vHeads, vFFN, imageSize, patchSize int) Checkpoint {
	const nVocab = gemma3VocabSize
	h, q, kv, f, v := uint64(hidden), uint64(heads*headDim), uint64(kvHeads*headDim), uint64(ffn), uint64(nVocab)
	vh, vf, patches := uint64(vHidden), uint64(vFFN), uint64((imageSize/patchSize)*(imageSize/patchSize))
	matrix := func(name string, shape ...uint64) Tensor {
		return Tensor{Name: name, Shape: shape, Std: weightStd}
	}
	zero := func(name string, n uint64) Tensor { return Tensor{Name: name, Shape: []uint64{n}} }
	one := func(name string, n uint64) Tensor { return Tensor{Name: name, Shape: []uint64{n}, Value: 1} }
	embedStd := float32(2.3 / math.Sqrt(float64(hidden)))
	ts := []Tensor{
		{Name: "language_model.model.embed_tokens.weight", Shape: []uint64{v, h}, Std: embedStd},
		zero("language_model.model.norm.weight", h), // Gemma's norms are offsets from 1: the converter adds it
	}
	for i := range layers {
		p := fmt.Sprintf("language_model.model.layers.%d.", i)
		ts = append(ts,
			zero(p+"input_layernorm.weight", h),
			matrix(p+"self_attn.q_proj.weight", q, h),
			matrix(p+"self_attn.k_proj.weight", kv, h),
			matrix(p+"self_attn.v_proj.weight", kv, h),
			matrix(p+"self_attn.o_proj.weight", h, q),
			zero(p+"self_attn.q_norm.weight", uint64(headDim)),
			zero(p+"self_attn.k_norm.weight", uint64(headDim)),
			zero(p+"post_attention_layernorm.weight", h),
			zero(p+"pre_feedforward_layernorm.weight", h),
			matrix(p+"mlp.gate_proj.weight", f, h),
			matrix(p+"mlp.up_proj.weight", f, h),
			matrix(p+"mlp.down_proj.weight", h, f),
			zero(p+"post_feedforward_layernorm.weight", h),
		)
	}
	// SigLIP: a strided convolution makes one embedding per patch, plus a learned position embedding, then
	// pre-norm encoder layers with biases everywhere and a final LayerNorm (plain LayerNorms: weight 1).
	vp := "vision_tower.vision_model."
	ts = append(ts,
		Tensor{Name: vp + "embeddings.patch_embedding.weight", Shape: []uint64{vh, 3, uint64(patchSize), uint64(patchSize)}, Std: 0.3},
		zero(vp+"embeddings.patch_embedding.bias", vh),
		Tensor{Name: vp + "embeddings.position_embedding.weight", Shape: []uint64{patches, vh}, Std: 0.3},
		one(vp+"post_layernorm.weight", vh),
		zero(vp+"post_layernorm.bias", vh),
	)
	for i := range vLayers {
		p := fmt.Sprintf("%sencoder.layers.%d.", vp, i)
		ts = append(ts,
			one(p+"layer_norm1.weight", vh), zero(p+"layer_norm1.bias", vh),
			matrix(p+"self_attn.q_proj.weight", vh, vh), zero(p+"self_attn.q_proj.bias", vh),
			matrix(p+"self_attn.k_proj.weight", vh, vh), zero(p+"self_attn.k_proj.bias", vh),
			matrix(p+"self_attn.v_proj.weight", vh, vh), zero(p+"self_attn.v_proj.bias", vh),
			matrix(p+"self_attn.out_proj.weight", vh, vh), zero(p+"self_attn.out_proj.bias", vh),
			one(p+"layer_norm2.weight", vh), zero(p+"layer_norm2.bias", vh),
			matrix(p+"mlp.fc1.weight", vf, vh), zero(p+"mlp.fc1.bias", vf),
			matrix(p+"mlp.fc2.weight", vh, vf), zero(p+"mlp.fc2.bias", vh),
		)
	}
	// The projector: an RMSNorm over the pooled patches (Gemma-style, an offset from 1) and a matrix stored
	// [vision width, text width] (a bare parameter, not a Linear).
	ts = append(ts,
		zero("multi_modal_projector.mm_soft_emb_norm.weight", vh),
		Tensor{Name: "multi_modal_projector.mm_input_projection_weight", Shape: []uint64{vh, h}, Std: 1 / float32(math.Sqrt(float64(vHidden)))},
	)
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"Gemma3ForConditionalGeneration"},
			"model_type":              "gemma3",
			"num_attention_heads":     heads, // Ollama's converter reads the head counts at the top level
			"num_key_value_heads":     kvHeads,
			"mm_tokens_per_image":     256,
			"boi_token_index":         255999,
			"eoi_token_index":         256000,
			"image_token_index":       262144,
			"torch_dtype":             "float32",
			"initializer_range":       0.02,
			"max_position_embeddings": 32768,
			"text_config": map[string]any{
				"model_type":            "gemma3_text",
				"hidden_size":           hidden,
				"num_hidden_layers":     layers,
				"intermediate_size":     ffn,
				"num_attention_heads":   heads,
				"num_key_value_heads":   kvHeads,
				"head_dim":              headDim,
				"query_pre_attn_scalar": headDim,
				"rms_norm_eps":          1e-6,
				"sliding_window":        1024,
				"vocab_size":            nVocab,
				"hidden_activation":     "gelu_pytorch_tanh",
			},
			"vision_config": map[string]any{
				"model_type":          "siglip_vision_model",
				"hidden_size":         vHidden,
				"num_hidden_layers":   vLayers,
				"num_attention_heads": vHeads,
				"intermediate_size":   vFFN,
				"image_size":          imageSize,
				"patch_size":          patchSize,
				"num_channels":        3,
				"layer_norm_eps":      1e-6,
			},
		},
		Tokenizer: gemma3Tokenizer,
		Tensors:   ts,
	}
}

func init() {
	register(Recipe{
		Name: "tiny-gemma3-vision",
		Description: "gemma3 with its SigLIP vision tower and projector (Go engine; images): text 2 layers, 32 dims; " +
			"vision 1 layer, 32 dims, 32x32 images in 2x2 patches (256 image tokens); Gemma 3's whole 262,144-token " +
			"vocabulary, F16 (random weights)",
		Version:    1,
		Seed:       15,
		Checkpoint: gemma3VisionCheckpoint(32, 2, 2, 1, 16, 64, 32, 1, 2, 64, 32, 2),
	})
}
