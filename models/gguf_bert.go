package models

import (
	"context"
	"fmt"
	"strings"

	"github.com/ollama/ollama/fs/ggml"
)

// llama.cpp's pooling types (<arch>.pooling_type).
const (
	poolingMean uint32 = 1
	poolingRank uint32 = 4
)

// bertModel is a GGUF model of llama.cpp's "bert" architecture (post-norm encoder with learned position
// and token-type embeddings, as in MiniLM and BGE) with seeded random weights and bert-base-uncased's
// WordPiece vocabulary. With RANK pooling it also carries the classification head of a cross-encoder
// reranker: a dense layer with tanh on the [CLS] state, then a projection to one relevance score.
type bertModel struct {
	name        string
	description string
	embd        int
	layers      int
	ffn         int
	heads       int
	ctxLen      int
	pooling     uint32
}

// bertTokenTypes is BERT's number of segment ids: sentence A and sentence B.
const bertTokenTypes = 2

// bertGGUFVocab returns bert-base-uncased's vocabulary the way llama.cpp's converter stores a WordPiece
// vocabulary: word starts carry the phantom-space prefix "▁" and continuations drop "##" (the reverse of
// BertWordPieceVocab), the five [..] specials are control tokens.
func bertGGUFVocab() (*ggufVocab, error) {
	words, err := BertWordPieceVocab()
	if err != nil {
		return nil, err
	}
	v := &ggufVocab{
		model:  "bert",
		tokens: make([]string, len(words)),
		types:  make([]int32, len(words)),
		addBOS: true,
	}
	for i, w := range words {
		v.types[i] = tokenNormal
		switch {
		case strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]"):
			v.tokens[i] = w
		case strings.HasPrefix(w, "##"):
			v.tokens[i] = strings.TrimPrefix(w, "##")
		default:
			v.tokens[i] = wordStart + w
		}
	}
	v.pad, v.unk, v.bos, v.sep, v.mask = v.id("[PAD]"), v.id("[UNK]"), v.id("[CLS]"), v.id("[SEP]"), v.id("[MASK]")
	v.eos = noToken
	for _, id := range []int32{v.pad, v.unk, v.bos, v.sep, v.mask} {
		v.types[id] = tokenControl
	}
	return v, nil
}

// tensors lists the model's tensors under llama.cpp's bert names, with their GGUF shapes.
func (m bertModel) tensors(nVocab int) []ggufTensor {
	embd, ffn := uint64(m.embd), uint64(m.ffn)
	matrix := func(name string, shape ...uint64) ggufTensor {
		return ggufTensor{name: name, typ: ggml.TensorTypeQ8_0, shape: shape, init: normalInit(weightStd)}
	}
	vector := func(name string, n uint64, v float32) ggufTensor {
		return ggufTensor{name: name, typ: ggml.TensorTypeF32, shape: []uint64{n}, init: constInit(v)}
	}
	// Small tables stay F32, as converters leave them.
	table := func(name string, rows uint64) ggufTensor {
		return ggufTensor{name: name, typ: ggml.TensorTypeF32, shape: []uint64{embd, rows}, init: normalInit(weightStd)}
	}
	ts := []ggufTensor{
		matrix("token_embd.weight", embd, uint64(nVocab)),
		table("token_types.weight", bertTokenTypes),
		table("position_embd.weight", uint64(m.ctxLen)),
		vector("token_embd_norm.weight", embd, 1),
		vector("token_embd_norm.bias", embd, 0),
	}
	for i := range m.layers {
		blk := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		for _, p := range []string{"attn_q", "attn_k", "attn_v", "attn_output"} {
			ts = append(ts, matrix(blk(p+".weight"), embd, embd), vector(blk(p+".bias"), embd, 0))
		}
		ts = append(ts,
			vector(blk("attn_output_norm.weight"), embd, 1),
			vector(blk("attn_output_norm.bias"), embd, 0),
			matrix(blk("ffn_up.weight"), embd, ffn),
			vector(blk("ffn_up.bias"), ffn, 0),
			matrix(blk("ffn_down.weight"), ffn, embd),
			vector(blk("ffn_down.bias"), embd, 0),
			vector(blk("layer_output_norm.weight"), embd, 1),
			vector(blk("layer_output_norm.bias"), embd, 0),
		)
	}
	if m.pooling == poolingRank {
		// The head llama.cpp applies under RANK pooling (llm_graph_context::build_pooling): cls, tanh, then
		// cls.output to n_cls_out = 1 score.
		ts = append(ts,
			matrix("cls.weight", embd, embd),
			vector("cls.bias", embd, 0),
			table("cls.output.weight", 1),
			vector("cls.output.bias", 1, 0),
		)
	}
	return ts
}

// write generates the model with seed and writes it to dst.
func (m bertModel) write(ctx context.Context, dst string, seed int64) error {
	if m.embd%m.heads != 0 {
		return fmt.Errorf("%s: %d heads do not split %d dimensions", m.name, m.heads, m.embd)
	}
	vocab, err := bertGGUFVocab()
	if err != nil {
		return err
	}
	ts := m.tensors(len(vocab.tokens))
	kv := ggml.KV{
		"general.architecture":         "bert",
		"general.type":                 "model",
		"general.name":                 m.name,
		"general.description":          m.description,
		"general.file_type":            uint32(ggml.FileTypeQ8_0),
		"general.quantization_version": uint32(2),
		"general.parameter_count":      parameterCount(ts),

		"bert.context_length":               uint32(m.ctxLen),
		"bert.embedding_length":             uint32(m.embd),
		"bert.block_count":                  uint32(m.layers),
		"bert.feed_forward_length":          uint32(m.ffn),
		"bert.attention.head_count":         uint32(m.heads),
		"bert.attention.layer_norm_epsilon": float32(1e-12),
		"bert.attention.causal":             false,
		"bert.pooling_type":                 m.pooling,
		"tokenizer.ggml.token_type_count":   uint32(bertTokenTypes),
		"tokenizer.ggml.add_sep_token":      true,
	}
	if m.pooling == poolingRank {
		kv["bert.classifier.output_labels"] = []string{"score"}
	}
	if err := vocab.setKV(kv); err != nil {
		return err
	}
	return writeGGUF(ctx, dst, kv, ts, seed)
}

// bertEmbed is the default embedding model: all-MiniLM's width (384), so embeddings have the length
// clients of Ollama's all-minilm expect, but only two layers.
var bertEmbed = bertModel{
	name:        "bert-embed",
	description: "BERT embedding test model: bert-base-uncased WordPiece vocabulary, mean pooling, random weights",
	embd:        384,
	layers:      2,
	ffn:         1536,
	heads:       12,
	ctxLen:      512,
	pooling:     poolingMean,
}

// bertRerank is bertEmbed's encoder with a cross-encoder head and RANK pooling: one relevance score per
// (query, document) sequence, as served by reranker models such as bge-reranker.
var bertRerank = func() bertModel {
	m := bertEmbed
	m.name = "bert-rerank"
	m.description = "BERT reranker test model: bert-base-uncased WordPiece vocabulary, rank pooling with a classification head, random weights"
	m.pooling = poolingRank
	return m
}()

func init() {
	registerGGUF(Recipe{
		Name:        "bert-embed",
		Description: "bert, 2 layers, 384 dims, bert-base-uncased WordPiece, mean pooling, Q8_0 (random weights)",
		Version:     1,
		Seed:        4,
		Default:     true,
	}, bertEmbed)
	registerGGUF(Recipe{
		Name:        "bert-rerank",
		Description: "bert, 2 layers, 384 dims, bert-base-uncased WordPiece, rank pooling + classifier head, Q8_0 (random weights)",
		Version:     1,
		Seed:        5,
		Default:     true,
	}, bertRerank)
}
