package engine

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthlink/hearth/registry"
)

// The Scheduler's residency rules, against a fake backend whose loads the test finishes by hand and a fake
// clock whose keep-alive timers the test fires.

// fakeBackend runs every model. In manual mode each Load waits until the test finishes it through the
// loads channel; otherwise it returns a runner at once.
type fakeBackend struct {
	manual bool
	loads  chan *pendingLoad
	quit   chan struct{} // closed when the test ends: manual loads still waiting fail
	// size is each model's estimate by ShortName (1 byte when absent).
	size map[string]int64
	// parallel, when set, is the sequences each runner says it decodes at once, whatever it was loaded with.
	parallel int
	// resident is the memory each runner reports resident (0: it cannot tell).
	resident int64

	mu     sync.Mutex
	events []string // "load a", "close a", in order
	count  int      // Load calls
}

// pendingLoad is a manual Load in progress.
type pendingLoad struct {
	ctx   context.Context
	model *registry.Model
	cfg   LoadConfig
	done  chan error
}

// finish ends the load, with a runner when err is nil.
func (p *pendingLoad) finish(err error) { p.done <- err }

func newFakeBackend(manual bool) *fakeBackend {
	return &fakeBackend{manual: manual, loads: make(chan *pendingLoad, 16), quit: make(chan struct{}), size: map[string]int64{}}
}

func (b *fakeBackend) Name() string { return "fake" }
func (b *fakeBackend) Supports(m *registry.Model) bool {
	return !strings.HasPrefix(m.ShortName, "unsupported")
}

func (b *fakeBackend) Estimate(m *registry.Model, cfg LoadConfig) (Estimate, error) {
	if n, ok := b.size[m.ShortName]; ok {
		return Estimate{Weights: n}, nil
	}
	return Estimate{Weights: 1}, nil
}

func (b *fakeBackend) Load(ctx context.Context, m *registry.Model, cfg LoadConfig) (Runner, error) {
	b.mu.Lock()
	b.count++
	b.mu.Unlock()
	if b.manual {
		p := &pendingLoad{ctx: ctx, model: m, cfg: cfg, done: make(chan error)}
		b.loads <- p
		select {
		case err := <-p.done:
			if err != nil {
				return nil, err
			}
		case <-b.quit:
			return nil, errors.New("the test ended")
		}
	}
	b.note("load " + m.ShortName)
	r := &fakeRunner{b: b, name: m.ShortName, numCtx: cfg.NumCtx, closed: make(chan struct{})}
	if b.parallel > 0 {
		return &narrowRunner{fakeRunner: r, parallel: b.parallel}, nil
	}
	return r, nil
}

// narrowRunner is a runner that decodes fewer sequences than it was loaded with.
type narrowRunner struct {
	*fakeRunner
	parallel int
}

func (r *narrowRunner) Parallel() int { return r.parallel }

func (b *fakeBackend) note(e string) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

func (b *fakeBackend) loadCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

func (b *fakeBackend) eventLog() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.events, ", ")
}

// next returns the next manual load.
func (b *fakeBackend) next(t *testing.T) *pendingLoad {
	t.Helper()
	select {
	case p := <-b.loads:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no load started")
		return nil
	}
}

// fakeRunner is a loaded model that records its Close.
type fakeRunner struct {
	b      *fakeBackend
	name   string
	numCtx int
	once   sync.Once
	closed chan struct{}
}

func (r *fakeRunner) ContextLength() int { return r.numCtx }

func (r *fakeRunner) Resident() int64 { return r.b.resident }

func (r *fakeRunner) Close() error {
	r.once.Do(func() {
		r.b.note("close " + r.name)
		close(r.closed)
	})
	return nil
}

func (r *fakeRunner) isClosed() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

// fakeTimers stands in for time.AfterFunc: timers fire only when the test says.
type fakeTimers struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	ft      *fakeTimers
	d       time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool {
	t.ft.mu.Lock()
	defer t.ft.mu.Unlock()
	t.stopped = true
	return true
}

func (ft *fakeTimers) after(d time.Duration, f func()) stopper {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{ft: ft, d: d, f: f}
	ft.timers = append(ft.timers, t)
	return t
}

// armed returns the durations of the timers not stopped.
func (ft *fakeTimers) armed() []time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var out []time.Duration
	for _, t := range ft.timers {
		if !t.stopped {
			out = append(out, t.d)
		}
	}
	return out
}

// fire runs the i-th timer made, even a stopped one, as a timer that fires while being stopped would.
func (ft *fakeTimers) fire(i int) {
	ft.mu.Lock()
	f := ft.timers[i].f
	ft.mu.Unlock()
	f()
}

// discardLog is a logger for tests that write nothing.
var discardLog = slog.New(slog.DiscardHandler)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestScheduler returns a Scheduler over b with the default config changed by tune (when not nil), a
// fixed clock and fake timers. It is closed when the test ends, after b's unfinished loads fail, so a
// failing test does not hang on them.
func newTestScheduler(t *testing.T, b *fakeBackend, tune func(*Config)) (*Scheduler, *fakeTimers) {
	cfg := DefaultConfig()
	if tune != nil {
		tune(&cfg)
	}
	cfg.Backends = []Backend{b}
	cfg.Logger = discardLog
	s := NewScheduler(cfg)
	ft := &fakeTimers{}
	s.now = func() time.Time { return testNow }
	s.after = ft.after
	t.Cleanup(func() {
		close(b.quit)
		s.Close()
	})
	return s, ft
}

func testModel(name string) *registry.Model {
	return &registry.Model{ShortName: name, ModelPath: "/blobs/" + name, Digest: "digest-" + name}
}

var cfgA = LoadConfig{NumCtx: 2048, NumBatch: 512, Parallel: 4}

type acquired struct {
	lease *Lease
	err   error
}

// acquireAsync runs Acquire in a goroutine.
func acquireAsync(ctx context.Context, s *Scheduler, m *registry.Model, cfg LoadConfig, ka time.Duration) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		l, err := s.Acquire(ctx, m, cfg, ka)
		ch <- acquired{l, err}
	}()
	return ch
}

func mustAcquire(t *testing.T, s *Scheduler, m *registry.Model, cfg LoadConfig, ka time.Duration) *Lease {
	t.Helper()
	l, err := s.Acquire(context.Background(), m, cfg, ka)
	if err != nil {
		t.Fatalf("Acquire %s: %v", m.ShortName, err)
	}
	return l
}

func result(t *testing.T, ch <-chan acquired) acquired {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Acquire did not return")
		return acquired{}
	}
}

// waitUntil polls cond, which reads the scheduler's state under its lock, until it holds: the goroutines
// under test reach their waiting points in their own time.
func waitUntil(t *testing.T, s *Scheduler, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

func refs(s *Scheduler, m *registry.Model) int {
	if lm := s.loaded[modelKey(m)]; lm != nil {
		return lm.refs
	}
	return -1
}

func loadedNames(s *Scheduler) string {
	var names []string
	for _, r := range s.Loaded() {
		names = append(names, r.Name)
	}
	return strings.Join(names, ",")
}

func TestConcurrentRequestsShareOneLoad(t *testing.T) {
	b := newFakeBackend(true)
	s, _ := newTestScheduler(t, b, nil)
	m := testModel("a")
	var chs []<-chan acquired
	for range 3 {
		chs = append(chs, acquireAsync(context.Background(), s, m, cfgA, time.Minute))
	}
	p := b.next(t)
	// Each waits holding a reference to the loading model, or, when it came before the load was
	// registered, for the load turn (pending counts those and the loader, which holds a reference).
	waitUntil(t, s, "all three wait for the load", func() bool { return refs(s, m)+s.pending-1 == 3 })
	p.finish(nil)
	var runner Runner
	for _, ch := range chs {
		r := result(t, ch)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if runner != nil && r.lease.Runner != runner {
			t.Error("requests with the same load config got different runners")
		}
		runner = r.lease.Runner
		r.lease.Release()
	}
	if n := b.loadCount(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}

func TestOtherLoadConfigReloadsAfterRunningLeases(t *testing.T) {
	b := newFakeBackend(false)
	s, _ := newTestScheduler(t, b, nil)
	m := testModel("a")
	first := mustAcquire(t, s, m, cfgA, time.Minute)
	cfgB := cfgA
	cfgB.NumCtx = 8192
	ch := acquireAsync(context.Background(), s, m, cfgB, time.Minute)
	waitUntil(t, s, "the old load is marked for unloading", func() bool { return s.loaded[modelKey(m)].expiring })
	select {
	case <-ch:
		t.Fatal("a reload did not wait for the running lease of the old load")
	default:
	}
	if first.Runner.(*fakeRunner).isClosed() {
		t.Fatal("the runner of a running lease was closed")
	}
	first.Release()
	r := result(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.lease.Release()
	if got := r.lease.Runner.ContextLength(); got != 8192 {
		t.Errorf("reloaded with num_ctx %d, want 8192", got)
	}
	if got, want := b.eventLog(), "load a, close a, load a"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestOneLoadAtATime(t *testing.T) {
	b := newFakeBackend(true)
	s, _ := newTestScheduler(t, b, nil)
	chA := acquireAsync(context.Background(), s, testModel("a"), cfgA, time.Minute)
	p := b.next(t)
	chB := acquireAsync(context.Background(), s, testModel("b"), cfgA, time.Minute)
	waitUntil(t, s, "the second request waits", func() bool { return s.pending == 2 })
	select {
	case <-b.loads:
		t.Fatal("a second load started while one was in progress")
	default:
	}
	p.finish(nil)
	b.next(t).finish(nil)
	for _, ch := range []<-chan acquired{chA, chB} {
		if r := result(t, ch); r.err != nil {
			t.Fatal(r.err)
		} else {
			r.lease.Release()
		}
	}
}

func TestEvictionOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		// keep-alives of a and b, and which of them stay busy while c loads
		kaA, kaB     time.Duration
		busyA, busyB bool
		evicted      string
	}{
		{name: "shortest keep-alive first", kaA: 10 * time.Minute, kaB: time.Minute, evicted: "b"},
		{name: "then by key", kaA: time.Minute, kaB: time.Minute, evicted: "a"},
		{name: "forever last", kaA: -1, kaB: time.Hour, evicted: "b"},
		{name: "idle before busy", kaA: time.Minute, kaB: time.Hour, busyA: true, evicted: "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend(false)
			s, _ := newTestScheduler(t, b, func(c *Config) { c.MaxLoadedModels = 2 })
			la := mustAcquire(t, s, testModel("a"), cfgA, tc.kaA)
			lb := mustAcquire(t, s, testModel("b"), cfgA, tc.kaB)
			if !tc.busyA {
				la.Release()
			}
			if !tc.busyB {
				lb.Release()
			}
			lc := mustAcquire(t, s, testModel("c"), cfgA, time.Minute)
			defer lc.Release()
			want := map[string]string{"a": "b,c", "b": "a,c"}[tc.evicted]
			if got := sortedNames(s); got != want {
				t.Errorf("loaded %s, want %s", got, want)
			}
			if !strings.Contains(b.eventLog(), "close "+tc.evicted) {
				t.Errorf("%s was not closed: %s", tc.evicted, b.eventLog())
			}
			la.Release()
			lb.Release()
		})
	}
}

func sortedNames(s *Scheduler) string {
	var names []string
	for _, r := range s.Loaded() {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

func TestBusyVictimIsWaitedFor(t *testing.T) {
	b := newFakeBackend(false)
	s, _ := newTestScheduler(t, b, func(c *Config) { c.MaxLoadedModels = 1 })
	la := mustAcquire(t, s, testModel("a"), cfgA, time.Minute)
	ch := acquireAsync(context.Background(), s, testModel("b"), cfgA, time.Minute)
	waitUntil(t, s, "a is marked for unloading", func() bool { return s.loaded[modelKey(testModel("a"))].expiring })
	select {
	case <-ch:
		t.Fatal("b loaded while a was still in use with room for one model")
	default:
	}
	la.Release()
	r := result(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.lease.Release()
	if got, want := b.eventLog(), "load a, close a, load b"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestMemoryLimit(t *testing.T) {
	b := newFakeBackend(false)
	b.size = map[string]int64{"a": 60, "b": 60, "huge": 101}
	s, _ := newTestScheduler(t, b, func(c *Config) { c.MemoryLimit = 100 })
	mustAcquire(t, s, testModel("a"), cfgA, time.Minute).Release()
	mustAcquire(t, s, testModel("b"), cfgA, time.Minute).Release()
	if got := loadedNames(s); got != "b" {
		t.Errorf("loaded %q, want b alone: a and b do not fit together", got)
	}
	_, err := s.Acquire(context.Background(), testModel("huge"), cfgA, time.Minute)
	var le *LoadError
	var me *InsufficientMemoryError
	if !errors.As(err, &le) || !errors.As(err, &me) {
		t.Fatalf("got %v, want a *LoadError for insufficient memory", err)
	}
	if got := loadedNames(s); got != "b" {
		t.Errorf("a model too large for the limit unloaded others: loaded %q", got)
	}
}

func TestKeepAlive(t *testing.T) {
	b := newFakeBackend(false)
	s, ft := newTestScheduler(t, b, nil)
	m := testModel("a")

	l := mustAcquire(t, s, m, cfgA, 5*time.Minute)
	if len(ft.armed()) != 0 {
		t.Error("a keep-alive timer runs while the model is in use")
	}
	l.Release()
	if got := ft.armed(); len(got) != 1 || got[0] != 5*time.Minute {
		t.Fatalf("timers after release %v, want one of 5m", got)
	}
	// Taken and released again before the timer fires: the first timer's firing is stale, whether the
	// model is in use or idle with a later deadline.
	l = mustAcquire(t, s, m, cfgA, 5*time.Minute)
	ft.fire(0)
	if loadedNames(s) != "a" || l.Runner.(*fakeRunner).isClosed() {
		t.Fatal("a stale keep-alive timer unloaded a model in use")
	}
	l.Release()
	ft.fire(0)
	if loadedNames(s) != "a" || l.Runner.(*fakeRunner).isClosed() {
		t.Fatal("a stale keep-alive timer unloaded a model whose keep-alive restarted")
	}
	ft.fire(1)
	if got := loadedNames(s); got != "" || !l.Runner.(*fakeRunner).isClosed() {
		t.Fatalf("after the keep-alive ran out, loaded %q", got)
	}

	l = mustAcquire(t, s, m, cfgA, 0)
	l.Release()
	if got := loadedNames(s); got != "" || !l.Runner.(*fakeRunner).isClosed() {
		t.Errorf("keep-alive 0 left %q loaded", got)
	}

	l = mustAcquire(t, s, m, cfgA, -1)
	l.Release()
	if len(ft.armed()) != 0 {
		t.Error("a negative keep-alive armed a timer")
	}
	if ps := s.Loaded(); len(ps) != 1 || ps[0].ExpiresAt.Before(testNow.AddDate(100, 0, 0)) {
		t.Errorf("a model kept forever shows %+v", ps)
	}
}

func TestExpire(t *testing.T) {
	b := newFakeBackend(false)
	s, _ := newTestScheduler(t, b, nil)
	m := testModel("a")
	if s.Expire(m) {
		t.Error("Expire of a model not loaded reported true")
	}

	mustAcquire(t, s, m, cfgA, time.Minute).Release()
	if !s.Expire(m) || loadedNames(s) != "" {
		t.Fatal("Expire of an idle model did not unload it")
	}

	busy := mustAcquire(t, s, m, cfgA, time.Minute)
	if !s.Expire(m) {
		t.Fatal("Expire of a busy model reported false")
	}
	if busy.Runner.(*fakeRunner).isClosed() {
		t.Fatal("Expire closed a model in use")
	}
	ch := acquireAsync(context.Background(), s, m, cfgA, time.Minute)
	waitUntil(t, s, "the new request waits", func() bool { return s.pending == 1 })
	select {
	case <-ch:
		t.Fatal("a model being expired gave a new lease")
	default:
	}
	busy.Release()
	r := result(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.lease.Release()
	if !busy.Runner.(*fakeRunner).isClosed() || r.lease.Runner == busy.Runner {
		t.Error("the expired model was not unloaded and loaded again")
	}
}

func TestQueueLimit(t *testing.T) {
	b := newFakeBackend(true)
	s, _ := newTestScheduler(t, b, func(c *Config) { c.MaxQueue = 1 })
	chA := acquireAsync(context.Background(), s, testModel("a"), cfgA, time.Minute)
	p := b.next(t)
	if _, err := s.Acquire(context.Background(), testModel("b"), cfgA, time.Minute); !errors.Is(err, ErrServerBusy) {
		t.Errorf("a request over the queue limit got %v, want ErrServerBusy", err)
	}
	// A request for the model being loaded joins that load instead of queueing.
	chA2 := acquireAsync(context.Background(), s, testModel("a"), cfgA, time.Minute)
	waitUntil(t, s, "the second request joins the load", func() bool { return refs(s, testModel("a")) == 2 })
	p.finish(nil)
	for _, ch := range []<-chan acquired{chA, chA2} {
		if r := result(t, ch); r.err != nil {
			t.Fatal(r.err)
		} else {
			r.lease.Release()
		}
	}
}

// TestQueueBoundsRequestsWaitingForSlots: once a model is loaded, MaxQueue also bounds the requests
// waiting for one of its sequences: with 1 sequence and a queue of 2, the fourth concurrent request is
// refused, and one finishing lets the next in. Requests for another model are not counted against it.
func TestQueueBoundsRequestsWaitingForSlots(t *testing.T) {
	b := newFakeBackend(false)
	s, _ := newTestScheduler(t, b, func(c *Config) { c.MaxQueue = 2 })
	one := LoadConfig{NumCtx: 2048, NumBatch: 512, Parallel: 1}
	var leases []*Lease
	for range 3 { // one decoding, two waiting for its sequence
		leases = append(leases, mustAcquire(t, s, testModel("a"), one, time.Minute))
	}
	if _, err := s.Acquire(context.Background(), testModel("a"), one, time.Minute); !errors.Is(err, ErrServerBusy) {
		t.Fatalf("a fourth request for a model with 1 sequence and a queue of 2 got %v, want ErrServerBusy", err)
	}
	other := mustAcquire(t, s, testModel("b"), one, time.Minute)
	other.Release()
	leases[0].Release()
	l := mustAcquire(t, s, testModel("a"), one, time.Minute)
	l.Release()
	for _, l := range leases[1:] {
		l.Release()
	}
	// A runner that decodes fewer sequences than it was loaded with (a hybrid architecture) counts as such.
	b.parallel = 1
	four := LoadConfig{NumCtx: 1024, NumBatch: 512, Parallel: 4}
	leases = leases[:0]
	for range 3 {
		leases = append(leases, mustAcquire(t, s, testModel("c"), four, time.Minute))
	}
	if _, err := s.Acquire(context.Background(), testModel("c"), four, time.Minute); !errors.Is(err, ErrServerBusy) {
		t.Errorf("a runner of 1 sequence loaded with 4: the fourth request got %v, want ErrServerBusy", err)
	}
	for _, l := range leases {
		l.Release()
	}
}

func TestClientLeavingWhileWaiting(t *testing.T) {
	b := newFakeBackend(true)
	s, _ := newTestScheduler(t, b, nil)
	m := testModel("a")
	ctx, cancel := context.WithCancel(context.Background())
	leaving := acquireAsync(ctx, s, m, cfgA, time.Minute)
	p := b.next(t)
	staying := acquireAsync(context.Background(), s, m, cfgA, time.Minute)
	waitUntil(t, s, "both wait for the load", func() bool { return refs(s, m) == 2 })
	cancel()
	if r := result(t, leaving); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("the client that left got %v, want context.Canceled", r.err)
	}
	if p.ctx.Err() != nil {
		t.Fatal("the load's context ended with the client that started it")
	}
	p.finish(nil)
	r := result(t, staying)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.lease.Release()
	mustAcquire(t, s, m, cfgA, time.Minute).Release()
	if n := b.loadCount(); n != 1 {
		t.Errorf("%d loads, want 1: the load a leaving client started serves the others", n)
	}
}

func TestFailedLoad(t *testing.T) {
	b := newFakeBackend(true)
	s, _ := newTestScheduler(t, b, nil)
	m := testModel("a")
	ch1 := acquireAsync(context.Background(), s, m, cfgA, time.Minute)
	p := b.next(t)
	ch2 := acquireAsync(context.Background(), s, m, cfgA, time.Minute)
	waitUntil(t, s, "both wait for the load", func() bool { return refs(s, m) == 2 })
	boom := errors.New("bad weights")
	p.finish(boom)
	for _, ch := range []<-chan acquired{ch1, ch2} {
		var le *LoadError
		if r := result(t, ch); !errors.As(r.err, &le) || !errors.Is(r.err, boom) {
			t.Errorf("a waiter got %v, want a *LoadError wrapping the backend's error", r.err)
		}
	}
	if got := loadedNames(s); got != "" {
		t.Errorf("a failed load is listed: %q", got)
	}
	ch3 := acquireAsync(context.Background(), s, m, cfgA, time.Minute)
	b.next(t).finish(nil)
	if r := result(t, ch3); r.err != nil {
		t.Errorf("a load after a failed one: %v", r.err)
	} else {
		r.lease.Release()
	}
}

func TestLoadTimeout(t *testing.T) {
	b := newFakeBackend(true)
	s, _ := newTestScheduler(t, b, func(c *Config) { c.LoadTimeout = time.Millisecond })
	m := testModel("a")
	ch := acquireAsync(context.Background(), s, m, cfgA, time.Minute)
	p := b.next(t)
	if _, ok := p.ctx.Deadline(); !ok {
		t.Error("the backend's Load got no deadline")
	}
	// The load is held until the timeout has been reported: the backend returns late.
	r := result(t, ch)
	var le *LoadError
	if !errors.As(r.err, &le) || !errors.Is(r.err, ErrLoadTimeout) {
		t.Fatalf("got %v, want a *LoadError for the load timeout", r.err)
	}
	if msg := r.err.Error(); !strings.Contains(msg, "OLLAMA_LOAD_TIMEOUT") || !strings.Contains(msg, "1ms") {
		t.Errorf("message %q should name OLLAMA_LOAD_TIMEOUT and its value", msg)
	}
	if got := loadedNames(s); got != "" {
		t.Errorf("a timed-out load is listed: %q", got)
	}
	p.finish(nil)
	waitUntil(t, s, "the late runner is closed", func() bool { return strings.Contains(b.eventLog(), "close a") })

	// Nothing of the failed load stays: the next request loads afresh.
	ch = acquireAsync(context.Background(), s, m, cfgA, time.Minute)
	p = b.next(t)
	p.finish(nil)
	if r := result(t, ch); r.err != nil {
		t.Errorf("a fast load after a timed-out one: %v", r.err)
	} else {
		r.lease.Release()
	}
}

func TestClose(t *testing.T) {
	b := newFakeBackend(false)
	s, _ := newTestScheduler(t, b, nil)
	l := mustAcquire(t, s, testModel("a"), cfgA, time.Minute)
	mustAcquire(t, s, testModel("b"), cfgA, time.Minute).Release()
	s.Close()
	if !l.Runner.(*fakeRunner).isClosed() || !strings.Contains(b.eventLog(), "close b") {
		t.Errorf("Close left models loaded: %s", b.eventLog())
	}
	l.Release()
	if _, err := s.Acquire(context.Background(), testModel("a"), cfgA, time.Minute); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
}

func TestUnsupportedModel(t *testing.T) {
	s, _ := newTestScheduler(t, newFakeBackend(false), nil)
	_, err := s.Acquire(context.Background(), testModel("unsupported"), cfgA, time.Minute)
	if !errors.Is(err, ErrUnsupportedModel) {
		t.Errorf("got %v, want ErrUnsupportedModel", err)
	}
}

func TestLoadedListsModelsForPs(t *testing.T) {
	b := newFakeBackend(false)
	b.size = map[string]int64{"a": 100, "b": 200}
	s, _ := newTestScheduler(t, b, nil)
	mustAcquire(t, s, testModel("a"), cfgA, time.Minute).Release()
	busy := mustAcquire(t, s, testModel("b"), LoadConfig{NumCtx: 1024}, time.Hour)
	defer busy.Release()
	ps := s.Loaded()
	if len(ps) != 2 {
		t.Fatalf("Loaded listed %d models, want 2", len(ps))
	}
	// b, in use, shows now + its keep-alive and so expires last: it comes first.
	if ps[0].Name != "b" || ps[0].Size != 200 || ps[0].ContextLength != 1024 || !ps[0].ExpiresAt.Equal(testNow.Add(time.Hour)) {
		t.Errorf("first entry %+v", ps[0])
	}
	if ps[1].Name != "a" || ps[1].Digest != "digest-a" || ps[1].ContextLength != 2048 || !ps[1].ExpiresAt.Equal(testNow.Add(time.Minute)) {
		t.Errorf("second entry %+v", ps[1])
	}
}
