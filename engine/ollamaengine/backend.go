// Package ollamaengine runs GGUF models in the server process on Ollama's own Go engine: the architectures
// of github.com/ollama/ollama/model/models over ml/backend/ggml (the same vendored ggml engine/llama links),
// with its kvcache, tokenizers and sampler. It exists for the architectures llama.cpp cannot load (olmo3,
// gptoss, qwen35, lfm2, nemotron_h, glm4moelite, gemma3 with its vision tower, ...), which Ollama never
// hands to llama.cpp either. Each loaded model has one decode loop goroutine that puts every active
// sequence into each forward pass, as engine/llama does; a model with a vision tower reads the prompt's
// images there too (images.go). It knows nothing of HTTP.
package ollamaengine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/gguf"
	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/registry"
)

// Backend loads GGUF models into Ollama's Go engine. It implements engine.Backend.
type Backend struct {
	// LibraryPath is where the ggml CPU backends are loaded from ("" uses OLLAMA_LIBRARY_PATH or the release
	// layout); the same as engine/llama's, since both engines share one ggml.
	LibraryPath string
	// All makes Supports take every generative architecture Ollama runs in its Go engine, the ones llama.cpp
	// also runs included (qwen3, gemma3 text, ...); without it those stay with llama.cpp (see Runs).
	All bool
	// Prober, when set, tries the first load of each model file in a child process (llama.ProcessProber with
	// this package's ProbeLoad): the Go engine builds its graphs on ggml, whose GGML_ASSERTs abort the
	// process that loads a malformed file, so such a file fails its request instead of the server.
	Prober llama.Prober
}

// EngineName is this engine's name in probe requests and their verdicts.
const EngineName = "ollamaengine"

// ProbeLoad loads m as Backend.Load does and closes it: a probe child's side (llama.ProbeMain's loader for
// EngineName). Its error is the engine's reason alone: the probe's verdict names the engine.
func ProbeLoad(ctx context.Context, libraryPath string, m *registry.Model, cfg engine.LoadConfig) error {
	r, err := (&Backend{LibraryPath: libraryPath}).load(ctx, m, cfg)
	if err != nil {
		return err
	}
	return r.Close()
}

// loadError is a model the engine could not load, with its reason.
type loadError struct{ err error }

func (e *loadError) Error() string {
	return "Ollama's Go engine could not load the model: " + e.err.Error()
}
func (e *loadError) Unwrap() error { return e.err }

// probeRequest is the probe of m loaded with cfg.
func probeRequest(m *registry.Model, cfg engine.LoadConfig) llama.ProbeRequest {
	return llama.ProbeRequest{Engine: EngineName, ModelPath: m.ModelPath, AdapterPaths: m.AdapterPaths, Config: cfg}
}

// NewBackend returns a Backend that loads the ggml CPU backends from libraryPath.
func NewBackend(libraryPath string) *Backend { return &Backend{LibraryPath: libraryPath} }

// Name is "ollamaengine".
func (b *Backend) Name() string { return "ollamaengine" }

// Supports reports whether m is a GGUF this engine should run (Runs).
func (b *Backend) Supports(m *registry.Model) bool {
	if m.ModelPath == "" {
		return false
	}
	f, _, err := gguf.DecodeHeader(m.ModelPath)
	if err != nil {
		return false
	}
	if b.All {
		return goEngineGenerates(f.KV())
	}
	return Runs(f)
}

// llamaCppRuns are the Go-engine architectures hearth's llama.cpp also loads and runs correctly (issue 14's
// table). Which engine is faster for them is measured, not assumed; until then they stay with llama.cpp.
// Not mistral3: on the files Ollama's converter writes, llama.cpp scales YaRN's attention by YaRN's default
// factor (1 + 0.1 ln factor, 1.28 for Ministral 3) where Ollama's engine, like Hugging Face for a config with
// mscale = mscale_all_dim, applies none: the converter writes rope.scaling.mscale and mscale_all_dim,
// llama.cpp reads only rope.scaling.yarn_log_multiplier. Its tokens differ from Ollama's
// (compat_test's TestGoEngineAgainstOllama), and a Ministral 3 whose rope_type is "default" aborts it
// (rope_scaling_type_train unspecified).
// Not gemma3n: its vocabulary is SentencePiece, which llama.cpp reads otherwise than Ollama on the files
// Ollama's converter writes (spacePrefixDiffers).
var llamaCppRuns = []string{"qwen3", "qwen3moe", "gemma3", "deepseek2", "llama4"}

// encoders are the Go-engine architectures that embed rather than generate: engine/llama runs them.
var encoders = []string{"bert", "nomic-bert"}

// Runs is the engine choice for a GGUF: true when Ollama runs its architecture in the Go engine
// (ggml.KV.OllamaEngineRequired) and llama.cpp cannot — an architecture llama.cpp does not know (olmo3,
// gptoss, qwen35, mistral3, gemma3n, ...), or one whose file carries a vision tower llama.cpp's loader rejects
// (gemma3 or llama4 with v.* tensors), or whose SentencePiece vocabulary llama.cpp would read otherwise
// (spacePrefixDiffers: a gemma3 from a real Gemma 3 folder). Embedding architectures stay with llama.cpp.
func Runs(f *ggml.GGML) bool {
	kv := f.KV()
	if !goEngineGenerates(kv) {
		return false
	}
	if !slices.Contains(llamaCppRuns, kv.Architecture()) {
		return true
	}
	return hasVisionTower(f) || spacePrefixDiffers(kv)
}

// spacePrefixDiffers reports whether llama.cpp would tokenize kv's SentencePiece vocabulary otherwise than
// Ollama's engine: without a tokenizer.ggml.add_space_prefix key (which Ollama's converter never writes)
// llama.cpp prefixes the text, and every piece of text after a special token, with a space ("▁"); Ollama's
// SentencePiece tokenizer, like Gemma's own, adds none. A prompt then turns into other tokens.
func spacePrefixDiffers(kv ggml.KV) bool {
	_, set := kv["tokenizer.ggml.add_space_prefix"]
	return kv.String("tokenizer.ggml.model") == "llama" && !set
}

// goEngineGenerates reports whether Ollama runs kv's architecture in its Go engine and it generates text.
func goEngineGenerates(kv ggml.KV) bool {
	return kv.OllamaEngineRequired() && !slices.Contains(encoders, kv.Architecture())
}

// hasVisionTower reports whether the file holds vision encoder or projector tensors next to the text model.
func hasVisionTower(f *ggml.GGML) bool {
	for _, t := range f.Tensors().Items() {
		if strings.HasPrefix(t.Name, "v.") || strings.HasPrefix(t.Name, "mm.") {
			return true
		}
	}
	return false
}

// Estimate forecasts the memory of m loaded with cfg: the weights as stored (the Go engine reads them into
// memory, no mmap), and ggml's estimate of the KV cache and compute graph, which knows the common layouts;
// zeros where it does not.
func (b *Backend) Estimate(m *registry.Model, cfg engine.LoadConfig) (engine.Estimate, error) {
	if b.Prober != nil { // a file known not to load fails here, before the scheduler makes room for it
		if known, err := b.Prober.Verdict(probeRequest(m, cfg)); known && err != nil {
			return engine.Estimate{}, err
		}
	}
	f, size, err := gguf.DecodeHeader(m.ModelPath)
	if err != nil {
		return engine.Estimate{}, err
	}
	numCtx := gguf.ClampContext(cfg.NumCtx, f.KV())
	kv, compute := gguf.EstimateGraph(f, numCtx, cfg)
	return engine.Estimate{Weights: size, KV: kv, Compute: compute}, nil
}

// Load loads m's weights into the Go engine and starts its decode loop, after a trial load in a child when
// there is a Prober.
func (b *Backend) Load(ctx context.Context, m *registry.Model, cfg engine.LoadConfig) (engine.Runner, error) {
	if b.Prober != nil {
		if err := b.Prober.Probe(ctx, probeRequest(m, cfg)); err != nil {
			return nil, err
		}
	}
	r, err := b.load(ctx, m, cfg)
	if err != nil {
		return nil, &loadError{err}
	}
	return r, nil
}

// load opens m in the engine.
func (b *Backend) load(ctx context.Context, m *registry.Model, cfg engine.LoadConfig) (*Runner, error) {
	llama.Init(b.LibraryPath) // loads ggml's CPU backends from the configured folder before the Go engine does
	f, _, err := gguf.DecodeHeader(m.ModelPath)
	if err != nil {
		return nil, err
	}
	if len(m.AdapterPaths) > 0 {
		return nil, fmt.Errorf("LoRA adapters are not supported for %s models (Ollama's engine has none either)", f.KV().Architecture())
	}
	cfg.NumCtx = gguf.ClampContext(cfg.NumCtx, f.KV())
	return Open(ctx, m.ModelPath, cfg)
}
