package llama

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	llamacpp "github.com/ollama/ollama/llama"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/models"
)

func TestMain(m *testing.M) {
	if os.Getenv(probeChildEnv) == "1" { // this binary was started as a probe's child (probe_test.go)
		os.Exit(ProbeMain(context.Background(), os.Args[1:], testProbeLoaders))
	}
	// llama.cpp logs through slog at info level: keep test output readable.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// openTiny loads the generated tiny-llama with parallel slots of numCtx tokens.
func openTiny(t testing.TB, parallel, numCtx int) *Runner {
	t.Helper()
	Init("")
	path, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, nil, engine.LoadConfig{NumCtx: numCtx, NumBatch: 512, NumThread: 2, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestGenerateNumPredictAndMetrics(t *testing.T) {
	r := openTiny(t, 2, 512)
	text, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "Hello there", Options: enginetest.Greedy(12)})
	if text == "" {
		t.Fatal("no text generated")
	}
	if last.DoneReason != "length" && last.DoneReason != "stop" {
		t.Errorf("done reason %q", last.DoneReason)
	}
	if last.DoneReason == "length" && last.EvalCount != 12 {
		t.Errorf("eval count %d, want 12", last.EvalCount)
	}
	if last.PromptEvalCount == 0 || last.PromptEvalDuration <= 0 || last.EvalDuration <= 0 {
		t.Errorf("metrics missing: %+v", last)
	}
}

// tokens tokenizes text as Generate does.
func tokens(t testing.TB, r *Runner, text string) []int {
	t.Helper()
	toks, err := r.Tokenize(text)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

func TestGreedyIsDeterministicAndPrefixCacheIsExact(t *testing.T) {
	r := openTiny(t, 2, 512)
	// The prompt is longer than the reply, so the slot it leaves behind is mostly prompt and the repeat is
	// given that slot (chooseSlot) rather than the empty one.
	prompt := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 3)
	req := engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(24)}
	before := enginetest.ReusedTokens(t)
	a, first := enginetest.Collect(t, r, t.Context(), req)
	if reused := enginetest.ReusedTokens(t) - before; reused != 0 {
		t.Fatalf("the first request reused %d tokens from a fresh runner's empty slots", reused)
	}
	before = enginetest.ReusedTokens(t)
	b, last := enginetest.Collect(t, r, t.Context(), req) // served from the cached prefix
	if a != b {
		t.Fatalf("second run differs with a cached prefix:\n%q\n%q", a, b)
	}
	// Every prompt token but the last, whose logits the first sampling needs, comes from the slot's cache.
	if reused, want := enginetest.ReusedTokens(t)-before, first.PromptEvalCount-1; reused != want {
		t.Errorf("the repeated prompt reused %d cached tokens, want %d of its %d", reused, want, first.PromptEvalCount)
	}
	if last.PromptEvalCount != first.PromptEvalCount {
		t.Errorf("prompt_eval_count %d with a cached prefix, %d without: it should count cached tokens too", last.PromptEvalCount, first.PromptEvalCount)
	}
}

// TestPrefixCopiedAcrossSlots occupies the slot holding a prefix, so the next request with the same prefix
// lands in another slot and must reuse the prefix by copying the KV stream; its output must match a run
// without any cache.
func TestPrefixCopiedAcrossSlots(t *testing.T) {
	r := openTiny(t, 2, 1024)
	long := strings.Repeat("Once upon a time in a land far away there lived a king. ", 8)
	want, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: long + "The end", Options: enginetest.Greedy(16)})

	// Keep slot A busy with a long generation that shares the prefix.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	busy, err := r.Generate(ctx, engine.GenerateRequest{Prompt: long + "The", Options: enginetest.Greedy(100000)})
	if err != nil {
		t.Fatal(err)
	}
	<-busy // first chunk: it is generating
	before := enginetest.ReusedTokens(t)
	got, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: long + "The end", Options: enginetest.Greedy(16)})
	reused := enginetest.ReusedTokens(t) - before
	cancel()
	for range busy {
	}
	if got != want {
		t.Fatalf("output with a copied prefix differs:\n%q\n%q", got, want)
	}
	// The idle slot held nothing of the prompt: all it reused came over from the busy slot, which holds at
	// least the prompt they share.
	prompt := tokens(t, r, long+"The end")
	shared := commonPrefix(tokens(t, r, long+"The"), prompt)
	if reused < shared || reused > len(prompt)-1 {
		t.Errorf("reused %d cached tokens, want the %d the busy slot shares (up to %d)", reused, shared, len(prompt)-1)
	}
}

func TestStopStringsNeverLeak(t *testing.T) {
	r := openTiny(t, 1, 512)
	full, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "Tell me a story", Options: enginetest.Greedy(40)})
	if len(full) < 12 {
		t.Skipf("model produced too little text to cut: %q", full)
	}
	// Stop on a string that starts in the middle of the output.
	stop := full[len(full)/2 : len(full)/2+4]
	opts := enginetest.Greedy(40)
	opts.Stop = []string{stop}
	ch, err := r.Generate(t.Context(), engine.GenerateRequest{Prompt: "Tell me a story", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var last engine.Chunk
	for c := range ch {
		b.WriteString(c.Text)
		if strings.Contains(b.String(), stop[:1]) && strings.HasSuffix(b.String(), stop) {
			t.Errorf("stop string leaked in a chunk: %q", b.String())
		}
		last = c
	}
	want := full[:strings.Index(full, stop)]
	if b.String() != want || last.DoneReason != "stop" {
		t.Fatalf("got %q (%s), want %q (stop)", b.String(), last.DoneReason, want)
	}
}

func TestSeedReproducible(t *testing.T) {
	r := openTiny(t, 2, 512)
	opts := api.DefaultOptions()
	opts.Temperature = 1.2
	opts.Seed = 42
	opts.NumPredict = 24
	req := engine.GenerateRequest{Prompt: "Random words:", Options: opts}
	a, _ := enginetest.Collect(t, r, t.Context(), req)
	b, _ := enginetest.Collect(t, r, t.Context(), req)
	if a != b {
		t.Fatalf("same seed gave different text:\n%q\n%q", a, b)
	}
}

func TestConcurrentMatchesSequential(t *testing.T) {
	r := openTiny(t, 4, 512)
	prompts := []string{"Alpha beta", "The weather today", "Once upon a time", "1 2 3 4", "Why is the sky", "Hello"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		want[i], _ = enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: p, Options: enginetest.Greedy(20)})
	}
	got := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			got[i], _ = enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: p, Options: enginetest.Greedy(20)})
		})
	}
	wg.Wait()
	for i := range prompts {
		if got[i] != want[i] {
			t.Errorf("prompt %q: concurrent %q, sequential %q", prompts[i], got[i], want[i])
		}
	}
}

func TestCancelFreesSlot(t *testing.T) {
	r := openTiny(t, 1, 512)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := r.Generate(ctx, engine.GenerateRequest{Prompt: "Go on forever", Options: enginetest.Greedy(-1)})
	if err != nil {
		t.Fatal(err)
	}
	<-ch
	cancel()
	// The only slot must come free for the next request.
	done := make(chan struct{})
	go func() {
		defer close(done)
		enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "Next", Options: enginetest.Greedy(4)})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("slot was not freed after cancel")
	}
}

func TestContextFull(t *testing.T) {
	r := openTiny(t, 1, 64)
	_, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "Fill the context", Options: enginetest.Greedy(200), Shift: false})
	if last.DoneReason != "length" || last.EvalCount >= 64 {
		t.Errorf("without shift: %s after %d tokens, want length before 64", last.DoneReason, last.EvalCount)
	}
	_, last = enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "Fill the context", Options: enginetest.Greedy(150), Shift: true})
	if last.EvalCount != 150 && last.DoneReason != "stop" {
		t.Errorf("with shift: %s after %d tokens, want 150", last.DoneReason, last.EvalCount)
	}
}

func TestPromptTooLong(t *testing.T) {
	r := openTiny(t, 1, 32)
	long := strings.Repeat("word ", 100)
	if _, err := r.Generate(t.Context(), engine.GenerateRequest{Prompt: long, Options: enginetest.Greedy(4)}); !errors.Is(err, engine.ErrBadRequest) {
		t.Fatalf("truncate off: err %v, want a bad request", err)
	}
	_, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: long, Options: enginetest.Greedy(4), Truncate: true, Shift: true})
	if last.PromptEvalCount != 32 {
		t.Errorf("truncated prompt has %d tokens, want 32", last.PromptEvalCount)
	}
}

func TestJSONSchemaGrammar(t *testing.T) {
	r := openTiny(t, 1, 512)
	schema := `{"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer"}},"required":["name","age"]}`
	g := llamacpp.SchemaToGrammar([]byte(schema))
	if g == nil {
		t.Fatal("schema did not compile")
	}
	opts := enginetest.Greedy(200)
	text, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "Give me JSON", Options: opts, Grammar: string(g)})
	if last.DoneReason != "stop" {
		t.Fatalf("grammar output did not finish: %s %q", last.DoneReason, text)
	}
	var v struct {
		Name *string `json:"name"`
		Age  *int    `json:"age"`
	}
	if err := json.Unmarshal([]byte(text), &v); err != nil || v.Name == nil || v.Age == nil {
		t.Fatalf("output %q does not satisfy the schema: %v", text, err)
	}
}

func TestLogprobs(t *testing.T) {
	r := openTiny(t, 1, 512)
	opts := enginetest.Greedy(5)
	opts.RepeatPenalty = 1 // penalties would make the sampled token differ from the raw top one
	ch, err := r.Generate(t.Context(), engine.GenerateRequest{Prompt: "Hi", Options: opts, Logprobs: true, TopLogprobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for c := range ch {
		for _, lp := range c.Logprobs {
			n++
			if lp.Logprob > 0 || len(lp.TopLogprobs) != 3 || lp.TopLogprobs[0].Logprob < lp.TopLogprobs[2].Logprob {
				t.Errorf("bad logprob %+v", lp)
			}
			if lp.Logprob != lp.TopLogprobs[0].Logprob { // greedy picks the most likely token
				t.Errorf("greedy token logprob %v is not the top one %v", lp.Logprob, lp.TopLogprobs[0].Logprob)
			}
		}
	}
	if n == 0 {
		t.Fatal("no logprobs")
	}
}

func TestMalformedGGUF(t *testing.T) {
	Init("")
	path, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := map[string][]byte{
		"magic":     append([]byte("GGXX"), data[4:]...),
		"truncated": data[:len(data)/2],
		"header":    data[:10],
		"counts":    append(append(append([]byte{}, data[:8]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f), data[16:]...),
	}
	for name, b := range bad {
		p := filepath.Join(dir, name+".gguf")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(p, nil, engine.LoadConfig{NumCtx: 64, NumBatch: 64, NumThread: 1, Parallel: 1})
		if err == nil {
			r.Close()
			t.Errorf("%s: loaded a malformed file", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestDisconnectDuringDecodeAbortsIt ends a request while its step is being decoded: the step stops in
// flight instead of running to its end, nothing more is generated for the request, and its slot's cache is
// left as its tokens say, so the next request in the slot answers as on a fresh runner.
func TestDisconnectDuringDecodeAbortsIt(t *testing.T) {
	const prompt = "The quick brown fox jumps over the lazy dog and runs away"
	want, _ := enginetest.Collect(t, openTiny(t, 1, 512), t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(12)})

	r := openTiny(t, 1, 512)
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	r.beforeDecode = func() {
		once.Do(func() {
			// The client goes away as the first step starts computing; the step's watch sees it from
			// its own goroutine.
			cancel()
			for i := 0; !r.abort.Requested(); i++ {
				if i == 10000 {
					t.Error("the step's abort was not requested after its only request ended")
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	cancelled, after, aborted := enginetest.Cancellations(t)
	ch, err := r.Generate(ctx, engine.GenerateRequest{Prompt: prompt + " again and again", Options: enginetest.Greedy(-1)})
	if err != nil {
		t.Fatal(err)
	}
	for c := range ch {
		if c.Text != "" {
			t.Errorf("text %q generated for a request that ended before its first step", c.Text)
		}
	}
	got, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompt, Options: enginetest.Greedy(12)})
	if got != want {
		t.Errorf("after an aborted step: %q, want %q", got, want)
	}
	if last.PromptEvalCount == 0 {
		t.Errorf("no prompt tokens reported")
	}
	c2, after2, aborted2 := enginetest.Cancellations(t)
	if c2-cancelled != 1 || after2 != after || aborted2-aborted != 1 {
		t.Errorf("cancelled %d, after a completed step %d, aborted steps %d; want 1, 0, 1", c2-cancelled, after2-after, aborted2-aborted)
	}
}
