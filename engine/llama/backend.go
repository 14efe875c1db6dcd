package llama

import (
	"context"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/gguf"
	"github.com/hearthlink/hearth/registry"
)

// Backend runs GGUF models with llama.cpp in the server process. It implements engine.Backend.
type Backend struct {
	// LibraryPath is handed to Init before the first load ("" uses OLLAMA_LIBRARY_PATH or the release
	// layout).
	LibraryPath string
	// Prober, when set, tries the first load of each model file outside the server process (see
	// ProcessProber), so a file that crashes llama.cpp fails its request instead of the server. nil loads
	// directly, as tests of this package do.
	Prober Prober
}

// NewBackend returns a Backend that loads the ggml CPU backends from libraryPath (see Init).
func NewBackend(libraryPath string) *Backend { return &Backend{LibraryPath: libraryPath} }

// Name is "llama".
func (b *Backend) Name() string { return "llama" }

// Supports reports whether m has GGUF weights.
func (b *Backend) Supports(m *registry.Model) bool { return m.ModelPath != "" }

// Estimate forecasts the memory of m loaded with cfg: the weights as stored, the KV pool of cfg.NumCtx
// cells that the cfg.Parallel sequences share (or cfg.NumCtx each, see kvlayout.go), and ggml's compute
// graph estimate.
func (b *Backend) Estimate(m *registry.Model, cfg engine.LoadConfig) (engine.Estimate, error) {
	f, size, err := decodeHeader(m.ModelPath)
	if err != nil {
		return engine.Estimate{}, err
	}
	if b.Prober != nil { // a file known not to load fails here, before the scheduler makes room for it
		if known, err := b.Prober.Verdict(ProbeRequest{ModelPath: m.ModelPath, AdapterPaths: m.AdapterPaths, Config: cfg}); known && err != nil {
			return engine.Estimate{}, err
		}
	}
	numCtx := gguf.ClampContext(cfg.NumCtx, f.KV())
	pool := cfg
	if unifiedKV(cfg) { // the slots share one KV pool of numCtx cells, which ggml estimates as one sequence's
		pool.Parallel = 1
	}
	kv, compute := gguf.EstimateGraph(f, numCtx, pool)
	return engine.Estimate{Weights: size, KV: kv, Compute: compute}, nil
}

// Load loads m's weights and creates its context and decode loop.
func (b *Backend) Load(ctx context.Context, m *registry.Model, cfg engine.LoadConfig) (engine.Runner, error) {
	Init(b.LibraryPath)
	f, _, err := decodeHeader(m.ModelPath)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.Prober != nil {
		if err := b.Prober.Probe(ctx, ProbeRequest{ModelPath: m.ModelPath, AdapterPaths: m.AdapterPaths, Config: cfg}); err != nil {
			return nil, err
		}
	}
	if IsEncoder(f.KV()) { // embedding and reranking models: see embed.go, which sizes its own context
		return OpenEncoder(m.ModelPath, cfg)
	}
	cfg.NumCtx = gguf.ClampContext(cfg.NumCtx, f.KV())
	return Open(m.ModelPath, m.AdapterPaths, cfg)
}

// decodeHeader checks and decodes a GGUF file's header, returning it with the file's size. A file of an
// architecture llama.cpp does not know is an *UnsupportedArchitectureError.
func decodeHeader(path string) (f *ggml.GGML, size int64, err error) {
	if err := checkGGUF(path); err != nil {
		return nil, 0, err
	}
	if f, size, err = gguf.DecodeHeader(path); err != nil {
		return nil, 0, err
	}
	if err := checkArchitecture(f.KV()); err != nil {
		return nil, 0, err
	}
	return f, size, nil
}
