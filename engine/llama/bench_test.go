package llama

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/models"
)

// benchRunner loads the benchmark model: tiny-llama, or the recipe named by HEARTH_BENCH_MODEL
// (bench-llama for the 1.1B Q4_K_M).
func benchRunner(b *testing.B, parallel int) *Runner {
	b.Helper()
	name := os.Getenv("HEARTH_BENCH_MODEL")
	if name == "" {
		name = "tiny-llama"
	}
	Init("")
	path, err := models.Ensure(context.Background(), "", name)
	if err != nil {
		b.Fatal(err)
	}
	r, err := Open(path, nil, engine.LoadConfig{NumCtx: 2048, NumBatch: 512, NumThread: numThreads(), Parallel: parallel})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

func numThreads() int {
	if n := os.Getenv("HEARTH_BENCH_THREADS"); n != "" {
		var v int
		fmt.Sscan(n, &v)
		return v
	}
	return max(1, runtimeNumCPU())
}

// BenchmarkDecodeSingle reports one stream's generation speed.
func BenchmarkDecodeSingle(b *testing.B) {
	r := benchRunner(b, 1)
	var toks int
	var dur time.Duration
	for i := 0; b.Loop(); i++ {
		_, last := enginetest.Collect(b, r, b.Context(), engine.GenerateRequest{Prompt: fmt.Sprintf("%d Tell me a long story", i), Options: enginetest.Greedy(64)})
		toks += last.EvalCount
		dur += last.EvalDuration
	}
	b.ReportMetric(float64(toks)/dur.Seconds(), "decode_tok/s")
}

// BenchmarkPromptEval reports prompt evaluation speed on a 400-token prompt that shares no prefix with
// the previous one.
func BenchmarkPromptEval(b *testing.B) {
	r := benchRunner(b, 1)
	body := strings.Repeat("the cat sat on the mat and looked at the bird ", 36)
	var toks int
	var dur time.Duration
	for i := 0; b.Loop(); i++ {
		_, last := enginetest.Collect(b, r, b.Context(), engine.GenerateRequest{Prompt: fmt.Sprintf("%d %s", i, body), Options: enginetest.Greedy(1)})
		toks += last.PromptEvalCount
		dur += last.PromptEvalDuration
	}
	b.ReportMetric(float64(toks)/dur.Seconds(), "prompt_tok/s")
}

// BenchmarkDecodeAggregate reports the total generation speed of N concurrent streams on N slots, the
// number that picks engine.DefaultParallel.
func BenchmarkDecodeAggregate(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := benchRunner(b, n)
			var toks int
			var mu sync.Mutex
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				var wg sync.WaitGroup
				for k := range n {
					wg.Go(func() {
						_, last := enginetest.Collect(b, r, b.Context(), engine.GenerateRequest{Prompt: fmt.Sprintf("%d-%d Tell me a long story", i, k), Options: enginetest.Greedy(64)})
						mu.Lock()
						toks += last.EvalCount
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(toks)/time.Since(start).Seconds(), "aggregate_tok/s")
		})
	}
}

func runtimeNumCPU() int { return runtime.NumCPU() }
