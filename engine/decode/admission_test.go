package decode

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestAdmissionWaitsForAnIdleSlotAndRefusesAfterClose(t *testing.T) {
	a := NewAdmission[int](1)
	if err := a.Submit(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := a.Submit(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("submit with every slot busy: %v, want the context's deadline", err)
	}
	if got, closing := a.Next(false); !slices.Equal(got, []int{1}) || closing {
		t.Fatalf("Next = %v %v, want [1] false", got, closing)
	}
	a.Release()
	if err := a.Submit(t.Context(), 3); err != nil {
		t.Fatal(err)
	}

	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	for !a.isClosing() { // Next reports sequences queued before the close; wait for it to start
		runtime.Gosched()
	}
	if _, closing := a.Next(true); !closing {
		t.Fatal("Next does not report the close")
	}
	if got := a.Drain(); !slices.Equal(got, []int{3}) {
		t.Errorf("Drain = %v, want the queued [3]", got)
	}
	a.Release()
	a.LoopExited()
	<-closed
	if err := a.Submit(t.Context(), 4); !errors.Is(err, ErrUnloaded) {
		t.Errorf("submit after close: %v, want ErrUnloaded", err)
	}
}

// isClosing reports whether Close has begun.
func (a *Admission[S]) isClosing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closing
}
