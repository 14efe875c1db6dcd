package models

import (
	"fmt"

	"github.com/ollama/ollama/fs/ggml"
)

// GGUF token types (tokenizer.ggml.token_type), llama.cpp's llama_token_type.
const (
	tokenNormal  int32 = 1
	tokenUnknown int32 = 2
	tokenControl int32 = 3
	tokenByte    int32 = 6
)

// noToken marks a special token a vocabulary does not have.
const noToken = -1

// ggufVocab is a tokenizer as GGUF stores it under tokenizer.ggml.*: one entry per token id in tokens,
// scores (SentencePiece only) and types, merges for byte-level BPE, and the ids of the special tokens.
type ggufVocab struct {
	model  string // tokenizer.ggml.model: "llama", "gpt2" or "bert"
	pre    string // tokenizer.ggml.pre, the pre-tokenizer of a BPE vocabulary
	tokens []string
	scores []float32
	types  []int32
	merges []string

	bos, eos, unk, sep, pad, mask int32 // noToken where absent
	addBOS, addEOS                bool
}

// add appends a token of type typ with score 0 and returns its id.
func (v *ggufVocab) add(text string, typ int32) int32 {
	v.tokens = append(v.tokens, text)
	v.types = append(v.types, typ)
	if v.scores != nil {
		v.scores = append(v.scores, 0)
	}
	return int32(len(v.tokens) - 1)
}

// addChatML appends <|im_start|> and <|im_end|> as control tokens, which is how ChatML fine-tunes extend
// a base vocabulary; llama.cpp then parses them as single tokens and treats <|im_end|> as end of turn.
func (v *ggufVocab) addChatML() {
	v.add("<|im_start|>", tokenControl)
	v.add("<|im_end|>", tokenControl)
}

// id returns the id of text, or noToken.
func (v *ggufVocab) id(text string) int32 {
	for i, t := range v.tokens {
		if t == text {
			return int32(i)
		}
	}
	return noToken
}

// setKV writes the vocabulary's tokenizer.ggml.* keys into kv.
func (v *ggufVocab) setKV(kv ggml.KV) error {
	if len(v.types) != len(v.tokens) || (v.scores != nil && len(v.scores) != len(v.tokens)) {
		return fmt.Errorf("vocabulary has %d tokens but %d types and %d scores", len(v.tokens), len(v.types), len(v.scores))
	}
	kv["tokenizer.ggml.model"] = v.model
	if v.pre != "" {
		kv["tokenizer.ggml.pre"] = v.pre
	}
	kv["tokenizer.ggml.tokens"] = v.tokens
	kv["tokenizer.ggml.token_type"] = v.types
	if v.scores != nil {
		kv["tokenizer.ggml.scores"] = v.scores
	}
	if v.merges != nil {
		kv["tokenizer.ggml.merges"] = v.merges
	}
	for key, id := range map[string]int32{
		"tokenizer.ggml.bos_token_id":       v.bos,
		"tokenizer.ggml.eos_token_id":       v.eos,
		"tokenizer.ggml.unknown_token_id":   v.unk,
		"tokenizer.ggml.seperator_token_id": v.sep, // sic: llama.cpp's spelling
		"tokenizer.ggml.padding_token_id":   v.pad,
		"tokenizer.ggml.mask_token_id":      v.mask,
	} {
		if id == noToken {
			continue
		}
		if int(id) >= len(v.tokens) {
			return fmt.Errorf("%s %d is past the vocabulary's %d tokens", key, id, len(v.tokens))
		}
		kv[key] = uint32(id)
	}
	kv["tokenizer.ggml.add_bos_token"] = v.addBOS
	kv["tokenizer.ggml.add_eos_token"] = v.addEOS
	return nil
}
