package engine

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearthlink/hearth/registry"
)

// forever is how a negative keep-alive is stored, as in Ollama.
const forever = time.Duration(math.MaxInt64)

// Config tunes a Scheduler: which backends run models and how many models, how much memory and how many
// waiting requests it allows. The Scheduler takes the values as given; start from DefaultConfig.
type Config struct {
	// Backends are asked in order which one runs a model.
	Backends []Backend
	// MaxLoadedModels caps the models loaded at once (OLLAMA_MAX_LOADED_MODELS).
	MaxLoadedModels int
	// MaxQueue caps the requests waiting for a model to load (OLLAMA_MAX_QUEUE).
	MaxQueue int
	// MemoryLimit is the memory all loaded models may use together, in bytes.
	MemoryLimit int64
	// LoadTimeout bounds one model load; 0 is no bound (OLLAMA_LOAD_TIMEOUT).
	LoadTimeout time.Duration
	// Logger receives load and unload notes; nil is slog.Default().
	Logger *slog.Logger
}

// Scheduler loads models on first use, shares them between requests, and unloads them when their
// keep-alive runs out or room is needed, following Ollama's rules (server/sched.go): a request for a model
// already loaded with the same load options is served at once; others wait, up to MaxQueue of them, for
// their model to load, one load at a time, while loaded models keep serving.
type Scheduler struct {
	cfg Config
	log *slog.Logger

	// now and after are the clock and the keep-alive timers, replaced by tests.
	now   func() time.Time
	after func(d time.Duration, f func()) stopper

	loadTurn chan struct{} // one load at a time; the load's goroutine holds it until the load ends

	mu      sync.Mutex
	loaded  map[string]*loadedModel
	pending int
	closed  bool
}

// stopper is a timer that can be stopped (*time.Timer).
type stopper interface{ Stop() bool }

// loadedModel is a model in memory (or loading), with who is using it. Its fields are guarded by the
// Scheduler's mu, except runner and loadErr, which are written once before ready is closed.
type loadedModel struct {
	key      string
	model    *registry.Model
	cfg      LoadConfig
	backend  Backend
	estimate Estimate

	ready   chan struct{} // closed when the load ended
	runner  Runner
	loadErr error

	refs      int
	keepAlive time.Duration
	expiresAt time.Time // zero while in use
	timer     stopper   // the keep-alive timer, armed while idle
	timerGen  int       // tells a stale keep-alive firing from the current one
	expiring  bool      // unload as soon as idle; no new leases
	unloaded  bool      // removed and its runner closed (or being closed)
	gone      chan struct{}
}

// NewScheduler returns a Scheduler with cfg as given.
func NewScheduler(cfg Config) *Scheduler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{
		cfg: cfg, log: log,
		now:      time.Now,
		after:    func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) },
		loadTurn: make(chan struct{}, 1),
		loaded:   map[string]*loadedModel{},
	}
}

// Lease is a loaded model reserved for one request; Release gives it back.
type Lease struct {
	// Runner is the loaded model.
	Runner Runner
	// Model is the stored model the runner was loaded from.
	Model *registry.Model

	s    *Scheduler
	lm   *loadedModel
	once sync.Once
}

// Release gives the lease back; the model's keep-alive starts when its last lease is released.
func (l *Lease) Release() { l.once.Do(func() { l.s.release(l.lm) }) }

// Acquire returns m loaded with cfg, loading it (and unloading others to make room) when needed. keepAlive
// is how long m stays loaded once its last lease is released, already resolved by the caller: 0 unloads it
// at once, negative keeps it forever. Errors: ErrServerBusy when the queue is full (MaxQueue requests wait for
// a load, or for a sequence of m beyond the ones it decodes), *LoadError when the
// model cannot load (no backend runs it, too little memory, the backend failed, OLLAMA_LOAD_TIMEOUT ran
// out), ErrClosed after Close, ctx's error when the client leaves while waiting (the load goes on for the
// others).
func (s *Scheduler) Acquire(ctx context.Context, m *registry.Model, cfg LoadConfig, keepAlive time.Duration) (*Lease, error) {
	if keepAlive < 0 {
		keepAlive = forever
	}
	key := modelKey(m)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	lm, full := s.shareable(key, cfg, keepAlive)
	if lm != nil {
		s.mu.Unlock()
		return s.await(ctx, lm, m)
	}
	if full || s.pending >= s.cfg.MaxQueue {
		s.mu.Unlock()
		rejectedRequests.Inc()
		return nil, ErrServerBusy
	}
	s.pending++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.pending--
		s.mu.Unlock()
	}()
	// Which backend runs m is asked only when m must load: Supports may read the weights' header.
	backend := s.backendFor(m)
	if backend == nil {
		return nil, &LoadError{Model: m.ShortName, Err: ErrUnsupportedModel}
	}

	select {
	case s.loadTurn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	lm, fresh, err := s.prepare(ctx, m, backend, cfg, keepAlive, key)
	if err != nil {
		<-s.loadTurn
		return nil, err
	}
	if fresh {
		// The load runs in its own goroutine, to its end even if this client leaves: others may be
		// waiting for the same model. It gives the load turn back when done.
		go s.runLoad(lm)
	} else {
		<-s.loadTurn
	}
	return s.await(ctx, lm, m)
}

// shareable returns the loaded (or loading) model under key with cfg, taking a reference for the caller
// and stopping its keep-alive, or nil when there is none to share. full reports a model that is there but
// has as many requests waiting for one of its sequences (or for its load) as MaxQueue allows: Ollama's
// queue bound holds for requests waiting for a slot too, not only for those waiting for a load. Caller
// holds s.mu.
func (s *Scheduler) shareable(key string, cfg LoadConfig, keepAlive time.Duration) (lm *loadedModel, full bool) {
	lm = s.loaded[key]
	if lm == nil || lm.expiring || lm.cfg != cfg {
		return nil, false
	}
	if lm.refs-lm.slots() >= s.cfg.MaxQueue {
		return nil, true
	}
	lm.refs++
	lm.keepAlive = keepAlive
	lm.stopTimer()
	return lm, false
}

// slots is how many requests lm serves at once: the runner's own count when it has one (a hybrid
// architecture decodes one sequence at a time whatever was asked), else the sequences it was loaded with.
func (lm *loadedModel) slots() int {
	if p, ok := lm.runner.(interface{ Parallel() int }); ok {
		return p.Parallel()
	}
	return max(lm.cfg.Parallel, 1)
}

// await waits for lm's load to end (the caller holds a reference already) and returns the lease.
func (s *Scheduler) await(ctx context.Context, lm *loadedModel, m *registry.Model) (*Lease, error) {
	select {
	case <-lm.ready:
	case <-ctx.Done():
		s.release(lm)
		return nil, ctx.Err()
	}
	if lm.loadErr != nil {
		s.release(lm)
		return nil, lm.loadErr
	}
	s.mu.Lock()
	unloaded := lm.unloaded
	s.mu.Unlock()
	if unloaded { // Close ran during the load
		s.release(lm)
		return nil, ErrClosed
	}
	return &Lease{Runner: lm.runner, Model: m, s: s, lm: lm}, nil
}

// prepare runs with the load turn held: it returns the model another request loaded meanwhile, or makes
// room and registers a fresh entry (fresh is true) that the caller must load. Either carries a reference
// for the caller.
func (s *Scheduler) prepare(ctx context.Context, m *registry.Model, backend Backend, cfg LoadConfig, ka time.Duration, key string) (lm *loadedModel, fresh bool, err error) {
	est, err := backend.Estimate(m, cfg)
	if err != nil {
		return nil, false, &LoadError{Model: m.ShortName, Err: err}
	}
	if est.Total() > s.cfg.MemoryLimit {
		return nil, false, &LoadError{Model: m.ShortName, Err: &InsufficientMemoryError{Required: est.Total(), Available: s.cfg.MemoryLimit}}
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, false, ErrClosed
		}
		lm, full := s.shareable(key, cfg, ka)
		if lm != nil {
			s.mu.Unlock()
			return lm, false, nil
		}
		if full {
			s.mu.Unlock()
			rejectedRequests.Inc()
			return nil, false, ErrServerBusy
		}
		// The same model with other load options, or one being expired, goes first.
		victim := s.loaded[key]
		if victim == nil && !s.fits(est) {
			victim = s.pickVictim()
		}
		if victim == nil {
			break // s.mu still held
		}
		victim.expiring = true
		busy := victim.refs > 0
		s.mu.Unlock()
		if !busy {
			s.unload(victim)
			continue
		}
		// The last lease of a busy victim unloads it (release); wait until it is gone.
		select {
		case <-victim.gone:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	lm = &loadedModel{
		key: key, model: m, cfg: cfg, backend: backend, estimate: est,
		ready: make(chan struct{}), gone: make(chan struct{}),
		refs: 1, keepAlive: ka,
	}
	s.loaded[key] = lm
	s.mu.Unlock()
	return lm, true, nil
}

// runLoad loads lm with its backend, bounded by LoadTimeout, then gives back the load turn. A load that
// times out fails every waiter; if the backend returns a runner later anyway, it is closed, so no model
// stays in memory that the scheduler does not count.
func (s *Scheduler) runLoad(lm *loadedModel) {
	defer func() { <-s.loadTurn }()
	m := lm.model
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if s.cfg.LoadTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.cfg.LoadTimeout)
	}
	defer cancel()

	type result struct {
		runner Runner
		err    error
	}
	done := make(chan result, 1)
	start := s.now()
	go func() {
		r, err := lm.backend.Load(ctx, m, lm.cfg)
		done <- result{r, err}
	}()
	var res result
	select {
	case res = <-done:
		if res.err != nil && ctx.Err() != nil {
			res.err = s.timeoutError()
		}
	case <-ctx.Done():
		res.err = s.timeoutError()
		go func() {
			if late := <-done; late.runner != nil {
				late.runner.Close()
				s.log.Warn("closed a model whose load ended after OLLAMA_LOAD_TIMEOUT", "model", m.ShortName)
			}
		}()
	}

	s.mu.Lock()
	if res.err != nil {
		lm.loadErr = &LoadError{Model: m.ShortName, Err: res.err}
		if !lm.unloaded { // else Close is unloading it and closes gone once ready
			lm.unloaded = true
			delete(s.loaded, lm.key)
			close(lm.gone)
		}
		s.log.Warn("model failed to load", "model", m.ShortName, "error", res.err)
	} else {
		lm.runner = res.runner
		s.log.Info("model loaded", "model", m.ShortName, "backend", lm.backend.Name(), "num_ctx", lm.cfg.NumCtx,
			"parallel", lm.cfg.Parallel, "estimate_mib", lm.estimate.Total()>>20, "duration", s.now().Sub(start))
	}
	close(lm.ready)
	s.mu.Unlock()
}

// timeoutError is the cause of a load that ran past LoadTimeout.
func (s *Scheduler) timeoutError() error {
	return fmt.Errorf("%w after %s (OLLAMA_LOAD_TIMEOUT); raise OLLAMA_LOAD_TIMEOUT to allow slower loads", ErrLoadTimeout, s.cfg.LoadTimeout)
}

// fits reports whether a model of est fits beside the loaded ones, in count and memory. Caller holds s.mu.
func (s *Scheduler) fits(est Estimate) bool {
	if len(s.loaded) >= s.cfg.MaxLoadedModels {
		return false
	}
	used := est.Total()
	for _, lm := range s.loaded {
		used += lm.estimate.Total()
	}
	return used <= s.cfg.MemoryLimit
}

// pickVictim chooses the model to unload for room, by Ollama's rule: shortest keep-alive first, then by
// path; among those, an idle one before a busy one. Caller holds s.mu.
func (s *Scheduler) pickVictim() *loadedModel {
	var all []*loadedModel
	for _, lm := range s.loaded {
		all = append(all, lm)
	}
	if len(all) == 0 {
		return nil
	}
	slices.SortFunc(all, func(a, b *loadedModel) int {
		return cmp.Or(cmp.Compare(a.keepAlive, b.keepAlive), strings.Compare(a.key, b.key))
	})
	for _, lm := range all {
		if lm.refs == 0 {
			return lm
		}
	}
	return all[0]
}

// unload forgets lm and closes its runner, once: the first caller does it, later ones return at once.
// It waits for a load in progress to end first.
func (s *Scheduler) unload(lm *loadedModel) {
	s.mu.Lock()
	if lm.unloaded {
		s.mu.Unlock()
		return
	}
	lm.unloaded = true
	lm.expiring = true
	if s.loaded[lm.key] == lm {
		delete(s.loaded, lm.key)
	}
	lm.stopTimer()
	s.mu.Unlock()
	<-lm.ready
	if lm.runner != nil {
		lm.runner.Close()
		s.log.Info("model unloaded", "model", lm.model.ShortName)
	}
	close(lm.gone)
}

// release drops one reference; the last one starts the keep-alive timer, or unloads at once when the
// keep-alive is 0 or an unload was asked for.
func (s *Scheduler) release(lm *loadedModel) {
	s.mu.Lock()
	lm.refs--
	if lm.refs > 0 || lm.unloaded {
		s.mu.Unlock()
		return
	}
	if lm.expiring || lm.keepAlive == 0 {
		s.mu.Unlock()
		select {
		case <-lm.ready:
			s.unload(lm)
		default: // a client that left during the load does not wait for its end
			go s.unload(lm)
		}
		return
	}
	lm.stopTimer()
	if lm.keepAlive == forever {
		lm.expiresAt = s.now().Add(forever)
		s.mu.Unlock()
		return
	}
	lm.expiresAt = s.now().Add(lm.keepAlive)
	gen := lm.timerGen
	lm.timer = s.after(lm.keepAlive, func() { s.expireIdle(lm, gen) })
	s.mu.Unlock()
}

// expireIdle unloads lm when its keep-alive timer fires, unless the timer was stopped or replaced since
// (gen tells).
func (s *Scheduler) expireIdle(lm *loadedModel, gen int) {
	s.mu.Lock()
	if lm.refs > 0 || lm.unloaded || lm.timerGen != gen {
		s.mu.Unlock()
		return
	}
	lm.expiring = true
	s.mu.Unlock()
	s.unload(lm)
}

// stopTimer disarms the keep-alive timer. Caller holds s.mu.
func (lm *loadedModel) stopTimer() {
	if lm.timer != nil {
		lm.timer.Stop()
		lm.timer = nil
	}
	lm.timerGen++
	lm.expiresAt = time.Time{}
}

// Expire unloads m now if it is idle, or as soon as its running requests end (keep_alive 0 with an empty
// prompt); meanwhile new requests for m wait for the unload and load it again. It reports whether m was
// loaded.
func (s *Scheduler) Expire(m *registry.Model) bool {
	s.mu.Lock()
	lm := s.loaded[modelKey(m)]
	if lm == nil {
		s.mu.Unlock()
		return false
	}
	lm.expiring = true
	idle := lm.refs == 0
	s.mu.Unlock()
	if idle {
		s.unload(lm)
	}
	return true
}

// Close unloads every model, waiting for loads in progress to end; requests in flight end with an error
// and later Acquires with ErrClosed.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*loadedModel, 0, len(s.loaded))
	for _, lm := range s.loaded {
		lm.expiring = true
		all = append(all, lm)
	}
	s.mu.Unlock()
	for _, lm := range all {
		s.unload(lm)
	}
}

// backendFor returns the first backend that runs m.
func (s *Scheduler) backendFor(m *registry.Model) Backend {
	for _, b := range s.cfg.Backends {
		if b.Supports(m) {
			return b
		}
	}
	return nil
}

// modelKey identifies what a loaded model holds: its weights and adapters.
func modelKey(m *registry.Model) string {
	parts := append([]string{m.ModelPath}, m.AdapterPaths...)
	parts = append(parts, m.ProjectorPaths...)
	if m.ModelPath == "" {
		parts = append(parts, m.Name.String())
	}
	return strings.Join(parts, "\x00")
}

// String describes the scheduler's limits, for logs.
func (s *Scheduler) String() string {
	return fmt.Sprintf("max_loaded=%d max_queue=%d memory_limit=%s load_timeout=%s",
		s.cfg.MaxLoadedModels, s.cfg.MaxQueue, humanBytes(s.cfg.MemoryLimit), s.cfg.LoadTimeout)
}
