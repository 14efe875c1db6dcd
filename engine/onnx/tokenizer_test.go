package onnx

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/onnxspec"
)

func TestTokenizerMatchesBERT(t *testing.T) {
	dir := testModelDir(t, "minilm-onnx")
	f, err := onnxspec.DirFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := loadTokenizer(f, 16)
	if err != nil {
		t.Fatal(err)
	}
	delete(f, "tokenizer.json")
	fromVocab, err := loadTokenizer(f, 16)
	if err != nil {
		t.Fatal(err)
	}
	doc := "a document"
	for _, tc := range []struct {
		name, text string
		second     *string
		ids, types []int64
	}{
		// bert-base-uncased's own ids.
		{name: "words", text: "hello world", ids: []int64{101, 7592, 2088, 102}, types: []int64{0, 0, 0, 0}},
		{name: "case and punctuation", text: "Hello, World!", ids: []int64{101, 7592, 1010, 2088, 999, 102}},
		// Precomposed accents are stripped like decomposed ones.
		{name: "accents", text: "Café ﬁancé", ids: nil},
		{name: "pair", text: "hello", second: &doc, ids: []int64{101, 7592, 102, 1037, 6254, 102}, types: []int64{0, 0, 0, 1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, tk := range []*tokenizer{fromJSON, fromVocab} {
				got, err := tk.encodePair(tc.text, tc.second, false)
				if err != nil {
					t.Fatal(err)
				}
				if tc.ids == nil {
					want, err := tk.encode(strings.ReplaceAll(strings.ToLower(tc.text), "é", "e"), false)
					if err != nil {
						t.Fatal(err)
					}
					tc.ids = want.IDs
				}
				if !slices.Equal(got.IDs, tc.ids) {
					t.Errorf("ids %v, want %v", got.IDs, tc.ids)
				}
				if tc.types != nil && !slices.Equal(got.TypeIDs, tc.types) {
					t.Errorf("type ids %v, want %v", got.TypeIDs, tc.types)
				}
			}
		})
	}
	decomposed, _ := fromJSON.encode("Cafe\u0301", false)
	precomposed, _ := fromJSON.encode("Caf\u00e9", false)
	plain, _ := fromJSON.encode("cafe", false)
	if !slices.Equal(decomposed.IDs, plain.IDs) || !slices.Equal(precomposed.IDs, plain.IDs) {
		t.Errorf("café: decomposed %v, precomposed %v, plain %v", decomposed.IDs, precomposed.IDs, plain.IDs)
	}
}

func TestTokenizerTruncation(t *testing.T) {
	f, err := onnxspec.DirFiles(testModelDir(t, "minilm-onnx"))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := loadTokenizer(f, 8)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("word ", 20)
	if _, err := tk.encode(long, false); !errors.Is(err, engine.ErrInputTooLong) || !errors.Is(err, engine.ErrBadRequest) {
		t.Errorf("too long without truncation: %v, want ErrInputTooLong", err)
	}
	got, err := tk.encode(long, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.IDs) != 8 || got.IDs[0] != 101 || got.IDs[7] != 102 {
		t.Errorf("truncated to %v, want 8 ids from [CLS] to [SEP]", got.IDs)
	}
	// A pair loses tokens from the longer side first: the short query survives whole.
	q := "query"
	pair, err := tk.encodePair(q, &long, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{101, 23032, 102, 2773, 2773, 2773, 2773, 102}
	if !slices.Equal(pair.IDs, want) {
		t.Errorf("truncated pair %v, want %v", pair.IDs, want)
	}
	exact, err := tk.encode("one two three four five six", false)
	if err != nil || len(exact.IDs) != 8 {
		t.Errorf("input of exactly the maximum length: %v, %v", exact.IDs, err)
	}
}

func TestTokenizerLongInputPrefix(t *testing.T) {
	f, err := onnxspec.DirFiles(testModelDir(t, "minilm-onnx"))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := loadTokenizer(f, 256)
	if err != nil {
		t.Fatal(err)
	}
	// 200,000 words: only a prefix is tokenized, and the result is the full text's first tokens.
	huge := strings.Repeat("the quick brown fox jumps ", 40000)
	start := time.Now()
	got, err := tk.encode(huge, true)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	want, err := tk.encode(huge[:3000], true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.IDs) != 256 || !slices.Equal(got.IDs, want.IDs) {
		t.Errorf("huge input: %d ids, want the 256 of its start", len(got.IDs))
	}
	if _, err := tk.encode(huge, false); !errors.Is(err, engine.ErrInputTooLong) {
		t.Errorf("huge input without truncation: %v", err)
	}
	// Whitespace-light text falls back to tokenizing everything.
	dense := strings.Repeat("x", 20000) + " end"
	if e, err := tk.encode(dense, true); err != nil || len(e.IDs) == 0 {
		t.Errorf("dense input: %v", err)
	}
	t.Logf("a %d-byte input tokenized in %v", len(huge), elapsed)
}
