package ollamaengine

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/models/hfmodels"
	"github.com/hearthlink/hearth/registry"
)

func TestMain(m *testing.M) {
	// The engine logs through slog at info level: keep test output readable.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// open loads the generated recipe with parallel slots of numCtx tokens through the Backend, as the
// Scheduler would.
var threads = 1

func open(t testing.TB, recipe string, parallel, numCtx int) *Runner {
	t.Helper()
	path, err := hfmodels.Ensure(context.Background(), "", recipe)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBackend("")
	m := &registry.Model{ModelPath: path}
	if !b.Supports(m) {
		t.Fatalf("the backend does not take %s", recipe)
	}
	cfg := engine.LoadConfig{NumCtx: numCtx, NumBatch: 512, NumThread: threads, Parallel: parallel}
	if _, err := b.Estimate(m, cfg); err != nil {
		t.Fatal(err)
	}
	r, err := b.Load(t.(interface{ Context() context.Context }).Context(), m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.(*Runner)
}

func TestOlmo3GeneratesWithMetrics(t *testing.T) {
	r := open(t, "tiny-olmo3", 2, 256)
	text, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "Hello there, how are you?", Options: enginetest.Greedy(12)})
	t.Logf("%q %+v", text, last)
	if text == "" {
		t.Fatal("no text generated")
	}
	if last.DoneReason != "length" || last.EvalCount != 12 {
		t.Errorf("done reason %q after %d tokens, want length after 12", last.DoneReason, last.EvalCount)
	}
	toks, err := r.Tokenize("Hello there, how are you?")
	if err != nil {
		t.Fatal(err)
	}
	if last.PromptEvalCount != len(toks) || last.PromptEvalDuration <= 0 || last.EvalDuration <= 0 {
		t.Errorf("metrics %+v, want %d prompt tokens and durations", last, len(toks))
	}
	back, err := r.Detokenize(toks)
	if err != nil || back != "Hello there, how are you?" {
		t.Errorf("detokenized %q, %v", back, err)
	}
}

// greedyTokens runs a greedy request with logprobs and returns each generated token with the gap between
// its log probability and the runner-up's.
func greedyTokens(t testing.TB, r *Runner, prompt string, n int) (tokens []string, gaps []float64) {
	t.Helper()
	ch, err := r.Generate(t.(interface{ Context() context.Context }).Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(n), Logprobs: true, TopLogprobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for c := range ch {
		if c.Err != nil {
			t.Fatal(c.Err)
		}
		for _, lp := range c.Logprobs {
			tokens = append(tokens, lp.Token)
			gaps = append(gaps, lp.TopLogprobs[0].Logprob-lp.TopLogprobs[1].Logprob)
		}
	}
	return tokens, gaps
}

// nearTie is the largest gap between the two best log probabilities at which batching may change a greedy
// choice: a forward pass over several sequences sums in another order, which moves logits by about 1e-5.
const nearTie = 1e-3

// TestOlmo3BatchingKeepsGreedyOutput runs prompts alone and then together, so their tokens share forward
// passes (prefill beside decode, several sequences per pass): every greedy choice must stay the same,
// unless the two best tokens were tied to within nearTie, where the sequences may part.
func TestOlmo3BatchingKeepsGreedyOutput(t *testing.T) {
	checkBatching(t, open(t, "tiny-olmo3", 3, 256))
}

// checkBatching is the test of TestOlmo3BatchingKeepsGreedyOutput on r, which has 3 slots.
func checkBatching(t *testing.T, r *Runner) {
	t.Helper()
	prompts := []string{
		"The quick brown fox jumps over the lazy dog.",
		"Once upon a time",
		"<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
	}
	const n = 32
	alone := make([][]string, len(prompts))
	gaps := make([][]float64, len(prompts))
	for i, p := range prompts {
		alone[i], gaps[i] = greedyTokens(t, r, p, n)
	}
	before := enginetest.MultiSequencePasses(t)
	together := make([][]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() { together[i], _ = greedyTokens(t, r, p, n) })
	}
	wg.Wait()
	if enginetest.MultiSequencePasses(t) == before {
		t.Error("no forward pass advanced more than one sequence")
	}
	for i := range prompts {
		if len(alone[i]) == 0 {
			t.Errorf("prompt %d generated nothing", i)
		}
		for k := range min(len(alone[i]), len(together[i])) {
			if alone[i][k] != together[i][k] {
				if gaps[i][k] >= nearTie {
					t.Errorf("prompt %d token %d: alone %q, batched %q, though the best token led by %.4f", i, k, alone[i][k], together[i][k], gaps[i][k])
				}
				break
			}
		}
		if len(alone[i]) != len(together[i]) && strings.Join(alone[i], "") == strings.Join(together[i], "") {
			t.Errorf("prompt %d: %d tokens alone, %d batched", i, len(alone[i]), len(together[i]))
		}
	}
}

// TestOlmo3StopsContextAndCancel checks the endings a client sees: a stop string ends the text before it
// with reason "stop", a full context ends with "length" (or shifts and goes on when asked to), and a
// cancelled request frees its slot for the next.
func TestOlmo3StopsContextAndCancel(t *testing.T) {
	r := open(t, "tiny-olmo3", 1, 64)
	const prompt = "Once upon a time"
	full, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(16)})
	if len(full) < 8 {
		t.Fatalf("too little text to cut: %q", full)
	}
	t.Run("stop string", func(t *testing.T) {
		stop := full[4:7]
		opts := enginetest.Greedy(16)
		opts.Stop = []string{stop}
		text, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: opts})
		if want := full[:strings.Index(full, stop)]; text != want || last.DoneReason != "stop" {
			t.Errorf("text %q reason %q, want %q stop (stop string %q)", text, last.DoneReason, want, stop)
		}
	})
	toks, err := r.Tokenize(prompt)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("full context", func(t *testing.T) {
		_, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(200)})
		if last.DoneReason != "length" || last.EvalCount != 64-len(toks)+1 {
			t.Errorf("reason %q after %d tokens, want length after %d", last.DoneReason, last.EvalCount, 64-len(toks)+1)
		}
	})
	t.Run("context shift", func(t *testing.T) {
		_, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(100), Shift: true})
		if last.DoneReason != "length" || last.EvalCount != 100 {
			t.Errorf("reason %q after %d tokens, want length after 100", last.DoneReason, last.EvalCount)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := r.Generate(ctx, engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(-1), Shift: true})
		if err != nil {
			t.Fatal(err)
		}
		<-ch
		cancel()
		for range ch {
		}
		text, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(16)})
		if text != full {
			t.Errorf("after a cancelled request: %q, want %q", text, full)
		}
	})
	t.Run("too long", func(t *testing.T) {
		long := strings.Repeat("word ", 100)
		if _, err := r.Generate(t.Context(), engine.GenerateRequest{Prompt: long, Options: enginetest.Greedy(4)}); err != engine.ErrInputTooLong {
			t.Errorf("error %v, want ErrInputTooLong", err)
		}
		if _, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: long, Options: enginetest.Greedy(4), Truncate: true}); last.PromptEvalCount != 64 {
			t.Errorf("truncated prompt of %d tokens, want 64", last.PromptEvalCount)
		}
	})
}

// TestOlmo3ReusesPromptPrefix sends a prompt twice: the second evaluates only what the cache lacks, and
// answers the same. Prompt and answer stay within tiny-olmo3's sliding window of 32 tokens: past it the
// window's cache no longer holds the positions a resumed prompt needs, and Ollama's input cache evaluates
// the whole prompt again.
func TestOlmo3ReusesPromptPrefix(t *testing.T) {
	r := open(t, "tiny-olmo3", 2, 256)
	prompt := "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
	first, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(3)})
	before := enginetest.ReusedTokens(t)
	second, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(3)})
	toks, _ := r.Tokenize(prompt)
	if got := enginetest.ReusedTokens(t) - before; got != len(toks)-1 {
		t.Errorf("reused %d prompt tokens, want %d", got, len(toks)-1)
	}
	if second != first || last.PromptEvalCount != len(toks) {
		t.Errorf("second answer %q (%d prompt tokens), first %q", second, last.PromptEvalCount, first)
	}
}

// TestTwoModelsComputeConcurrently runs two loaded models at once. They share the engine's one CPU
// backend, whose scratch memory two computations at once would corrupt: outputs must equal each alone.
func TestTwoModelsComputeConcurrently(t *testing.T) {
	a, b := open(t, "tiny-olmo3", 1, 256), open(t, "tiny-olmo3", 1, 256)
	prompts := []string{"The quick brown fox", "Once upon a time"}
	want := make([]string, 2)
	for i, p := range prompts {
		want[i], _ = enginetest.Collect(t, a, t.Context(), engine.GenerateRequest{Prompt: p, Options: enginetest.Greedy(32)})
	}
	for round := range 5 {
		got := make([]string, 2)
		var wg sync.WaitGroup
		for i, r := range []*Runner{a, b} {
			wg.Go(func() {
				got[i], _ = enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompts[i], Options: enginetest.Greedy(32)})
			})
		}
		wg.Wait()
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("round %d, model %d: %q, want %q", round, i, got[i], want[i])
			}
		}
	}
}

// TestCloseEndsRequestsInFlight unloads a model while a request runs: the request ends with
// ErrRunnerClosed and later ones are refused.
func TestCloseEndsRequestsInFlight(t *testing.T) {
	r := open(t, "tiny-olmo3", 1, 64)
	ch, err := r.Generate(t.Context(), engine.GenerateRequest{Prompt: "Once upon a time", Options: enginetest.Greedy(-1), Shift: true})
	if err != nil {
		t.Fatal(err)
	}
	<-ch
	r.Close()
	var last engine.Chunk
	for c := range ch {
		last = c
	}
	if !last.Done || last.Err != ErrRunnerClosed {
		t.Errorf("final chunk %+v, want ErrRunnerClosed", last)
	}
	if _, err := r.Generate(t.Context(), engine.GenerateRequest{Prompt: "x", Options: enginetest.Greedy(1)}); err != ErrRunnerClosed {
		t.Errorf("Generate after Close: %v", err)
	}
}

// TestLfm2HybridRunsOneSequenceAtATime loads a hybrid architecture (recurrent short-convolution state
// beside attention): the runner takes one sequence per pass whatever Parallel asks, concurrent requests
// queue and each answers as alone, and a repeated prompt resumes from the cache's checkpoint.
func TestLfm2HybridRunsOneSequenceAtATime(t *testing.T) {
	checkOneSequence(t, open(t, "tiny-lfm2", 4, 256))
}

// TestNemotronHRuns is TestLfm2HybridRunsOneSequenceAtATime for dense Nemotron-H (Mamba-2 beside
// attention), the file that kills a process whose llama.cpp loads it.
func TestNemotronHRuns(t *testing.T) {
	checkOneSequence(t, open(t, "tiny-nemotron-h", 4, 256))
}

// checkOneSequence is the test of TestLfm2HybridRunsOneSequenceAtATime on r.
func checkOneSequence(t *testing.T, r *Runner) {
	t.Helper()
	if r.Parallel() != 1 {
		t.Fatalf("parallel %d, want 1", r.Parallel())
	}
	prompts := []string{"The quick brown fox", "Once upon a time"}
	alone := make([]string, len(prompts))
	for i, p := range prompts {
		alone[i], _ = enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: p, Options: enginetest.Greedy(16)})
		t.Logf("%q: %q", p, alone[i])
		if alone[i] == "" {
			t.Fatalf("prompt %d generated nothing", i)
		}
	}
	together := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			together[i], _ = enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: p, Options: enginetest.Greedy(16)})
		})
	}
	wg.Wait()
	for i := range prompts {
		if together[i] != alone[i] {
			t.Errorf("prompt %d: alone %q, concurrent %q", i, alone[i], together[i])
		}
	}
	again, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompts[1], Options: enginetest.Greedy(16)})
	if again != alone[1] {
		t.Errorf("repeated prompt: %q, want %q", again, alone[1])
	}
}

// TestDisconnectDuringForwardSamplesNothing ends a request while its forward pass runs: the pass is not
// stopped (the Go engine cannot), but nothing is sampled for the request after it, its slot is free for
// the next request, and that one answers as on a fresh runner.
func TestDisconnectDuringForwardSamplesNothing(t *testing.T) {
	const prompt = "Once upon a time"
	want, _ := enginetest.Collect(t, open(t, "tiny-olmo3", 1, 64), t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(8)})

	r := open(t, "tiny-olmo3", 1, 64)
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	r.beforeForward = func() { once.Do(cancel) } // the client goes away as the first pass starts
	cancelled, after, _ := enginetest.Cancellations(t)
	ch, err := r.Generate(ctx, engine.GenerateRequest{Prompt: prompt + " there was", Options: enginetest.Greedy(-1), Shift: true})
	if err != nil {
		t.Fatal(err)
	}
	for c := range ch {
		if c.Text != "" {
			t.Errorf("text %q generated for a request that ended during its first pass", c.Text)
		}
	}
	if got, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(8)}); got != want {
		t.Errorf("after a cancelled request: %q, want %q", got, want)
	}
	c2, after2, _ := enginetest.Cancellations(t)
	if c2-cancelled != 1 || after2-after != 1 {
		t.Errorf("cancelled %d, after a completed step %d; want 1, 1", c2-cancelled, after2-after)
	}
}
