package llama

import (
	"fmt"

	"github.com/ollama/ollama/fs"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/models/bert"
	"github.com/ollama/ollama/model/models/nomicbert"
	"github.com/ollama/ollama/tokenizer"

	"github.com/hearthlink/hearth/engine"
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

// wordPiece is Ollama's tokenizer for one file, with what Ollama's server reads to cut an embedding input
// over the context.
type wordPiece struct {
	tokenizer.Tokenizer
	// The server counts a slot for [CLS] when the input does not start with bos_token_id, and one for the
	// separator when it does not end with eos_token_id, each unless <arch>.add_bos_token or
	// <arch>.add_eos_token is false (keys no converter writes, so both slots are usually counted).
	bos, eos       int32
	addBOS, addEOS bool
}

// ollamaTokenizer returns Ollama's tokenizer for the GGUF file at path, or nil when Ollama tokenizes its
// architecture with llama.cpp too.
func ollamaTokenizer(path, arch string) (*wordPiece, error) {
	newModel, ok := ollamaTokenizers[arch]
	if !ok {
		return nil, nil
	}
	f, err := gguf.DecodeFullHeader(path)
	if err != nil {
		return nil, err
	}
	kv := f.KV()
	m, err := newModel(kv)
	if err != nil {
		return nil, fmt.Errorf("reading the %s tokenizer: %w", arch, err)
	}
	t, ok := m.(tokenizer.Tokenizer)
	if !ok {
		return nil, fmt.Errorf("the %s model has no tokenizer", arch)
	}
	return &wordPiece{Tokenizer: t,
		bos: int32(kv.Uint("tokenizer.ggml.bos_token_id")), eos: int32(kv.Uint("tokenizer.ggml.eos_token_id")),
		addBOS: kv.Bool("add_bos_token", true), addEOS: kv.Bool("add_eos_token", true)}, nil
}

// tokenize turns one embedding input into Ollama's ids. An input over numCtx is refused with
// engine.ErrInputTooLong when truncate is off; otherwise it is cut as Ollama's server cuts it: its ids
// without specials are cut to truncCtx less the slots counted for specials, decoded to text, and that text
// tokenized again with its specials.
func (w *wordPiece) tokenize(text string, numCtx, truncCtx int, truncate bool) ([]int64, error) {
	ids, err := w.Encode(text, true)
	if err != nil {
		return nil, err
	}
	if len(ids) > numCtx {
		if !truncate {
			return nil, engine.ErrInputTooLong
		}
		plain, err := w.Encode(text, false)
		if err != nil {
			return nil, err
		}
		keep := truncCtx
		if w.addBOS && len(plain) > 0 && plain[0] != w.bos {
			keep--
		}
		if w.addEOS && len(plain) > 0 && plain[len(plain)-1] != w.eos {
			keep--
		}
		if keep <= 0 || len(plain) <= keep {
			return nil, engine.ErrTruncatedTooLong
		}
		cut, err := w.Decode(plain[:keep])
		if err != nil {
			return nil, err
		}
		if ids, err = w.Encode(cut, true); err != nil {
			return nil, err
		}
		if len(ids) > numCtx {
			return nil, engine.ErrTruncatedTooLong
		}
	}
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out, nil
}
