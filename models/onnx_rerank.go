package models

import "github.com/hearthlink/hearth/onnxspec"

// onnxTinyBERTReranker is a cross-encoder of cross-encoder/ms-marco-TinyBERT-L-2-v2's shape (a two-layer,
// 128-wide BERT with a single-logit relevance head): it reads a (query, document) pair as "[CLS] query
// [SEP] document [SEP]" (segment ids 0 then 1) and outputs one relevance logit per pair.
var onnxTinyBERTReranker = onnxBERTRecipe{
	shape: onnxBERTShape{
		VocabSize:             30522,
		HiddenSize:            128,
		NumHiddenLayers:       2,
		NumAttentionHeads:     2,
		IntermediateSize:      512,
		MaxPositionEmbeddings: 512,
		TypeVocabSize:         2,
		Labels:                []string{"LABEL_0"},
	},
	architecture: "BertForSequenceClassification",
	hearth: ONNXConfig{
		Task:      onnxspec.TaskRerank,
		Output:    onnxLogits,
		MaxLength: 512,
	},
}

func init() {
	registerONNXBERT("tinybert-rerank-onnx", 3, onnxTinyBERTReranker,
		"BERT cross-encoder reranker shaped like ms-marco-TinyBERT-L-2-v2 (1 relevance logit), ONNX, random weights")
}
