package llama

import (
	"context"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/cputhreads"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/models"
)

// TestAutomaticThreadsGenerateWhatOneThreadDoes loads tiny-llama with num_thread 0, whose Tuner moves
// between every thread and one while it decodes, and with one fixed thread: greedy output must be the same
// (ggml splits each operation by rows, so the thread count must not change a value).
func TestAutomaticThreadsGenerateWhatOneThreadDoes(t *testing.T) {
	Init("")
	path, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, n := range []int{0, 1} {
		r, err := Open(path, nil, engine.LoadConfig{NumCtx: 512, NumBatch: 512, NumThread: n, Parallel: 1})
		if err != nil {
			t.Fatalf("num_thread %d: %v", n, err)
		}
		if n == 0 && r.threads.Max() != cputhreads.Default() {
			t.Errorf("num_thread 0 tunes up to %d threads, want cputhreads.Default() = %d", r.threads.Max(), cputhreads.Default())
		}
		text, _ := enginetest.Collect(t, r, t.Context(), engine.GenerateRequest{Prompt: "Once upon a time", Options: enginetest.Greedy(64)})
		r.Close()
		texts = append(texts, text)
	}
	if texts[0] == "" || texts[0] != texts[1] {
		t.Errorf("num_thread 0 generated %q, num_thread 1 %q", texts[0], texts[1])
	}
}
