package ollamaengine

import (
	"context"
	"strings"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/models/hfmodels"
	"github.com/hearthlink/hearth/registry"
)

// openAll loads recipe with a Backend that takes every Go-engine architecture (All), as for a model both
// engines run.
func openAll(t testing.TB, recipe string, parallel, numCtx int) (*Runner, string) {
	t.Helper()
	path, err := hfmodels.Ensure(context.Background(), "", recipe)
	if err != nil {
		t.Fatal(err)
	}
	m := &registry.Model{ModelPath: path}
	if NewBackend("").Supports(m) {
		t.Fatalf("%s should stay with llama.cpp by default", recipe)
	}
	b := &Backend{All: true}
	r, err := b.Load(context.Background(), m, engine.LoadConfig{NumCtx: numCtx, NumBatch: 512, NumThread: threads, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.(*Runner), path
}

// TestGemma3SameTokensAsLlamaCpp runs Gemma 3 text, an architecture both engines run, on the same GGUF:
// tokenization and greedy output must agree.
func TestGemma3SameTokensAsLlamaCpp(t *testing.T) {
	checkSameAsLlamaCpp(t, "tiny-gemma3", "The quick brown fox", "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n")
}

// checkSameAsLlamaCpp loads recipe in this engine and in llama.cpp and checks that each prompt tokenizes
// the same and that greedy output agrees. Repeat penalties are off: llama.cpp applies them, Ollama's Go
// engine (and so this one) ignores them, as Ollama does.
func checkSameAsLlamaCpp(t *testing.T, recipe string, prompts ...string) {
	t.Helper()
	r, path := openAll(t, recipe, 2, 256)
	llama.Init("")
	l, err := llama.Open(path, nil, engine.LoadConfig{NumCtx: 256, NumBatch: 512, NumThread: threads, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, prompt := range prompts {
		goToks, _ := r.Tokenize(prompt)
		cppToks, _ := l.Tokenize(prompt)
		if !equalInts(goToks, cppToks) {
			t.Errorf("%q: Go engine tokens %v, llama.cpp %v", prompt, goToks, cppToks)
		}
		opts := enginetest.Greedy(8)
		opts.RepeatPenalty = 1
		got, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: opts})
		ch, err := l.Generate(t.Context(), engine.GenerateRequest{Prompt: prompt, Options: opts})
		if err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for c := range ch {
			want.WriteString(c.Text)
		}
		if got != want.String() {
			t.Errorf("%q: Go engine %q, llama.cpp %q", prompt, got, want.String())
		}
		t.Logf("%s %q: %q", recipe, prompt, got)
	}
}

// TestGemma3BatchingKeepsGreedyOutput is TestOlmo3BatchingKeepsGreedyOutput for Gemma 3.
func TestGemma3BatchingKeepsGreedyOutput(t *testing.T) {
	r, _ := openAll(t, "tiny-gemma3", 3, 256)
	checkBatching(t, r)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
