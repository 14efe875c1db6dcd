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
	// Both engines run these; llama.cpp keeps them by default, but for a SentencePiece gemma3.
	if got, want := NewBackend("").Supports(m), strings.HasSuffix(recipe, "-spm"); got != want {
		t.Fatalf("%s: Supports %v by default, want %v", recipe, got, want)
	}
	b := &Backend{All: true}
	r, err := b.Load(context.Background(), m, engine.LoadConfig{NumCtx: numCtx, NumBatch: 512, NumThread: threads, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.(*Runner), path
}

// chatMLPrompts are a plain text and a ChatML turn, for the recipes with the cut GPT-2 vocabulary.
var chatMLPrompts = []string{"The quick brown fox", "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"}

// TestGemma3SameTokensAsLlamaCpp runs Gemma 3 text, an architecture both engines run, on the same GGUF:
// tokenization and greedy output must agree.
func TestGemma3SameTokensAsLlamaCpp(t *testing.T) {
	checkSameAsLlamaCpp(t, "tiny-gemma3", chatMLPrompts...)
}

// TestBothEnginesAgree runs the other architectures hearth leaves with llama.cpp though Ollama runs them in
// its Go engine (llamaCppRuns) on both engines: the choice is only right where they agree. Not llama4:
// Ollama's Go engine departs from Llama 4 there (see compat_test's notLikeOllama).
func TestBothEnginesAgree(t *testing.T) {
	for _, recipe := range []string{"tiny-qwen3", "tiny-qwen3moe"} {
		t.Run(recipe, func(t *testing.T) { checkSameAsLlamaCpp(t, recipe, chatMLPrompts...) })
	}
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

// TestSentencePieceGemma3GoesToThisEngine: a gemma3 with a SentencePiece vocabulary, as Ollama converts a
// real Gemma 3 folder, comes to this engine, because llama.cpp would read a prompt as other tokens (a
// space before the first word) than Ollama does; the test fails, and the rule can go, once it does not.
func TestSentencePieceGemma3GoesToThisEngine(t *testing.T) {
	path, err := hfmodels.Ensure(context.Background(), "", "tiny-gemma3-spm")
	if err != nil {
		t.Fatal(err)
	}
	if !NewBackend("").Supports(&registry.Model{ModelPath: path}) {
		t.Fatal("a SentencePiece gemma3 stays with llama.cpp")
	}
	r, _ := openAll(t, "tiny-gemma3-spm", 1, 256)
	llama.Init("")
	l, err := llama.Open(path, nil, engine.LoadConfig{NumCtx: 256, NumBatch: 512, NumThread: threads, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	goToks, _ := r.Tokenize("The quick brown fox")
	cppToks, _ := l.Tokenize("The quick brown fox")
	if equalInts(goToks, cppToks) {
		t.Errorf("both engines read %v: llama.cpp no longer prefixes a space", goToks)
	}
}
