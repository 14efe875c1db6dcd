// Package onnx runs ONNX encoder models (sentence embedders, text classifiers, cross-encoder rerankers) in
// the server process through ONNX Runtime (github.com/yalue/onnxruntime_go). A loaded Model holds the
// model's tokenizer (Hugging Face tokenizer.json or WordPiece vocab.txt, read by github.com/sugarme/tokenizer),
// one ONNX Runtime session, and a batcher goroutine that groups the inputs of one request and of
// concurrent requests into batches of similar length, so many short inputs cost a few model calls. What a
// model does and how its output becomes an answer comes from hearth.json, or from config.json and the
// sentence-transformers files when there is none. It knows nothing of HTTP.
package onnx

import (
	"cmp"
	"context"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/onnxspec"
	"github.com/hearthlink/hearth/registry"
)

// What the scheduler and the handlers expect of this package's types.
var (
	_ engine.Backend    = (*Backend)(nil)
	_ engine.Embedder   = (*Model)(nil)
	_ engine.Classifier = (*Model)(nil)
	_ engine.Reranker   = (*Model)(nil)
)

// Backend loads the ONNX models of the store. It implements engine.Backend.
type Backend struct {
	// LibraryPath is libonnxruntime.so, handed to Init before the first load.
	LibraryPath string
	// Options tune every model the backend loads; a LoadConfig's NumThread overrides Options.Threads and
	// its NumCtx caps the tokens per input (Options.MaxLength).
	Options Options
	// TempDir holds each loaded model's folder of links to its blobs ("" for the system's).
	TempDir string
}

// NewBackend returns a Backend that loads ONNX Runtime from libraryPath.
func NewBackend(libraryPath string, opts Options) *Backend {
	return &Backend{LibraryPath: libraryPath, Options: opts}
}

// Name is "onnx".
func (b *Backend) Name() string { return "onnx" }

// Supports reports whether m is an ONNX model.
func (b *Backend) Supports(m *registry.Model) bool { return m.ONNXModel != "" }

// Estimate forecasts a loaded model's memory: the graph and its external weights as stored, and the
// activations of the largest batch the batcher forms (measured on the generated MiniLM: 90 MB of weights
// load as about 145 MB, and a batch of 32 × 256 tokens adds about 320 MB).
func (b *Backend) Estimate(m *registry.Model, cfg engine.LoadConfig) (engine.Estimate, error) {
	f := files(m.ONNXFiles)
	s, err := onnxspec.Read(f)
	if err != nil {
		return engine.Estimate{}, err
	}
	var weights int64
	for name, p := range f {
		if isWeights(name) {
			st, err := os.Stat(p)
			if err != nil {
				return engine.Estimate{}, err
			}
			weights += st.Size()
		}
	}
	hf := s.HF
	tokens := int64(b.Options.MaxBatchTokens)
	if tokens <= 0 {
		tokens = DefaultMaxBatchTokens
	}
	tokens = max(tokens, int64(s.MaxLength))
	// BERT-base's sizes when config.json does not say.
	hidden, inter, heads := int64(cmp.Or(hf.HiddenSize, 768)), int64(cmp.Or(hf.IntermediateSize, 3072)), int64(cmp.Or(hf.NumAttentionHeads, 12))
	// A few hidden-size activations and the feed-forward one per token, plus one layer's attention scores.
	compute := tokens*(8*hidden+2*inter)*4 + heads*tokens*int64(s.MaxLength)*4
	return engine.Estimate{Weights: weights, Compute: compute}, nil
}

// isWeights reports whether a model file holds weights: the graph and its external data, not the small
// tokenizer and config files.
func isWeights(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".json", ".txt", ".model", ".md":
		return false
	}
	return true
}

// Load lays m's blobs out as the folder they came from (links named by their relative paths, so a
// graph's external-data references resolve) and loads the model from it.
func (b *Backend) Load(ctx context.Context, m *registry.Model, cfg engine.LoadConfig) (engine.Runner, error) {
	if err := Init(b.LibraryPath); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(b.TempDir, "hearth-onnx-")
	if err != nil {
		return nil, err
	}
	f := files{}
	for name, blob := range m.ONNXFiles {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Symlink(blob, dst); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		f[name] = dst
	}
	opts := b.Options
	if cfg.NumThread > 0 {
		opts.Threads = cfg.NumThread
	}
	if cfg.NumCtx > 0 {
		opts.MaxLength = cfg.NumCtx
	}
	model, err := load(f, m.ONNXModel, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	model.tmpDir = dir
	return model, nil
}

// defaultThreads is one intra-op thread per CPU the process may use.
func defaultThreads() int { return runtime.GOMAXPROCS(0) }
