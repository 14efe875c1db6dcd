package ollamaengine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/registry"
)

// TestSupportsChoosesTheEngine pins the engine choice: architectures llama.cpp cannot run come here, the
// ones both run stay with llama.cpp unless their file carries a vision tower (or All is set), and
// embedding models and plain llama never come here.
func TestSupportsChoosesTheEngine(t *testing.T) {
	for _, tc := range []struct {
		arch    string
		tensors []string
		want    bool
		wantAll bool
	}{
		{"olmo3", []string{"token_embd.weight"}, true, true},
		{"gptoss", []string{"token_embd.weight"}, true, true},
		{"qwen35", []string{"token_embd.weight"}, true, true},
		{"lfm2", []string{"token_embd.weight"}, true, true},
		{"nemotron_h", []string{"token_embd.weight"}, true, true},
		{"glm4moelite", []string{"token_embd.weight"}, true, true},
		{"gemma3", []string{"token_embd.weight"}, false, true},
		{"gemma3", []string{"token_embd.weight", "v.patch_embd.weight", "mm.mm_input_projection.weight"}, true, true},
		{"qwen3", []string{"token_embd.weight"}, false, true},
		{"mistral3", []string{"token_embd.weight"}, true, true},
		{"gemma3n", []string{"token_embd.weight"}, true, true},
		{"bert", []string{"token_embd.weight"}, false, false},
		{"llama", []string{"token_embd.weight"}, false, false},
	} {
		m := &registry.Model{ModelPath: enginetest.HeaderOnlyGGUF(t, ggml.KV{"general.architecture": tc.arch}, tc.tensors...)}
		if got := NewBackend("").Supports(m); got != tc.want {
			t.Errorf("%s %v: Supports %v, want %v", tc.arch, tc.tensors, got, tc.want)
		}
		if got := (&Backend{All: true}).Supports(m); got != tc.wantAll {
			t.Errorf("%s %v: Supports with All %v, want %v", tc.arch, tc.tensors, got, tc.wantAll)
		}
	}
	// A SentencePiece gemma3 (every real Gemma 3) as Ollama converts it comes here; one whose file says
	// not to prefix a space, or a BPE one, stays with llama.cpp.
	for _, tc := range []struct {
		kv   ggml.KV
		want bool
	}{
		{ggml.KV{"tokenizer.ggml.model": "llama"}, true},
		{ggml.KV{"tokenizer.ggml.model": "llama", "tokenizer.ggml.add_space_prefix": false}, false},
		{ggml.KV{"tokenizer.ggml.model": "gpt2"}, false},
	} {
		tc.kv["general.architecture"] = "gemma3"
		m := &registry.Model{ModelPath: enginetest.HeaderOnlyGGUF(t, tc.kv, "token_embd.weight")}
		if got := NewBackend("").Supports(m); got != tc.want {
			t.Errorf("gemma3 %v: Supports %v, want %v", tc.kv, got, tc.want)
		}
	}
	if NewBackend("").Supports(&registry.Model{ModelPath: filepath.Join(t.TempDir(), "missing.gguf")}) {
		t.Error("Supports a missing file")
	}
}

// recordingProber records the probes asked of it and answers err.
type recordingProber struct {
	requests []llama.ProbeRequest
	err      error
}

func (p *recordingProber) Probe(_ context.Context, req llama.ProbeRequest) error {
	p.requests = append(p.requests, req)
	return p.err
}

func (p *recordingProber) Verdict(req llama.ProbeRequest) (bool, error) {
	return p.err != nil, p.err
}

// TestLoadAsksTheProber: with a Prober, a load is tried in this engine's name first, and a file the
// probe found bad fails the load (and, known, the estimate) without the engine touching it.
func TestLoadAsksTheProber(t *testing.T) {
	m := &registry.Model{ModelPath: enginetest.HeaderOnlyGGUF(t, ggml.KV{"general.architecture": "olmo3"}, "token_embd.weight")}
	bad := &llama.ProbeError{Engine: EngineName, Signal: "SIGABRT: abort", Detail: "GGML_ASSERT(x) failed"}
	p := &recordingProber{err: bad}
	b := &Backend{Prober: p}
	cfg := engine.LoadConfig{NumCtx: 256, NumBatch: 64, Parallel: 1, NumThread: 1}
	if _, err := b.Load(context.Background(), m, cfg); !errors.Is(err, bad) {
		t.Fatalf("Load = %v, want the probe's verdict", err)
	}
	if len(p.requests) != 1 || p.requests[0].Engine != EngineName || p.requests[0].ModelPath != m.ModelPath {
		t.Errorf("probe requests %+v, want one for %s in engine %q", p.requests, m.ModelPath, EngineName)
	}
	if _, err := b.Estimate(m, cfg); !errors.Is(err, bad) {
		t.Errorf("Estimate of a known-bad file = %v, want the verdict", err)
	}
	if msg := bad.Error(); !strings.HasPrefix(msg, "Ollama's Go engine crashed while loading the model (SIGABRT: abort)") {
		t.Errorf("the verdict reads %q", msg)
	}
}
