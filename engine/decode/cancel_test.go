package decode

import (
	"context"
	"testing"
)

func TestWatchStepAbortsWhenEveryRequestEnded(t *testing.T) {
	a, cancelA := context.WithCancel(t.Context())
	b, cancelB := context.WithCancel(t.Context())
	aborted := make(chan struct{}, 2)
	stop := WatchStep([]context.Context{a, b}, func() { aborted <- struct{}{} })
	cancelA()
	cancelB()
	<-aborted
	stop()
	if len(aborted) != 0 {
		t.Errorf("abort called %d more times", len(aborted))
	}
}

func TestStepWatchWaitsForAllAndStops(t *testing.T) {
	calls := 0
	w := &stepWatch{left: 2, abort: func() { calls++ }}
	w.ended()
	if calls != 0 {
		t.Fatalf("aborted with one request of two still there")
	}
	w.ended()
	if calls != 1 {
		t.Fatalf("abort called %d times once both requests ended, want 1", calls)
	}

	stopped := &stepWatch{left: 1, stopped: true, abort: func() { t.Error("abort called after stop") }}
	stopped.ended()
}
