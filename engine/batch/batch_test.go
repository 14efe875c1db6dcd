package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// seqs returns sequences of the given lengths whose ids all equal their index.
func seqs(lengths ...int) []Seq {
	out := make([]Seq, len(lengths))
	for i, l := range lengths {
		ids := make([]int64, l)
		for k := range ids {
			ids[k] = int64(i)
		}
		out[i] = Seq{IDs: ids}
	}
	return out
}

// recorder is a run function that echoes each job's first id and length, and records batch sizes.
type recorder struct {
	mu      sync.Mutex
	batches [][]int // lengths per batch
	fail    error
	// delay is how long each model call takes.
	delay time.Duration
}

func (r *recorder) run(jobs []*Job) error {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	var lens []int
	for _, j := range jobs {
		lens = append(lens, len(j.IDs))
		j.Out = []float32{float32(j.IDs[0]), float32(len(j.IDs))}
	}
	r.batches = append(r.batches, lens)
	return r.fail
}

func TestResultsInOrderAndGrouped(t *testing.T) {
	r := &recorder{}
	b := New(Options{MaxBatch: 4, MaxTokens: 1000, Padded: true}, r.run)
	defer b.Close(nil)
	lengths := []int{30, 3, 5, 4, 31, 3, 6, 100, 2}
	out, err := b.Do(context.Background(), seqs(lengths...))
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if int(o[0]) != i || int(o[1]) != lengths[i] {
			t.Errorf("result %d is %v, want input %d of length %d", i, o, i, lengths[i])
		}
	}
	// Sorted by length; at most 4 per batch; 30 does not join the short ones, 100 runs alone.
	want := [][]int{{2, 3, 3, 4}, {5, 6}, {30, 31}, {100}}
	if !slices.EqualFunc(r.batches, want, slices.Equal) {
		t.Errorf("batches %v, want %v", r.batches, want)
	}
}

func TestTokenBudget(t *testing.T) {
	r := &recorder{}
	b := New(Options{MaxBatch: 100, MaxTokens: 20}, r.run)
	defer b.Close(nil)
	if _, err := b.Do(context.Background(), seqs(5, 5, 5, 5, 5, 30)); err != nil {
		t.Fatal(err)
	}
	// Unpadded: the sum of lengths counts, and an over-long sequence still runs alone.
	want := [][]int{{5, 5, 5, 5}, {5}, {30}}
	if !slices.EqualFunc(r.batches, want, slices.Equal) {
		t.Errorf("batches %v, want %v", r.batches, want)
	}
}

func TestConcurrentRequestsShareBatches(t *testing.T) {
	// Each model call takes 5 ms, so the 8 requests overlap whatever the scheduling.
	r := &recorder{delay: 5 * time.Millisecond}
	b := New(Options{MaxBatch: 64, Window: 20 * time.Millisecond}, r.run)
	defer b.Close(nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			out, err := b.Do(context.Background(), seqs(i+1))
			if err != nil || len(out) != 1 || int(out[0][1]) != i+1 {
				t.Errorf("request %d: %v, %v", i, out, err)
			}
		})
	}
	wg.Wait()
	if len(r.batches) >= 8 {
		t.Errorf("8 concurrent requests ran in %d batches", len(r.batches))
	}
}

// sleepCounter stands in for time.Sleep and counts the windows waited.
type sleepCounter struct {
	mu sync.Mutex
	n  int
}

func (s *sleepCounter) sleep(d time.Duration) {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
	time.Sleep(d)
}

func (s *sleepCounter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func TestWindowOnlyAfterRequestsOverlap(t *testing.T) {
	r := &recorder{delay: 5 * time.Millisecond}
	sc := &sleepCounter{}
	b := newBatcher(Options{MaxBatch: 64, Window: 2 * time.Millisecond}, r.run, sc.sleep)
	defer b.Close(nil)

	// One request at a time, as a single client sends them: never a window.
	for i := range 5 {
		if _, err := b.Do(context.Background(), seqs(i+1, i+2)); err != nil {
			t.Fatal(err)
		}
	}
	if n := sc.count(); n != 0 {
		t.Fatalf("sequential requests waited the window %d times, want 0", n)
	}

	// Overlapping requests: the next idle start waits for company.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if _, err := b.Do(context.Background(), seqs(i+1)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := b.Do(context.Background(), seqs(3)); err != nil {
		t.Fatal(err)
	}
	if n := sc.count(); n == 0 {
		t.Errorf("after requests overlapped, an idle start did not wait the window")
	}
}

func TestErrors(t *testing.T) {
	boom := errors.New("boom")
	r := &recorder{fail: boom}
	b := New(Options{MaxBatch: 4}, r.run)
	if _, err := b.Do(context.Background(), seqs(1, 2)); !errors.Is(err, boom) {
		t.Errorf("failing run: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Do(ctx, seqs(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if out, err := b.Do(context.Background(), nil); err != nil || len(out) != 0 {
		t.Errorf("no inputs: %v, %v", out, err)
	}
	closed := errors.New("unloaded")
	b.Close(closed)
	if _, err := b.Do(context.Background(), seqs(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestCloseFailsQueued(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	b := New(Options{MaxBatch: 1}, func(jobs []*Job) error {
		started <- struct{}{}
		<-release
		return nil
	})
	first := make(chan error, 1)
	go func() { _, err := b.Do(context.Background(), seqs(1)); first <- err }()
	<-started
	second := make(chan error, 1)
	go func() { _, err := b.Do(context.Background(), seqs(1)); second <- err }()
	time.Sleep(20 * time.Millisecond) // let the second request queue behind the running batch
	closed := errors.New("unloaded")
	go func() { time.Sleep(20 * time.Millisecond); close(release) }()
	b.Close(closed)
	if err := <-first; err != nil {
		t.Errorf("the running batch: %v", err)
	}
	if err := <-second; !errors.Is(err, closed) {
		t.Errorf("the queued request: %v, want Close's error", err)
	}
}
