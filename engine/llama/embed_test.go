package llama

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/models"
)

// openEncoder loads a generated GGUF encoder.
func openEncoder(t testing.TB, name string) *Encoder {
	t.Helper()
	Init("")
	path, err := models.Ensure(context.Background(), "", name)
	if err != nil {
		t.Fatal(err)
	}
	e, err := OpenEncoder(path, engine.LoadConfig{NumCtx: 4096, NumBatch: 512, NumThread: 2, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// texts returns n short inputs of varied lengths.
func texts(n int) []string {
	words := strings.Fields("the quick brown fox jumps over the lazy dog while a small bird sings in the old tree near the river bank")
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%d %s", i, strings.Join(words[i%7:i%7+3+i%11], " "))
	}
	return out
}

// maxAbsDiff is the largest element-wise difference of a and b relative to a's largest element: llama.cpp
// picks different matrix kernels for different batch sizes, so results agree to float tolerance, not bits.
func maxAbsDiff(a, b []float32) float64 {
	d, scale := 0.0, 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
		scale = max(scale, math.Abs(float64(a[i])))
	}
	return d / max(scale, 1e-12)
}

func TestEncoderEmbed(t *testing.T) {
	e := openEncoder(t, "bert-embed")
	ctx := context.Background()
	if e.ContextLength() != 512 {
		t.Errorf("context %d, want the trained 512", e.ContextLength())
	}
	inputs := texts(24)
	batched, tokens, err := e.Embed(ctx, inputs, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(batched) != len(inputs) || len(batched[0]) != 384 || tokens == 0 {
		t.Fatalf("%d vectors of %d, %d tokens", len(batched), len(batched[0]), tokens)
	}
	var wg sync.WaitGroup
	concurrent := make([][]float32, len(inputs))
	for i, in := range inputs {
		wg.Go(func() {
			v, _, err := e.Embed(ctx, []string{in}, true)
			if err != nil {
				t.Error(err)
				return
			}
			concurrent[i] = v[0]
		})
	}
	wg.Wait()
	worst := 0.0
	for i, in := range inputs {
		alone, _, err := e.Embed(ctx, []string{in}, true)
		if err != nil {
			t.Fatal(err)
		}
		worst = max(worst, maxAbsDiff(alone[0], batched[i]))
		if d := maxAbsDiff(alone[0], batched[i]); d > 1e-3 {
			t.Errorf("input %d: batched differs from alone by %g", i, d)
		}
		if concurrent[i] != nil {
			if d := maxAbsDiff(alone[0], concurrent[i]); d > 1e-3 {
				t.Errorf("input %d: concurrent differs from alone by %g", i, d)
			}
		}
	}
	t.Logf("largest relative difference alone vs batched: %.2g", worst)
	long := strings.Repeat("word ", 600)
	if _, _, err := e.Embed(ctx, []string{long}, false); !errors.Is(err, engine.ErrInputTooLong) {
		t.Errorf("too long without truncation: %v", err)
	}
	// Ollama's server cuts a bert input to the context less a slot for [CLS] and one for the [SEP] that
	// bert-embed does not add.
	if v, n, err := e.Embed(ctx, []string{long}, true); err != nil || len(v) != 1 || n != 511 {
		t.Errorf("too long with truncation: %d tokens, %v", n, err)
	}
	if v, _, err := e.Embed(ctx, []string{""}, true); err != nil || len(v) != 1 {
		t.Errorf("empty string: %v", err)
	}
	var ce *engine.CapabilityError
	if _, _, err := e.Rerank(ctx, "q", []string{"d"}, true); !errors.As(err, &ce) {
		t.Errorf("an embedder reranked: %v", err)
	}
}

// A small num_ctx used to abort the process: llama.cpp reserves its graph as one micro-batch spread over
// every sequence, and a micro-batch that is not a multiple of them fails a ggml assertion under MEAN
// pooling. Ollama's integration test TestAllMiniLMEmbedTruncate asks for num_ctx 0, 1, 3 and 16: an input
// over the context is cut as Ollama's server cuts a bert input (num_ctx less a slot for [CLS] and one for
// the [SEP] bert-embed does not add: num_ctx-1 tokens), refused when num_ctx leaves no room for text, and
// one that fits the runner's floor of 4 tokens is never cut.
func TestEncoderSmallContext(t *testing.T) {
	Init("")
	path, err := models.Ensure(context.Background(), "", "bert-embed")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	open := func(numCtx int) *Encoder {
		t.Helper()
		e, err := OpenEncoder(path, engine.LoadConfig{NumCtx: numCtx, NumBatch: min(512, numCtx), NumThread: 2, Parallel: 1})
		if err != nil {
			t.Fatalf("num_ctx %d: %v", numCtx, err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	full := open(512)
	want, _, err := full.Embed(ctx, []string{"why"}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 5, 9, 16, 17, 33} {
		e := open(n)
		if e.ContextLength() != max(n, 4) {
			t.Errorf("num_ctx %d: context length %d", n, e.ContextLength())
		}
		got, tokens, err := e.Embed(ctx, []string{"why is the sky blue?"}, true)
		switch {
		case n < 3:
			if !errors.Is(err, engine.ErrTruncatedTooLong) {
				t.Errorf("num_ctx %d: %v, want %v", n, err, engine.ErrTruncatedTooLong)
			}
		case err != nil:
			t.Errorf("num_ctx %d: %v", n, err)
		case tokens != min(n-1, 7):
			t.Errorf("num_ctx %d: %d tokens, want %d", n, tokens, min(n-1, 7))
		case n == 3 && maxAbsDiff(want[0], got[0]) > 1e-4:
			t.Errorf("num_ctx 3: the input cut to one word differs from that word alone")
		}
		if n < 7 {
			if _, _, err := e.Embed(ctx, []string{"why is the sky blue?"}, false); !errors.Is(err, engine.ErrInputTooLong) {
				t.Errorf("num_ctx %d without truncation: %v", n, err)
			}
		}
		if _, tokens, err := e.Embed(ctx, []string{"hi"}, false); err != nil || tokens != 2 {
			t.Errorf("num_ctx %d: 2 tokens fit the floor of 4: %d tokens, %v", n, tokens, err)
		}
	}
}

func TestEncoderRerank(t *testing.T) {
	e := openEncoder(t, "bert-rerank")
	ctx := context.Background()
	docs := texts(10)
	scores, tokens, err := e.Rerank(ctx, "where does the bird sing?", docs, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != len(docs) || tokens == 0 {
		t.Fatalf("%d scores, %d tokens", len(scores), tokens)
	}
	distinct := map[float32]bool{}
	for i, s := range scores {
		if !(s > 0 && s < 1) {
			t.Errorf("score %d = %v, want (0, 1)", i, s)
		}
		distinct[s] = true
		one, _, err := e.Rerank(ctx, "where does the bird sing?", docs[i:i+1], true)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(one[0]-s)) > 1e-4 {
			t.Errorf("document %d: alone %v, batched %v", i, one[0], s)
		}
	}
	if len(distinct) < 2 {
		t.Errorf("every document scored the same: %v", scores)
	}
	if _, _, err := e.Embed(ctx, []string{"x"}, true); !errors.Is(err, engine.ErrBadRequest) {
		t.Errorf("a reranker embedded: %v", err)
	}
	long := strings.Repeat("word ", 600)
	if _, _, err := e.Rerank(ctx, "q", []string{long}, false); !errors.Is(err, engine.ErrInputTooLong) {
		t.Errorf("too long without truncation: %v", err)
	}
	if _, n, err := e.Rerank(ctx, "q", []string{long}, true); err != nil || n != 512 {
		t.Errorf("too long with truncation: %d tokens, %v", n, err)
	}
}

// BenchmarkEncoderEmbedOne is one short input to the GGUF bert-embed model; it reports p50 and p95.
func BenchmarkEncoderEmbedOne(b *testing.B) {
	e := openEncoder(b, "bert-embed")
	ctx := context.Background()
	if _, _, err := e.Embed(ctx, []string{"why is the sky blue?"}, true); err != nil {
		b.Fatal(err)
	}
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, _, err := e.Embed(ctx, []string{"why is the sky blue?"}, true); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(times[min(len(times)*95/100, len(times)-1)])/1e6, "p95-ms")
}

// BenchmarkEncoderEmbedBatch32 embeds 32 short inputs per request and reports inputs per second.
func BenchmarkEncoderEmbedBatch32(b *testing.B) {
	e := openEncoder(b, "bert-embed")
	ctx := context.Background()
	inputs := texts(32)
	start := time.Now()
	for b.Loop() {
		if _, _, err := e.Embed(ctx, inputs, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(inputs))/time.Since(start).Seconds(), "inputs/s")
}

// Ollama 0.17.4 runs bert in its own engine, whose tokenizer reads add_eos_token (false in bert-embed) and
// not add_sep_token: an input is [CLS] and its pieces, with no trailing [SEP], and hearth's ids must be the
// same for the vectors and prompt_eval_count to match.
func TestEncoderTokenizesBertLikeOllama(t *testing.T) {
	e := openEncoder(t, "bert-embed")
	for text, want := range map[string][]int64{
		"hello world":        {101, 7592, 2088},
		"Hello, World!":      {101, 7592, 1010, 2088, 999},
		"tokenization works": {101, 19204, 3989, 2573},
	} {
		got, err := e.tokenize(text, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("tokenize(%q) = %v, want Ollama's %v", text, got, want)
		}
	}

	long := strings.Repeat("hello ", 600)
	if _, err := e.tokenize(long, false); !errors.Is(err, engine.ErrInputTooLong) {
		t.Errorf("601 tokens without truncation: err %v, want ErrInputTooLong", err)
	}
	got, err := e.tokenize(long, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 511 || got[0] != 101 || got[len(got)-1] != 7592 {
		t.Errorf("truncated to %d tokens, first %d, last %d; want Ollama's 511, [CLS] first and no [SEP]", len(got), got[0], got[len(got)-1])
	}
}
