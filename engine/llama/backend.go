package llama

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/hearthlink/hearth/engine"
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

// Estimate forecasts the memory of m loaded with cfg: the weights as stored, the KV cache for
// cfg.Parallel sequences of cfg.NumCtx tokens, and ggml's compute graph estimate.
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
	numCtx := clampContext(cfg.NumCtx, f.KV())
	fa := ml.FlashAttentionDisabled
	if cfg.FlashAttention {
		fa = ml.FlashAttentionEnabled
	}
	kv, _, compute := estimateGraph(f, numCtx, cfg, fa)
	var kvTotal uint64
	for _, l := range kv {
		kvTotal += l
	}
	return engine.Estimate{Weights: size, KV: int64(kvTotal), Compute: int64(compute)}, nil
}

// estimateGraph calls ggml's estimate, which panics on some malformed metadata; a panic becomes zeros.
func estimateGraph(f *ggml.GGML, numCtx int, cfg engine.LoadConfig, fa ml.FlashAttentionType) (kv []uint64, partial, full uint64) {
	defer func() {
		if recover() != nil {
			kv, partial, full = nil, 0, 0
		}
	}()
	return f.GraphSize(uint64(numCtx), uint64(max(cfg.NumBatch, 1)), max(cfg.Parallel, 1), cfg.KVCacheType, fa)
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
	if cfg.NumThread <= 0 {
		cfg.NumThread = runtime.NumCPU()
	}
	if b.Prober != nil {
		if err := b.Prober.Probe(ctx, ProbeRequest{ModelPath: m.ModelPath, AdapterPaths: m.AdapterPaths, Config: cfg}); err != nil {
			return nil, err
		}
	}
	if IsEncoder(f.KV()) { // embedding and reranking models: see embed.go, which sizes its own context
		return OpenEncoder(m.ModelPath, cfg)
	}
	cfg.NumCtx = clampContext(cfg.NumCtx, f.KV())
	return Open(m.ModelPath, m.AdapterPaths, cfg)
}

// decodeHeader checks and decodes a GGUF file's header, returning it with the file's size. A file of an
// architecture llama.cpp does not know is an *UnsupportedArchitectureError.
func decodeHeader(path string) (f *ggml.GGML, size int64, err error) {
	if err := checkGGUF(path); err != nil {
		return nil, 0, err
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("invalid GGUF file: %v", r)
		}
	}()
	f, err = ggml.Decode(file, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("invalid GGUF file: %w", err)
	}
	if err := checkArchitecture(f.KV()); err != nil {
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// clampContext limits a requested context length to what the model was trained for, with Ollama's floor
// of 4 tokens.
func clampContext(numCtx int, kv ggml.KV) int {
	if train := int(kv.ContextLength()); train > 0 && numCtx > train {
		numCtx = train
	}
	return max(numCtx, 4)
}
