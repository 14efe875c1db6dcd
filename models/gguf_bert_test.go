package models

import (
	"math"
	"slices"
	"testing"

	"github.com/ollama/ollama/llama"

	"github.com/hearthlink/hearth/internal/llamaext"
)

func TestBertEmbedTokenizesLikeBertBaseUncased(t *testing.T) {
	m, _ := loadModel(t, "bert-embed")
	for text, want := range map[string][]int{
		"hello world":        {101, 7592, 2088, 102},
		"Hello, World!":      {101, 7592, 1010, 2088, 999, 102},
		"tokenization works": {101, 19204, 3989, 2573, 102},
	} {
		got, err := m.Tokenize(text, true, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Tokenize(%q) = %v, want bert-base-uncased's %v", text, got, want)
		}
	}
}

// decodeSequences puts each token list in one batch as its own sequence and decodes it.
func decodeSequences(t *testing.T, m *llama.Model, seqs ...[]int) *llama.Context {
	t.Helper()
	lctx := newContext(t, m, 512*len(seqs), 512, len(seqs), 1)
	batch, err := llama.NewBatch(512, len(seqs), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Free()
	for s, tokens := range seqs {
		for i, tok := range tokens {
			batch.Add(tok, nil, i, true, s)
		}
	}
	if err := lctx.Decode(batch); err != nil {
		t.Fatal(err)
	}
	return lctx
}

func tokenize(t *testing.T, m *llama.Model, text string) []int {
	t.Helper()
	tokens, err := m.Tokenize(text, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

func TestBertEmbedPoolsEachSequence(t *testing.T) {
	m, _ := loadModel(t, "bert-embed")
	if m.NEmbd() != 384 {
		t.Fatalf("n_embd %d, want 384", m.NEmbd())
	}
	lctx := decodeSequences(t, m, tokenize(t, m, "hello world"), tokenize(t, m, "the quick brown fox jumps over the lazy dog"))
	var vecs [][]float32
	for s := range 2 {
		v := lctx.GetEmbeddingsSeq(s)
		if len(v) != m.NEmbd() {
			t.Fatalf("sequence %d: embedding of length %d, want %d", s, len(v), m.NEmbd())
		}
		var norm float64
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("sequence %d: embedding holds %v", s, x)
			}
			norm += float64(x) * float64(x)
		}
		if norm == 0 {
			t.Fatalf("sequence %d: zero embedding", s)
		}
		vecs = append(vecs, v)
	}
	if slices.Equal(vecs[0], vecs[1]) {
		t.Error("two different sentences have the same embedding")
	}
}

func TestBertRerankScoresEachPair(t *testing.T) {
	m, _ := loadModel(t, "bert-rerank")
	// A cross-encoder reads [CLS] query [SEP] document [SEP].
	pair := func(query, doc string) []int {
		return append(tokenize(t, m, query), tokenize(t, m, doc)[1:]...)
	}
	lctx := decodeSequences(t, m,
		pair("what is a llama", "The llama is a domesticated South American camelid."),
		pair("what is a llama", "Paris is the capital of France."),
	)
	var scores []float32
	for s := range 2 {
		got := llamaext.EmbeddingsSeq(lctx, s, llamaext.ClsOutputs(m))
		if len(got) != 1 {
			t.Fatalf("sequence %d: %d scores, want 1", s, len(got))
		}
		if math.IsNaN(float64(got[0])) || math.IsInf(float64(got[0]), 0) {
			t.Fatalf("sequence %d: score %v", s, got[0])
		}
		scores = append(scores, got[0])
	}
	t.Logf("scores %v", scores)
	if scores[0] == scores[1] {
		t.Errorf("two different documents score the same: %v", scores)
	}
}
