package decode

import (
	"context"
	"errors"
	"sync"
)

// ErrUnloaded ends the sequences of a model that was unloaded while they ran, and refuses new ones.
var ErrUnloaded = errors.New("model was unloaded while the request was running")

// Admission hands a decode loop the sequences Generate submits from any goroutine. It holds one token per
// idle slot, so Generate waits while every slot is busy instead of queueing work no slot can take, and it
// tells the loop when the runner closes. S is the engine's sequence.
type Admission[S any] struct {
	free chan struct{} // one token per idle slot: Submit takes one, Release gives it back

	mu       sync.Mutex
	cond     *sync.Cond
	incoming []S
	closing  bool

	done chan struct{} // closed when the loop has exited
}

// NewAdmission returns an Admission for a loop of slots slots, all idle.
func NewAdmission[S any](slots int) *Admission[S] {
	a := &Admission[S]{free: make(chan struct{}, slots), done: make(chan struct{})}
	a.cond = sync.NewCond(&a.mu)
	for range slots {
		a.free <- struct{}{}
	}
	return a
}

// Submit waits for an idle slot and queues s for the loop. It fails with ctx's error when ctx ends first,
// and with ErrUnloaded once the runner closes; s was then not queued.
func (a *Admission[S]) Submit(ctx context.Context, s S) error {
	select {
	case <-a.free:
	case <-ctx.Done():
		return ctx.Err()
	case <-a.done:
		return ErrUnloaded
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		a.free <- struct{}{}
		return ErrUnloaded
	}
	a.incoming = append(a.incoming, s)
	a.cond.Signal()
	return nil
}

// Next is for the loop: it waits until there is work (sequences queued, or busy, the loop's own sequences
// still running) and takes the queued sequences. closing reports that the runner is closing; the loop then
// ends every sequence, Drain's included, and returns.
func (a *Admission[S]) Next(busy bool) (incoming []S, closing bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for !busy && len(a.incoming) == 0 && !a.closing {
		a.cond.Wait()
	}
	if a.closing {
		return nil, true
	}
	incoming, a.incoming = a.incoming, nil
	return incoming, false
}

// Drain takes the sequences queued but never handed to the loop, whose slots the loop is to Release.
func (a *Admission[S]) Drain() []S {
	a.mu.Lock()
	defer a.mu.Unlock()
	incoming := a.incoming
	a.incoming = nil
	return incoming
}

// Release gives back the slot of a sequence that ended (or of a queued one that never started).
func (a *Admission[S]) Release() { a.free <- struct{}{} }

// LoopExited is for the loop, deferred: it tells Close and Submit that the loop is gone.
func (a *Admission[S]) LoopExited() { close(a.done) }

// Close tells the loop to end every sequence and stop, and waits until it has. Call it once.
func (a *Admission[S]) Close() {
	a.mu.Lock()
	a.closing = true
	a.cond.Broadcast()
	a.mu.Unlock()
	<-a.done
}
