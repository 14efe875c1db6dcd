package models

import (
	"context"
	"fmt"
	"math"

	"github.com/hearthlink/hearth/models/internal/onnx"
)

// onnxBERTShape is the size of a BERT encoder, in Hugging Face config.json terms. Labels, when set, puts a
// pooler and a sequence-classification head on top of the encoder.
type onnxBERTShape struct {
	VocabSize             int
	HiddenSize            int
	NumHiddenLayers       int
	NumAttentionHeads     int
	IntermediateSize      int
	MaxPositionEmbeddings int
	TypeVocabSize         int
	// Labels are the classifier's classes, in logit order; empty for a plain encoder.
	Labels []string
}

// The BERT graph's tensor names and constants, shared with the recipe writer and the tests.
const (
	onnxInputIDs        = "input_ids"
	onnxAttentionMask   = "attention_mask"
	onnxTokenTypeIDs    = "token_type_ids"
	onnxLastHiddenState = "last_hidden_state"
	onnxLogits          = "logits"

	onnxBatchDim = "batch_size"
	onnxSeqDim   = "sequence_length"

	// onnxLayerNormEps is BERT's layer_norm_eps.
	onnxLayerNormEps = 1e-12
	// onnxInitStd is BERT's initializer_range: weights are drawn from (nearly) N(0, 0.02²).
	onnxInitStd = 0.02
	// onnxMaskValue is added to the attention scores of padding positions; exp of it is exactly 0 in
	// float32, so padding contributes nothing to the softmax.
	onnxMaskValue = -10000
)

// buildONNXBERT builds the graph of a BERT encoder of the given shape with seeded random weights: the sum
// of word, position and token-type embeddings, LayerNorm, then NumHiddenLayers post-LN transformer
// layers (multi-head self-attention with BERT's additive attention mask, and an Erf-GELU feed-forward
// block). The inputs are input_ids, attention_mask and token_type_ids, int64 [batch_size,
// sequence_length]. A plain encoder outputs last_hidden_state, float32 [batch_size, sequence_length,
// hidden]; with Labels it instead outputs logits, float32 [batch_size, len(Labels)], from BERT's pooler
// (dense + tanh on the [CLS] position) and a dense classifier. Initializers are named as in Hugging Face's
// BertModel state dict, with linear weights stored [in, out] so they feed MatMul directly.
func buildONNXBERT(ctx context.Context, shape onnxBERTShape, seed int64) (*onnx.ModelProto, error) {
	if shape.HiddenSize%shape.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("models: hidden size %d is not a multiple of %d heads", shape.HiddenSize, shape.NumAttentionHeads)
	}
	b := newONNXGraphBuilder("bert", seed)
	f := &onnxBERTBuilder{b: b, shape: shape}
	h, err := f.encoder(ctx)
	if err != nil {
		return nil, err
	}
	doc := fmt.Sprintf("hearth test model: BERT encoder (hidden %d, %d layers, %d heads), random weights, seed %d",
		shape.HiddenSize, shape.NumHiddenLayers, shape.NumAttentionHeads, seed)
	if len(shape.Labels) == 0 {
		b.node("Identity", onnxLastHiddenState, []string{h})
		b.output(onnxLastHiddenState, onnx.TensorProto_FLOAT, onnxBatchDim, onnxSeqDim, shape.HiddenSize)
		return b.model(doc), nil
	}
	f.classifier(h)
	b.output(onnxLogits, onnx.TensorProto_FLOAT, onnxBatchDim, len(shape.Labels))
	return b.model(doc + fmt.Sprintf(", sequence classifier with %d labels", len(shape.Labels))), nil
}

// onnxBERTBuilder holds what the pieces of one BERT graph share.
type onnxBERTBuilder struct {
	b     *onnxGraphBuilder
	shape onnxBERTShape
}

// encoder adds the inputs, the embeddings and every layer, and returns the final hidden states. ctx is
// checked before the embeddings and before each layer; none takes more than a fraction of a second.
func (f *onnxBERTBuilder) encoder(ctx context.Context) (string, error) {
	b, s := f.b, f.shape
	hidden := int64(s.HiddenSize)
	ids := b.input(onnxInputIDs, onnx.TensorProto_INT64, onnxBatchDim, onnxSeqDim)
	mask := b.input(onnxAttentionMask, onnx.TensorProto_INT64, onnxBatchDim, onnxSeqDim)
	types := b.input(onnxTokenTypeIDs, onnx.TensorProto_INT64, onnxBatchDim, onnxSeqDim)

	if err := ctx.Err(); err != nil {
		return "", err
	}
	word := b.normal("embeddings.word_embeddings.weight", onnxInitStd, int64(s.VocabSize), hidden)
	pos := b.normal("embeddings.position_embeddings.weight", onnxInitStd, int64(s.MaxPositionEmbeddings), hidden)
	typ := b.normal("embeddings.token_type_embeddings.weight", onnxInitStd, int64(s.TypeVocabSize), hidden)
	// Position embeddings 0..seq-1: slice the table to the input's sequence length.
	seqLen := b.op("Slice", []string{b.op("Shape", []string{ids}), b.int64s(false, 1), b.int64s(false, 2)})
	positions := b.op("Slice", []string{pos, b.int64s(false, 0), seqLen, b.int64s(false, 0)})
	x := b.op("Add", []string{b.op("Gather", []string{word, ids}), positions})
	x = b.op("Add", []string{x, b.op("Gather", []string{typ, types})})
	x = f.layerNorm("embeddings.LayerNorm", x)

	// BERT's extended attention mask, as Hugging Face computes it: attention_mask[:, None, None, :], as
	// float, (1 - m) * -10000, so 0 where attention_mask is 1 and onnxMaskValue where it is 0, shaped
	// [batch, 1, 1, seq] to broadcast over heads and query positions.
	m := b.op("Unsqueeze", []string{mask}, onnxAttrInts("axes", 1))
	m = b.op("Unsqueeze", []string{m}, onnxAttrInts("axes", 2))
	m = b.op("Cast", []string{m}, onnxAttrInt("to", int64(onnx.TensorProto_FLOAT)))
	m = b.op("Sub", []string{b.scalar(1), m})
	m = b.op("Mul", []string{m, b.scalar(onnxMaskValue)})

	for i := 0; i < s.NumHiddenLayers; i++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		x = f.layer(fmt.Sprintf("encoder.layer.%d", i), x, m)
	}
	return x, ctx.Err()
}

// layer adds one post-LN transformer layer.
func (f *onnxBERTBuilder) layer(prefix, x, mask string) string {
	b, s := f.b, f.shape
	heads := int64(s.NumAttentionHeads)
	headDim := int64(s.HiddenSize / s.NumAttentionHeads)

	q := f.linear(prefix+".attention.self.query", x, s.HiddenSize, s.HiddenSize)
	k := f.linear(prefix+".attention.self.key", x, s.HiddenSize, s.HiddenSize)
	v := f.linear(prefix+".attention.self.value", x, s.HiddenSize, s.HiddenSize)
	// [batch, seq, hidden] -> [batch, heads, seq, head_dim]; keys go to [batch, heads, head_dim, seq].
	split := b.int64s(false, 0, 0, heads, headDim)
	q = b.op("Transpose", []string{b.op("Reshape", []string{q, split})}, onnxAttrInts("perm", 0, 2, 1, 3))
	k = b.op("Transpose", []string{b.op("Reshape", []string{k, split})}, onnxAttrInts("perm", 0, 2, 3, 1))
	v = b.op("Transpose", []string{b.op("Reshape", []string{v, split})}, onnxAttrInts("perm", 0, 2, 1, 3))

	scores := b.op("MatMul", []string{q, k})
	scores = b.op("Div", []string{scores, b.scalar(float32(math.Sqrt(float64(headDim))))})
	scores = b.op("Add", []string{scores, mask})
	probs := b.op("Softmax", []string{scores}, onnxAttrInt("axis", 3))
	attended := b.op("MatMul", []string{probs, v})
	attended = b.op("Transpose", []string{attended}, onnxAttrInts("perm", 0, 2, 1, 3))
	attended = b.op("Reshape", []string{attended, b.int64s(false, 0, 0, int64(s.HiddenSize))})

	attn := f.linear(prefix+".attention.output.dense", attended, s.HiddenSize, s.HiddenSize)
	h := f.layerNorm(prefix+".attention.output.LayerNorm", b.op("Add", []string{attn, x}))

	up := f.linear(prefix+".intermediate.dense", h, s.HiddenSize, s.IntermediateSize)
	down := f.linear(prefix+".output.dense", f.gelu(up), s.IntermediateSize, s.HiddenSize)
	return f.layerNorm(prefix+".output.LayerNorm", b.op("Add", []string{down, h}))
}

// classifier adds BERT's pooler (dense + tanh on the first, [CLS], position) and a dense layer to the
// labels, producing the logits output.
func (f *onnxBERTBuilder) classifier(h string) {
	b, s := f.b, f.shape
	cls := b.op("Gather", []string{h, b.int64s(true, 0)}, onnxAttrInt("axis", 1))
	pooled := b.op("Tanh", []string{f.linear("pooler.dense", cls, s.HiddenSize, s.HiddenSize)})
	w := b.normal("classifier.weight", onnxInitStd, int64(s.HiddenSize), int64(len(s.Labels)))
	bias := b.filled("classifier.bias", 0, int64(len(s.Labels)))
	b.node("Add", onnxLogits, []string{b.op("MatMul", []string{pooled, w}), bias})
}

// linear adds x·W + b with W [in, out] drawn at random and b zero.
func (f *onnxBERTBuilder) linear(prefix, x string, in, out int) string {
	w := f.b.normal(prefix+".weight", onnxInitStd, int64(in), int64(out))
	bias := f.b.filled(prefix+".bias", 0, int64(out))
	return f.b.op("Add", []string{f.b.op("MatMul", []string{x, w}), bias})
}

// layerNorm normalises over the hidden dimension with gamma 1 and beta 0, spelled out as torch.onnx
// exports LayerNorm below opset 17: (x - mean) / sqrt(var + eps) * gamma + beta.
func (f *onnxBERTBuilder) layerNorm(prefix, x string) string {
	b := f.b
	hidden := int64(f.shape.HiddenSize)
	gamma := b.filled(prefix+".weight", 1, hidden)
	beta := b.filled(prefix+".bias", 0, hidden)
	mean := b.op("ReduceMean", []string{x}, onnxAttrInts("axes", -1))
	centered := b.op("Sub", []string{x, mean})
	variance := b.op("ReduceMean", []string{b.op("Pow", []string{centered, b.scalar(2)})}, onnxAttrInts("axes", -1))
	std := b.op("Sqrt", []string{b.op("Add", []string{variance, b.scalar(onnxLayerNormEps)})})
	normed := b.op("Div", []string{centered, std})
	return b.op("Add", []string{b.op("Mul", []string{normed, gamma}), beta})
}

// gelu is BERT's exact GELU as torch exports it, x · (1 + erf(x / √2)) · ½.
func (f *onnxBERTBuilder) gelu(x string) string {
	b := f.b
	e := b.op("Erf", []string{b.op("Div", []string{x, b.scalar(float32(math.Sqrt2))})})
	e = b.op("Add", []string{e, b.scalar(1)})
	return b.op("Mul", []string{b.op("Mul", []string{x, e}), b.scalar(0.5)})
}
