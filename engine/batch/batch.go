// Package batch groups the inputs of encoder models (embedders, classifiers, rerankers) into model calls.
// A Batcher owns one loaded model's compute: its goroutine takes the tokenized inputs of every request
// queued so far, sorts them by length, cuts them into batches the model can run at once and hands each
// batch to the backend. Inputs of one request and of concurrent requests share calls, so 64 short inputs
// cost a few model calls rather than 64. Backends (engine/onnx, engine/llama) supply the run function; the
// package knows nothing of either.
package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/hearthlink/hearth/engine"
)

// ErrClosed fails the requests still queued when a Batcher closes without a more specific error.
var ErrClosed = errors.New("model was unloaded while the request was running")

// Seq is one tokenized input.
type Seq struct {
	// IDs are the token ids, special tokens included.
	IDs []int64
	// TypeIDs are the segment ids (0 for the first text, 1 for the second of a pair), parallel to IDs;
	// nil means all zero.
	TypeIDs []int64
}

// Job is one Seq waiting for, or run by, the model.
type Job struct {
	Seq
	// Out is the job's result (a pooled vector, a row of logits), set by the run function.
	Out []float32

	ctx    context.Context
	ticket *ticket
}

// Options shape the batches a Batcher forms.
type Options struct {
	// Window is how long an idle Batcher waits after the first input arrives for others to join it,
	// when requests have overlapped within the last ConcurrencyMemory; 0 is no wait.
	Window time.Duration
	// MaxBatch is the most sequences in one model call (at least 1).
	MaxBatch int
	// MaxTokens bounds one model call: sequences × longest sequence when Padded, the sum of the lengths
	// otherwise. A longer sequence than this still runs, alone.
	MaxTokens int
	// Padded says the backend pads every sequence of a batch to the longest one, so a batch also ends
	// where the next sequence is more than about twice as long as its first.
	Padded bool
}

// ConcurrencyMemory is how long after two requests last overlapped an idle Batcher still waits its
// window for company. A client that sends one request at a time never overlaps itself, so its requests
// run at once instead of paying the window each time.
const ConcurrencyMemory = time.Second

// Batcher runs one model on batches of jobs from any number of concurrent requests. Its one goroutine
// takes everything queued, groups it (see Options), and calls run for each batch in turn. Jobs that arrive
// while a batch runs form the next batches, so a busy model batches by itself; an idle one waits
// Options.Window for company first, if requests have lately been arriving while others were in progress.
type Batcher struct {
	opts Options
	run  func([]*Job) error

	mu      sync.Mutex
	queue   []*Job
	closing bool
	// inflight counts the requests in Do; overlapped is when one last arrived while another was in it.
	inflight   int
	overlapped time.Time
	wake       chan struct{}
	done       chan struct{}
	// sleep waits out the window (time.Sleep; tests count the calls instead).
	sleep func(time.Duration)
}

// New starts a Batcher that hands batches to run. run fills each job's Out, or returns an error that
// fails every request with a job in the batch. Only the Batcher's goroutine calls run, so it may use a
// model context that is not safe for concurrent use.
func New(opts Options, run func([]*Job) error) *Batcher {
	return newBatcher(opts, run, time.Sleep)
}

func newBatcher(opts Options, run func([]*Job) error, sleep func(time.Duration)) *Batcher {
	opts.MaxBatch = max(opts.MaxBatch, 1)
	b := &Batcher{
		opts:  opts,
		run:   run,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		sleep: sleep,
	}
	go b.loop()
	return b
}

// Do queues seqs, waits for them, and returns their outputs in order. It returns ctx's error when ctx ends
// first, the run function's error when a batch fails, and ErrClosed (or Close's error) when the Batcher
// closes first.
func (b *Batcher) Do(ctx context.Context, seqs []Seq) ([][]float32, error) {
	if len(seqs) == 0 {
		return [][]float32{}, nil
	}
	t := &ticket{pending: len(seqs), done: make(chan struct{})}
	jobs := make([]*Job, len(seqs))
	for i, s := range seqs {
		jobs[i] = &Job{Seq: s, ctx: ctx, ticket: t}
	}
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if b.inflight > 0 {
		b.overlapped = time.Now()
	}
	b.inflight++
	b.queue = append(b.queue, jobs...)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inflight--
		b.mu.Unlock()
	}()
	b.signal()

	select {
	case <-t.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := t.result(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(jobs))
	for i, j := range jobs {
		out[i] = j.Out
	}
	return out, nil
}

// Close stops the goroutine after the batch in progress; queued requests fail with err (ErrClosed when
// nil). It waits for the goroutine, so run is not called after Close returns.
func (b *Batcher) Close(err error) {
	if err == nil {
		err = ErrClosed
	}
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	b.signal()
	<-b.done
	b.mu.Lock()
	left := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, j := range left {
		j.ticket.finish(err)
	}
}

// signal wakes the goroutine if it sleeps.
func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// loop is the Batcher's goroutine.
func (b *Batcher) loop() {
	defer close(b.done)
	idle := true
	for {
		if idle {
			<-b.wake
			if b.opts.Window > 0 && b.shouldWait() {
				b.sleep(b.opts.Window)
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
			engine.ObserveEncoderBatch(len(batch))
			err := b.run(batch)
			for _, j := range batch {
				j.ticket.finish(err)
			}
		}
	}
}

// shouldWait reports whether an idle Batcher that just got work should wait its window: requests
// overlapped within ConcurrencyMemory, the queue is not already a full batch, and it is not closing.
func (b *Batcher) shouldWait() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.closing && len(b.queue) < b.opts.MaxBatch && time.Since(b.overlapped) < ConcurrencyMemory
}

// plan drops jobs whose request has gone away and groups the rest into batches, shortest first.
func (b *Batcher) plan(jobs []*Job) [][]*Job {
	live := jobs[:0]
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.ticket.finish(err)
			continue
		}
		live = append(live, j)
	}
	slices.SortStableFunc(live, func(x, y *Job) int { return len(x.IDs) - len(y.IDs) })
	var batches [][]*Job
	for start := 0; start < len(live); {
		first := len(live[start].IDs)
		sum := first
		end := start + 1
		for ; end < len(live); end++ {
			n, l := end-start+1, len(live[end].IDs)
			cost := sum + l
			if b.opts.Padded {
				cost = n * l
			}
			if n > b.opts.MaxBatch || (b.opts.MaxTokens > 0 && cost > b.opts.MaxTokens) || (b.opts.Padded && l > 2*first+8) {
				break
			}
			sum += l
		}
		batches = append(batches, live[start:end])
		start = end
	}
	return batches
}

// ticket counts the unfinished jobs of one request and keeps the first failure.
type ticket struct {
	mu      sync.Mutex
	pending int
	err     error
	done    chan struct{}
}

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

// result is the first failure recorded.
func (t *ticket) result() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}
