package llama

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/internal/llamaext"
	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// promptOf returns a prompt of at least n tokens that starts with head.
func promptOf(t *testing.T, r *Runner, head string, n int) string {
	t.Helper()
	p := head
	for i := 0; len(tokens(t, r, p)) < n; i++ {
		p += fmt.Sprintf(" %s %d", head, i)
	}
	return p
}

// TestOneSequenceUsesTheWholePool checks that the slots share one KV pool of num_ctx cells, not num_ctx
// each, and that one request still uses all of it while the other slots' caches hold cells: those are
// dropped to make room.
func TestOneSequenceUsesTheWholePool(t *testing.T) {
	const numCtx = 128
	r := openTiny(t, 4, numCtx)
	cells, seqCells := llamaext.ContextCells(r.lctx)
	if seqCells != cells || cells < numCtx || cells >= 4*numCtx {
		t.Fatalf("llama.cpp made %d cells, %d per sequence; want one pool of about %d shared by the 4 slots", cells, seqCells, numCtx)
	}
	for i := range 3 { // leave caches in the slots
		enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: promptOf(t, r, fmt.Sprintf("Cache %d", i), 40), Options: enginetest.Greedy(4)})
	}
	long := promptOf(t, r, "Long", numCtx-12)
	_, last := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: long, Options: enginetest.Greedy(100)})
	filled := last.DoneReason == "length" && last.PromptEvalCount+last.EvalCount >= numCtx-1
	if last.PromptEvalCount < numCtx-12 || !filled && last.DoneReason != "stop" {
		t.Errorf("a %d-token prompt in a %d-token context ended %q after %d tokens; want it to fill the context",
			last.PromptEvalCount, numCtx, last.DoneReason, last.EvalCount)
	}
}

// TestConcurrentBeyondThePool runs three requests that together need two and a half times the pool: they
// take turns (the younger ones wait, or are preempted and evaluated again) and each produces exactly what
// it produces alone.
func TestConcurrentBeyondThePool(t *testing.T) {
	const numCtx, prompt, predict = 64, 24, 30
	r := openTiny(t, 4, numCtx)
	prompts := make([]string, 3)
	want := make([]string, len(prompts))
	for i := range prompts {
		prompts[i] = promptOf(t, r, strings.Repeat(fmt.Sprintf("Topic %c ", 'A'+i), 2), prompt)
		want[i], _ = enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompts[i], Options: enginetest.Greedy(predict)})
	}
	before := enginetest.Preemptions(t)
	got := make([]string, len(prompts))
	ends := make([]engine.Chunk, len(prompts))
	var wg sync.WaitGroup
	for i := range prompts {
		wg.Go(func() {
			got[i], ends[i] = enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: prompts[i], Options: enginetest.Greedy(predict)})
		})
	}
	wg.Wait()
	for i := range prompts {
		if got[i] != want[i] {
			t.Errorf("request %d: concurrent %q, alone %q", i, got[i], want[i])
		}
		if ends[i].Err != nil || ends[i].DoneReason == "" {
			t.Errorf("request %d ended %q, %v", i, ends[i].DoneReason, ends[i].Err)
		}
	}
	if enginetest.Preemptions(t) == before {
		t.Errorf("no sequence was preempted, though the three needed about %d cells of %d", len(prompts)*(prompt+predict), numCtx)
	}
}

// TestEstimateCountsOnePool checks that the memory forecast before a load counts the one KV pool the slots
// share, not one per slot.
func TestEstimateCountsOnePool(t *testing.T) {
	path, err := models.Ensure(t.Context(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	m := &registry.Model{ModelPath: path}
	b := NewBackend("")
	one, err1 := b.Estimate(m, engine.LoadConfig{NumCtx: 1024, NumBatch: 512, Parallel: 1})
	four, err4 := b.Estimate(m, engine.LoadConfig{NumCtx: 1024, NumBatch: 512, Parallel: 4})
	if err1 != nil || err4 != nil || one.KV == 0 || four.KV != one.KV {
		t.Errorf("KV estimate %d bytes with 1 slot, %d with 4 (%v, %v); want the same pool", one.KV, four.KV, err1, err4)
	}
}
