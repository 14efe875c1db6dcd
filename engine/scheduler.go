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

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry"
)

// Defaults of Config's zero values.
const (
	DefaultKeepAlive       = 5 * time.Minute
	DefaultMaxLoadedModels = 3
	DefaultMaxQueue        = 512
	DefaultNumCtx          = 4096
	// DefaultParallel is the number of sequences decoded together per model. On CPUs, batching 4
	// sequences gives about twice the aggregate tokens per second of one (see native-engine.md) while
	// keeping each stream's latency close to a lone one; Ollama's default is 1.
	DefaultParallel = 4
)

// forever is how a negative keep-alive is stored, as in Ollama.
const forever = time.Duration(math.MaxInt64)

// Config tunes a Scheduler; the zero value of each field picks Ollama's default (or hearth's, where noted).
type Config struct {
	// Backends are asked in order which one runs a model.
	Backends []Backend
	// KeepAlive is how long an idle model stays loaded when neither the request nor the model say
	// (OLLAMA_KEEP_ALIVE); negative keeps it forever. 0 means DefaultKeepAlive; use KeepAliveZero for "unload
	// at once".
	KeepAlive time.Duration
	// KeepAliveZero makes the default keep-alive 0 (OLLAMA_KEEP_ALIVE=0).
	KeepAliveZero bool
	// MaxLoadedModels caps the models loaded at once (OLLAMA_MAX_LOADED_MODELS).
	MaxLoadedModels int
	// MaxQueue caps the requests waiting for a model to load (OLLAMA_MAX_QUEUE).
	MaxQueue int
	// NumParallel is the number of sequences per model (OLLAMA_NUM_PARALLEL).
	NumParallel int
	// NumCtx is the default context per sequence (OLLAMA_CONTEXT_LENGTH).
	NumCtx int
	// MemoryLimit is the memory all loaded models may use together, in bytes; 0 is 90% of the machine's.
	MemoryLimit int64
	// KVCacheType is the KV cache type (OLLAMA_KV_CACHE_TYPE).
	KVCacheType string
	// FlashAttention forces flash attention on (OLLAMA_FLASH_ATTENTION); otherwise the backend decides.
	FlashAttention bool
	// Facts answers what each model is and does (template, capabilities, default options); nil reads
	// each model's files afresh through a cache of its own.
	Facts *modelfacts.Cache
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

	loadTurn chan struct{} // one load at a time

	mu      sync.Mutex
	loaded  map[string]*loadedModel
	pending int
	closed  bool

	facts *modelfacts.Cache
}

// loadedModel is a model in memory (or loading), with who is using it.
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
	expiresAt time.Time
	timer     *time.Timer
	expiring  bool          // unload as soon as idle; no new leases
	idle      chan struct{} // closed and replaced whenever refs drops to 0
}

// NewScheduler returns a Scheduler with cfg's defaults filled in.
func NewScheduler(cfg Config) *Scheduler {
	if cfg.KeepAlive == 0 && !cfg.KeepAliveZero {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.KeepAlive < 0 {
		cfg.KeepAlive = forever
	}
	if cfg.MaxLoadedModels <= 0 {
		cfg.MaxLoadedModels = DefaultMaxLoadedModels
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.NumParallel <= 0 {
		cfg.NumParallel = DefaultParallel
	}
	if cfg.NumCtx <= 0 {
		cfg.NumCtx = DefaultNumCtx
	}
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = systemMemory() / 10 * 9
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	facts := cfg.Facts
	if facts == nil {
		facts = modelfacts.NewCache(nil)
	}
	return &Scheduler{cfg: cfg, log: log, facts: facts, loadTurn: make(chan struct{}, 1), loaded: map[string]*loadedModel{}}
}

// Lease is a loaded model reserved for one request; Release gives it back.
type Lease struct {
	// Runner is the loaded model.
	Runner Runner
	// Model is the stored model the runner was loaded from.
	Model *registry.Model
	// Options are the request's effective options: defaults, then the model's, then the request's.
	Options api.Options

	s    *Scheduler
	lm   *loadedModel
	once sync.Once
}

// Release gives the lease back; the model's keep-alive starts when its last lease is released.
func (l *Lease) Release() { l.once.Do(func() { l.s.release(l.lm) }) }

// Acquire returns m loaded with the load-time options among opts, loading it (and unloading others to make
// room) when needed. keepAlive is the request's keep_alive (nil: the model's keep_alive parameter, else the
// server default). Errors: *RequestError for bad options, ErrServerBusy when the queue is full, *LoadError
// when the model cannot load, ctx's error when the client leaves while waiting.
func (s *Scheduler) Acquire(ctx context.Context, m *registry.Model, requestOpts map[string]any, keepAlive *api.Duration) (*Lease, error) {
	opts, err := s.Options(m, requestOpts)
	if err != nil {
		return nil, err
	}
	backend := s.backendFor(m)
	if backend == nil {
		return nil, &LoadError{Model: m.ShortName, Err: ErrUnsupportedModel}
	}
	cfg := s.loadConfig(opts)
	ka := s.keepAlive(m, keepAlive)
	key := modelKey(m)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if lm := s.loaded[key]; lm != nil && !lm.expiring && lm.cfg == cfg {
		lm.refs++
		lm.keepAlive = ka
		lm.stopTimer()
		s.mu.Unlock()
		return s.await(ctx, lm, m, opts)
	}
	if s.pending >= s.cfg.MaxQueue {
		s.mu.Unlock()
		return nil, ErrServerBusy
	}
	s.pending++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.pending--
		s.mu.Unlock()
	}()

	select {
	case s.loadTurn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	lm, err := s.load(ctx, m, backend, cfg, ka, key)
	<-s.loadTurn
	if err != nil {
		return nil, err
	}
	return s.await(ctx, lm, m, opts)
}

// await waits for lm's load to end (it holds a reference already) and returns the lease.
func (s *Scheduler) await(ctx context.Context, lm *loadedModel, m *registry.Model, opts api.Options) (*Lease, error) {
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
	return &Lease{Runner: lm.runner, Model: m, Options: opts, s: s, lm: lm}, nil
}

// load runs with the load turn held: it reuses a model another request loaded meanwhile, or makes room
// and loads. The returned model carries a reference for the caller.
func (s *Scheduler) load(ctx context.Context, m *registry.Model, backend Backend, cfg LoadConfig, ka time.Duration, key string) (*loadedModel, error) {
	est, err := backend.Estimate(m, cfg)
	if err != nil {
		return nil, &LoadError{Model: m.ShortName, Err: err}
	}
	if est.Total() > s.cfg.MemoryLimit {
		return nil, &LoadError{Model: m.ShortName, Err: &InsufficientMemoryError{Required: est.Total(), Available: s.cfg.MemoryLimit}}
	}
	for {
		s.mu.Lock()
		if lm := s.loaded[key]; lm != nil && !lm.expiring && lm.cfg == cfg {
			lm.refs++
			lm.keepAlive = ka
			lm.stopTimer()
			s.mu.Unlock()
			return lm, nil
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
		idle := victim.idle
		busy := victim.refs > 0
		s.mu.Unlock()
		if busy {
			select {
			case <-idle:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		s.unload(victim)
	}
	lm := &loadedModel{
		key: key, model: m, cfg: cfg, backend: backend, estimate: est,
		ready: make(chan struct{}), idle: make(chan struct{}),
		refs: 1, keepAlive: ka,
	}
	s.loaded[key] = lm
	s.mu.Unlock()

	start := time.Now()
	// A load runs to its end even if this client leaves: others may be waiting for the same model.
	runner, err := backend.Load(context.WithoutCancel(ctx), m, cfg)
	s.mu.Lock()
	if err != nil {
		lm.loadErr = &LoadError{Model: m.ShortName, Err: err}
		delete(s.loaded, key)
		s.log.Warn("model failed to load", "model", m.ShortName, "error", err)
	} else {
		lm.runner = runner
		s.log.Info("model loaded", "model", m.ShortName, "backend", backend.Name(), "num_ctx", cfg.NumCtx,
			"parallel", cfg.Parallel, "estimate_mib", est.Total()>>20, "duration", time.Since(start))
	}
	close(lm.ready)
	s.mu.Unlock()
	if err != nil {
		return nil, lm.loadErr
	}
	return lm, nil
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

// unload closes lm's runner and forgets it. lm must be idle and marked expiring.
func (s *Scheduler) unload(lm *loadedModel) {
	s.mu.Lock()
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
}

// release drops one reference; the last one starts the keep-alive timer, or unloads at once when the
// keep-alive is 0 or an unload was asked for.
func (s *Scheduler) release(lm *loadedModel) {
	s.mu.Lock()
	lm.refs--
	if lm.refs > 0 {
		s.mu.Unlock()
		return
	}
	close(lm.idle)
	lm.idle = make(chan struct{})
	if lm.loadErr != nil || s.loaded[lm.key] != lm {
		s.mu.Unlock()
		return
	}
	if lm.expiring || lm.keepAlive == 0 {
		lm.expiring = true
		s.mu.Unlock()
		s.unload(lm)
		return
	}
	if lm.keepAlive == forever {
		lm.expiresAt = time.Now().Add(forever)
		s.mu.Unlock()
		return
	}
	lm.expiresAt = time.Now().Add(lm.keepAlive)
	// One timer per loaded model, re-armed at each release; expireIdle ignores a firing that is stale.
	if lm.timer == nil {
		lm.timer = time.AfterFunc(lm.keepAlive, func() { s.expireIdle(lm) })
	} else {
		lm.timer.Reset(lm.keepAlive)
	}
	s.mu.Unlock()
}

// expireIdle unloads lm when its keep-alive timer fires and nobody took it meanwhile.
func (s *Scheduler) expireIdle(lm *loadedModel) {
	s.mu.Lock()
	if lm.refs > 0 || s.loaded[lm.key] != lm || time.Now().Before(lm.expiresAt) {
		s.mu.Unlock()
		return
	}
	lm.expiring = true
	s.mu.Unlock()
	s.unload(lm)
}

func (lm *loadedModel) stopTimer() {
	if lm.timer != nil {
		lm.timer.Stop()
	}
	lm.expiresAt = time.Time{}
}

// Expire unloads m now if it is idle, or as soon as its running requests end (keep_alive 0 with an empty
// prompt). It reports whether m was loaded.
func (s *Scheduler) Expire(m *registry.Model) bool {
	key := modelKey(m)
	s.mu.Lock()
	var found bool
	var idle []*loadedModel
	for _, lm := range s.loaded {
		if lm.key != key {
			continue
		}
		found = true
		lm.expiring = true
		if lm.refs == 0 {
			idle = append(idle, lm)
		}
	}
	s.mu.Unlock()
	for _, lm := range idle {
		s.unload(lm)
	}
	return found
}

// Close unloads every model; requests in flight end with an error.
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

// keepAlive resolves a request's keep-alive: the request's, else the model's keep_alive parameter, else
// the server's. Negative means forever.
func (s *Scheduler) keepAlive(m *registry.Model, req *api.Duration) time.Duration {
	d := s.cfg.KeepAlive
	if f, err := s.facts.Of(m); err == nil && f.KeepAlive != nil {
		d = *f.KeepAlive
	}
	if req != nil {
		d = req.Duration
	}
	if d < 0 {
		return forever
	}
	return d
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
	return fmt.Sprintf("max_loaded=%d max_queue=%d parallel=%d num_ctx=%d memory_limit=%s keep_alive=%s",
		s.cfg.MaxLoadedModels, s.cfg.MaxQueue, s.cfg.NumParallel, s.cfg.NumCtx, humanBytes(s.cfg.MemoryLimit), s.cfg.KeepAlive)
}
