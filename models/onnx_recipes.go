package models

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hearthlink/hearth/onnxspec"
)

// ONNXConfigFile names hearth.json, the one hearth-specific file of an ONNX model folder. A generated ONNX
// model is a folder (Ensure names it <recipe>-v<version>-s<seed>) holding:
//
//	model.onnx             the graph, opset 12, weights as float32 initializers; inputs input_ids,
//	                       attention_mask, token_type_ids (int64 [batch_size, sequence_length])
//	config.json            Hugging Face BertConfig (model_type "bert", hidden_size, ...); a classifier adds
//	                       id2label, label2id and problem_type "single_label_classification"
//	vocab.txt              the WordPiece vocabulary, one token a line, line number = token id
//	tokenizer.json         the same vocabulary as a Hugging Face tokenizers file (BertNormalizer,
//	                       BertPreTokenizer, WordPiece, [CLS] $A [SEP] template)
//	tokenizer_config.json  Hugging Face transformers' BertTokenizer settings
//	special_tokens_map.json
//	hearth.json            onnxspec.Config: the task, which output to read, and how to pool it
const ONNXConfigFile = onnxspec.ConfigFile

// ONNXConfig is the content of hearth.json.
type ONNXConfig = onnxspec.Config

// onnxBERTRecipe is everything that distinguishes one generated BERT ONNX model from another.
type onnxBERTRecipe struct {
	shape        onnxBERTShape
	architecture string
	hearth       ONNXConfig
}

// onnxMiniLM has all-MiniLM-L6-v2's shape and sentence-transformers' mean pooling with normalisation.
var onnxMiniLM = onnxBERTRecipe{
	shape: onnxBERTShape{
		VocabSize:             30522,
		HiddenSize:            384,
		NumHiddenLayers:       6,
		NumAttentionHeads:     12,
		IntermediateSize:      1536,
		MaxPositionEmbeddings: 512,
		TypeVocabSize:         2,
	},
	architecture: "BertModel",
	hearth: ONNXConfig{
		Task:      onnxspec.TaskEmbedding,
		Output:    onnxLastHiddenState,
		Pooling:   "mean",
		Normalize: true,
		// sentence-transformers truncates all-MiniLM-L6-v2's input at 256 word pieces.
		MaxLength: 256,
	},
}

// onnxTinyBERTClassifier has TinyBERT-4L-312D's shape with a three-way sentiment head.
var onnxTinyBERTClassifier = onnxBERTRecipe{
	shape: onnxBERTShape{
		VocabSize:             30522,
		HiddenSize:            312,
		NumHiddenLayers:       4,
		NumAttentionHeads:     12,
		IntermediateSize:      1200,
		MaxPositionEmbeddings: 512,
		TypeVocabSize:         2,
		Labels:                []string{"negative", "neutral", "positive"},
	},
	architecture: "BertForSequenceClassification",
	hearth: ONNXConfig{
		Task:      onnxspec.TaskClassification,
		Output:    onnxLogits,
		MaxLength: 512,
	},
}

func init() {
	registerONNXBERT("minilm-onnx", 1, onnxMiniLM,
		"BERT sentence encoder shaped like all-MiniLM-L6-v2 (384-d, 6 layers), ONNX, random weights")
	registerONNXBERT("tinybert-cls-onnx", 2, onnxTinyBERTClassifier,
		"BERT sentiment classifier shaped like TinyBERT-4L-312D (3 labels), ONNX, random weights")
}

// registerONNXBERT registers a default ONNX recipe whose weights come from seed. Bump Version here
// whenever anything this file, onnx_bert.go, onnx_graph.go or onnx_tokenizer.go writes changes, so cached
// copies are regenerated.
func registerONNXBERT(name string, seed int64, r onnxBERTRecipe, description string) {
	register(Recipe{
		Name:        name,
		Format:      FormatONNX,
		Description: description,
		Version:     2,
		Seed:        seed,
		Default:     true,
		Generate: func(ctx context.Context, dst string) error {
			return generateONNXBERT(ctx, dst, r, seed)
		},
	})
}

// generateONNXBERT writes the model folder dst (which must not exist yet; its parent is created). On any
// failure, a canceled ctx included, dst is removed again.
func generateONNXBERT(ctx context.Context, dst string, r onnxBERTRecipe, seed int64) (err error) {
	vocab, err := BertWordPieceVocab()
	if err != nil {
		return err
	}
	if len(vocab) != r.shape.VocabSize {
		return fmt.Errorf("models: vocabulary has %d tokens, the model expects %d", len(vocab), r.shape.VocabSize)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dst)
		}
	}()

	model, err := buildONNXBERT(ctx, r.shape, seed)
	if err != nil {
		return err
	}
	data := model.Marshal()
	if err := ctx.Err(); err != nil {
		return err
	}
	write := func(name string, b []byte) error {
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		return nil
	}
	if err := write("model.onnx", data); err != nil {
		return err
	}
	if err := write("vocab.txt", onnxVocabTxt(vocab)); err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		value any
	}{
		{"config.json", r.hfConfig()},
		{ONNXConfigFile, r.hearth},
		{"tokenizer.json", onnxWordPieceTokenizer(vocab)},
		{"tokenizer_config.json", onnxBertTokenizerConfig(r.shape.MaxPositionEmbeddings)},
		{"special_tokens_map.json", onnxSpecialTokensMap()},
	} {
		b, err := onnxJSON(f.value)
		if err != nil {
			return fmt.Errorf("models: encoding %s: %w", f.name, err)
		}
		if err := write(f.name, b); err != nil {
			return err
		}
	}
	return nil
}

// onnxHFConfig is the subset of Hugging Face's BertConfig that describes an inference-only model.
type onnxHFConfig struct {
	Architectures             []string          `json:"architectures"`
	ModelType                 string            `json:"model_type"`
	VocabSize                 int               `json:"vocab_size"`
	HiddenSize                int               `json:"hidden_size"`
	NumHiddenLayers           int               `json:"num_hidden_layers"`
	NumAttentionHeads         int               `json:"num_attention_heads"`
	IntermediateSize          int               `json:"intermediate_size"`
	HiddenAct                 string            `json:"hidden_act"`
	MaxPositionEmbeddings     int               `json:"max_position_embeddings"`
	TypeVocabSize             int               `json:"type_vocab_size"`
	LayerNormEps              float64           `json:"layer_norm_eps"`
	InitializerRange          float64           `json:"initializer_range"`
	HiddenDropoutProb         float64           `json:"hidden_dropout_prob"`
	AttentionProbsDropoutProb float64           `json:"attention_probs_dropout_prob"`
	PositionEmbeddingType     string            `json:"position_embedding_type"`
	PadTokenID                int               `json:"pad_token_id"`
	TorchDtype                string            `json:"torch_dtype"`
	ID2Label                  map[string]string `json:"id2label,omitempty"`
	Label2ID                  map[string]int    `json:"label2id,omitempty"`
	ProblemType               string            `json:"problem_type,omitempty"`
}

func (r onnxBERTRecipe) hfConfig() onnxHFConfig {
	s := r.shape
	c := onnxHFConfig{
		Architectures:             []string{r.architecture},
		ModelType:                 "bert",
		VocabSize:                 s.VocabSize,
		HiddenSize:                s.HiddenSize,
		NumHiddenLayers:           s.NumHiddenLayers,
		NumAttentionHeads:         s.NumAttentionHeads,
		IntermediateSize:          s.IntermediateSize,
		HiddenAct:                 "gelu",
		MaxPositionEmbeddings:     s.MaxPositionEmbeddings,
		TypeVocabSize:             s.TypeVocabSize,
		LayerNormEps:              onnxLayerNormEps,
		InitializerRange:          onnxInitStd,
		HiddenDropoutProb:         0.1,
		AttentionProbsDropoutProb: 0.1,
		PositionEmbeddingType:     "absolute",
		TorchDtype:                "float32",
	}
	if len(s.Labels) > 0 {
		c.ID2Label = map[string]string{}
		c.Label2ID = map[string]int{}
		for i, l := range s.Labels {
			c.ID2Label[strconv.Itoa(i)] = l
			c.Label2ID[l] = i
		}
		c.ProblemType = "single_label_classification"
	}
	return c
}

// onnxJSON is indented JSON with a final newline; maps come out with sorted keys, so it is deterministic.
func onnxJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
