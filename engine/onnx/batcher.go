package onnx

import (
	"context"
	"slices"
	"sync"
	"time"
)

// job is one tokenized input waiting for the model: the inputs of one request are several jobs sharing a
// ticket, and jobs of any number of requests meet in the batcher's queue.
type job struct {
	ctx    context.Context
	enc    encoding
	ticket *ticket
	// out is the job's row of the model output (a pooled vector or a row of logits), set before done.
	out []float32
}

// ticket counts the unfinished jobs of one request and keeps the first failure.
type ticket struct {
	mu      sync.Mutex
	pending int
	err     error
	done    chan struct{}
}

// newTicket returns a ticket for n jobs.
func newTicket(n int) *ticket { return &ticket{pending: n, done: make(chan struct{})} }

// finish records one job's end (err nil for success); the last one closes done.
func (t *ticket) finish(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil && t.err == nil {
		t.err = err
	}
	t.pending--
	if t.pending == 0 {
		close(t.done)
	}
}

// wait blocks until every job has finished or ctx ends, and returns the first failure.
func (t *ticket) wait(ctx context.Context) error {
	select {
	case <-t.done:
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batchOptions shape the batches a batcher forms.
type batchOptions struct {
	// window is how long an idle batcher waits after the first job arrives for others to join it.
	window time.Duration
	// maxBatch is the most sequences in one model call.
	maxBatch int
	// maxTokens bounds sequences × padded length of one model call, which bounds its memory.
	maxTokens int
}

// batcher runs a model on batches of jobs from any number of concurrent requests. Its one goroutine takes
// everything queued, sorts it by length, cuts it into batches of similar lengths (so little compute goes
// to padding) and calls run for each. Jobs that arrive while a batch runs form the next batches, so a
// busy model batches by itself; an idle one waits a short window for company first.
type batcher struct {
	opts batchOptions
	run  func([]*job) error

	mu      sync.Mutex
	queue   []*job
	closing bool
	wake    chan struct{}
	done    chan struct{}
}

// newBatcher starts a batcher that hands batches to run; run fills each job's out or returns an error
// that fails the whole batch.
func newBatcher(opts batchOptions, run func([]*job) error) *batcher {
	b := &batcher{
		opts: opts,
		run:  run,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	go b.loop()
	return b
}

// submit queues jobs; it reports false when the batcher is closing.
func (b *batcher) submit(jobs []*job) bool {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return false
	}
	b.queue = append(b.queue, jobs...)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return true
}

// close stops the goroutine after the batch in progress; queued jobs fail with err.
func (b *batcher) close(err error) {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	<-b.done
	b.mu.Lock()
	left := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, j := range left {
		j.ticket.finish(err)
	}
}

// loop is the batcher's goroutine.
func (b *batcher) loop() {
	defer close(b.done)
	idle := true
	for {
		if idle {
			<-b.wake
			if b.opts.window > 0 && !b.isClosing() && b.queued() < b.opts.maxBatch {
				time.Sleep(b.opts.window)
			}
		}
		b.mu.Lock()
		if b.closing {
			b.mu.Unlock()
			return
		}
		jobs := b.queue
		b.queue = nil
		b.mu.Unlock()
		idle = len(jobs) == 0
		for _, batch := range b.plan(jobs) {
			err := b.run(batch)
			for _, j := range batch {
				j.ticket.finish(err)
			}
		}
	}
}

// isClosing reports whether close has been called.
func (b *batcher) isClosing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closing
}

// queued is the number of jobs waiting.
func (b *batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// plan drops jobs whose request has gone away and groups the rest into batches: sorted by length, a batch
// ends at maxBatch sequences, at maxTokens padded tokens, or where the next sequence is more than twice as
// long as the batch's first (plus a little), which keeps padding cheap.
func (b *batcher) plan(jobs []*job) [][]*job {
	live := jobs[:0]
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.ticket.finish(err)
			continue
		}
		live = append(live, j)
	}
	slices.SortStableFunc(live, func(x, y *job) int { return len(x.enc.ids) - len(y.enc.ids) })
	var batches [][]*job
	for start := 0; start < len(live); {
		first := len(live[start].enc.ids)
		end := start + 1
		for end < len(live) {
			n, l := end-start+1, len(live[end].enc.ids)
			if n > b.opts.maxBatch || n*l > b.opts.maxTokens || l > 2*first+8 {
				break
			}
			end++
		}
		batches = append(batches, live[start:end])
		start = end
	}
	return batches
}
