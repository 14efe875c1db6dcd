package llama

import (
	"fmt"

	"github.com/ollama/ollama/fs"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/models/bert"
	"github.com/ollama/ollama/model/models/nomicbert"
	"github.com/ollama/ollama/tokenizer"

	"github.com/hearthlink/hearth/engine/gguf"
)

// ollamaTokenizers are the encoder architectures Ollama 0.17.4 runs in its own Go engine rather than
// llama.cpp, each with the constructor that reads its tokenizer from the file's keys. Ollama's WordPiece
// differs from llama.cpp's: it reads add_bos_token and add_eos_token (both true when absent) and not
// add_sep_token, and nomic-bert does not lowercase, so llama.cpp's ids for the same file and text are not
// Ollama's. hearth runs these models in llama.cpp but tokenizes them as Ollama does.
var ollamaTokenizers = map[string]func(fs.Config) (model.Model, error){
	"bert":       bert.New,
	"nomic-bert": nomicbert.New,
}

// ollamaTokenizer returns Ollama's tokenizer for the GGUF file at path, or nil when Ollama tokenizes its
// architecture with llama.cpp too.
func ollamaTokenizer(path, arch string) (tokenizer.Tokenizer, error) {
	newModel, ok := ollamaTokenizers[arch]
	if !ok {
		return nil, nil
	}
	f, err := gguf.DecodeFullHeader(path)
	if err != nil {
		return nil, err
	}
	m, err := newModel(f.KV())
	if err != nil {
		return nil, fmt.Errorf("reading the %s tokenizer: %w", arch, err)
	}
	t, ok := m.(tokenizer.Tokenizer)
	if !ok {
		return nil, fmt.Errorf("the %s model has no tokenizer", arch)
	}
	return t, nil
}
