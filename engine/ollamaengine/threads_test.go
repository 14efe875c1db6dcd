package ollamaengine

import (
	"context"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/cputhreads"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/models/hfmodels"
	"github.com/hearthlink/hearth/registry"
)

// TestAutomaticThreadsGenerateWhatOneThreadDoes loads tiny-gemma3 with num_thread 0, whose Tuner sets the
// CPU backend's threads before every forward pass, and with one fixed thread: greedy output must be the same.
func TestAutomaticThreadsGenerateWhatOneThreadDoes(t *testing.T) {
	path, err := hfmodels.Ensure(context.Background(), "", "tiny-gemma3")
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{All: true}
	var texts []string
	for _, n := range []int{0, 1} {
		loaded, err := b.Load(context.Background(), &registry.Model{ModelPath: path}, engine.LoadConfig{NumCtx: 256, NumBatch: 512, NumThread: n, Parallel: 1})
		if err != nil {
			t.Fatalf("num_thread %d: %v", n, err)
		}
		r := loaded.(*Runner)
		if tu := r.threads; n == 0 && tu.Max() != cputhreads.Default() {
			t.Errorf("num_thread 0 tunes up to %d threads, want cputhreads.Default() = %d", tu.Max(), cputhreads.Default())
		}
		opts := enginetest.Greedy(64)
		opts.RepeatPenalty = 1
		text, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "The quick brown fox", Options: opts})
		r.Close()
		texts = append(texts, text)
	}
	if texts[0] == "" || texts[0] != texts[1] {
		t.Errorf("num_thread 0 generated %q, num_thread 1 %q", texts[0], texts[1])
	}
}
