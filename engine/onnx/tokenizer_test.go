package onnx

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hearthlink/hearth/engine"
)

func TestTokenizerMatchesBERT(t *testing.T) {
	dir := testModelDir(t, "minilm-onnx")
	f, err := dirFiles(dir)
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
					tc.ids = want.ids
				}
				if !slices.Equal(got.ids, tc.ids) {
					t.Errorf("ids %v, want %v", got.ids, tc.ids)
				}
				if tc.types != nil && !slices.Equal(got.typeIDs, tc.types) {
					t.Errorf("type ids %v, want %v", got.typeIDs, tc.types)
				}
			}
		})
	}
	decomposed, _ := fromJSON.encode("Cafe\u0301", false)
	precomposed, _ := fromJSON.encode("Caf\u00e9", false)
	plain, _ := fromJSON.encode("cafe", false)
	if !slices.Equal(decomposed.ids, plain.ids) || !slices.Equal(precomposed.ids, plain.ids) {
		t.Errorf("café: decomposed %v, precomposed %v, plain %v", decomposed.ids, precomposed.ids, plain.ids)
	}
}

func TestTokenizerTruncation(t *testing.T) {
	f, err := dirFiles(testModelDir(t, "minilm-onnx"))
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
	if len(got.ids) != 8 || got.ids[0] != 101 || got.ids[7] != 102 {
		t.Errorf("truncated to %v, want 8 ids from [CLS] to [SEP]", got.ids)
	}
	// A pair loses tokens from the longer side first: the short query survives whole.
	q := "query"
	pair, err := tk.encodePair(q, &long, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{101, 23032, 102, 2773, 2773, 2773, 2773, 102}
	if !slices.Equal(pair.ids, want) {
		t.Errorf("truncated pair %v, want %v", pair.ids, want)
	}
	exact, err := tk.encode("one two three four five six", false)
	if err != nil || len(exact.ids) != 8 {
		t.Errorf("input of exactly the maximum length: %v, %v", exact.ids, err)
	}
}
