package decode

import (
	"context"
	"sync"
)

// WatchStep calls abort, from another goroutine, as soon as every context in ctxs has ended while a decode
// step runs: the requests of all the sequences in the step's batch are gone, so an engine that can stop a
// computation in flight (engine/llama's Abort) frees their slots before the step ends instead of after
// it. stop unregisters the watch before the engine resets its abort for the next step; once stop has
// returned, abort is not called. With no contexts, nothing is watched.
func WatchStep(ctxs []context.Context, abort func()) (stop func()) {
	if len(ctxs) == 0 {
		return func() {}
	}
	w := &stepWatch{left: len(ctxs), abort: abort}
	stops := make([]func() bool, len(ctxs))
	for i, ctx := range ctxs {
		stops[i] = context.AfterFunc(ctx, w.ended)
	}
	return func() {
		for _, s := range stops {
			s()
		}
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
	}
}

type stepWatch struct {
	mu      sync.Mutex
	left    int
	stopped bool
	abort   func()
}

// ended is called once for each context that ends.
func (w *stepWatch) ended() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.left--
	if w.left == 0 && !w.stopped {
		w.abort()
	}
}
