package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry"
)

// PipelineConfig holds the request pipeline's settings: what a request's options and keep-alive start from
// when neither the request nor the model set them. Values are taken as given; DefaultPipelineConfig has
// hearth's defaults, which cmd/hearth's configuration starts from too.
type PipelineConfig struct {
	// KeepAlive is how long an idle model stays loaded when neither the request nor the model say
	// (OLLAMA_KEEP_ALIVE): 0 unloads at once, negative keeps it forever.
	KeepAlive time.Duration
	// NumParallel is the number of sequences decoded together per model (OLLAMA_NUM_PARALLEL).
	NumParallel int
	// NumCtx is the default context per sequence (OLLAMA_CONTEXT_LENGTH).
	NumCtx int
	// KVCacheType is the KV cache element type: "" or "f16", "q8_0", "q4_0" (OLLAMA_KV_CACHE_TYPE).
	KVCacheType string
	// FlashAttention forces flash attention on (OLLAMA_FLASH_ATTENTION); otherwise the backend decides.
	FlashAttention bool
	// Logger receives warnings about requests (unknown options); nil is slog.Default().
	Logger *slog.Logger
}

// Pipeline serves inference requests: Generate and Chat through one completion path with a shaping step
// per route (complete.go), and Embed, Embeddings, Classify and Rerank through one encoder path (encode.go).
// For each request it asks the model facts what the model is and does, checks the request as Ollama's
// handler does — in Ollama's order wherever the order decides which error a client sees, as the comments
// at those places say —, resolves the request's options and keep-alive, leases the model from the
// Scheduler, and shapes the runner's output into Ollama's responses. It knows nothing of HTTP: handlers
// map its typed errors to status codes.
type Pipeline struct {
	sched *Scheduler
	facts *modelfacts.Cache
	cfg   PipelineConfig
	log   *slog.Logger
}

// NewPipeline returns a Pipeline that leases models from sched and reads what they are from facts (the
// cache /api/show reads too).
func NewPipeline(sched *Scheduler, facts *modelfacts.Cache, cfg PipelineConfig) *Pipeline {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Pipeline{sched: sched, facts: facts, cfg: cfg, log: log}
}

// acquire resolves a request's options and keep-alive for m and leases m loaded with the load-time ones.
// The options returned are the request's effective ones: Ollama's defaults, then the model's parameters,
// then the request's.
func (p *Pipeline) acquire(ctx context.Context, m *registry.Model, requestOpts map[string]any, keepAlive *api.Duration) (*Lease, api.Options, error) {
	opts, err := p.Options(m, requestOpts)
	if err != nil {
		return nil, api.Options{}, err
	}
	lease, err := p.sched.Acquire(ctx, m, p.loadConfig(opts), p.keepAlive(m, keepAlive))
	if err != nil {
		return nil, api.Options{}, err
	}
	return lease, opts, nil
}

// keepAlive resolves a request's keep-alive: the request's, else the model's keep_alive parameter, else
// the server's. Negative means forever.
func (p *Pipeline) keepAlive(m *registry.Model, req *api.Duration) time.Duration {
	d := p.cfg.KeepAlive
	if f, err := p.facts.Of(m); err == nil && f.KeepAlive != nil {
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
