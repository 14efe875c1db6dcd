package engine

import (
	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry"
)

// maxNumCtx bounds num_ctx before any model is consulted: beyond it no KV cache fits in memory.
const maxNumCtx = 1 << 24

// Options merges a request's options over the model's parameters over the defaults, with Ollama's
// semantics (unknown keys ignored, JSON numbers truncated to integers), except that a wrong type, or a
// load-time value that makes no sense, is a *RequestError (Ollama answers 500).
func (p *Pipeline) Options(m *registry.Model, requestOpts map[string]any) (api.Options, error) {
	f, err := p.facts.Of(m)
	if err != nil {
		return api.Options{}, err
	}
	if f.OptionsErr != nil {
		return api.Options{}, &LoadError{Model: m.ShortName, Err: f.OptionsErr}
	}
	opts := f.Options
	// Ollama warns about every parameter and option it does not know, on every request.
	unknown, err := modelfacts.ApplyOptions(&opts, requestOpts)
	for _, key := range append(unknown, f.UnknownOptions...) {
		p.log.Warn("invalid option provided", "option", key)
	}
	if err != nil {
		return api.Options{}, &RequestError{Msg: err.Error()}
	}
	switch {
	case opts.NumCtx < 0 || opts.NumCtx > maxNumCtx:
		return api.Options{}, badRequest("num_ctx %d is out of range: use a context length between 1 and %d tokens", opts.NumCtx, maxNumCtx)
	case opts.NumBatch < 0:
		return api.Options{}, badRequest("num_batch %d is out of range: use a positive batch size", opts.NumBatch)
	case opts.NumThread < 0:
		return api.Options{}, badRequest("num_thread %d is out of range: use 0 (automatic) or a positive thread count", opts.NumThread)
	}
	if opts.NumCtx == 0 {
		opts.NumCtx = p.cfg.NumCtx
	}
	if opts.NumBatch == 0 {
		opts.NumBatch = 512
	}
	return opts, nil
}

// loadConfig picks the load-time options out of opts. num_gpu and main_gpu are left out: hearth runs on
// the CPU, so they never force a reload.
func (p *Pipeline) loadConfig(opts api.Options) LoadConfig {
	mmap := 0
	if opts.UseMMap != nil {
		mmap = -1
		if *opts.UseMMap {
			mmap = 1
		}
	}
	// Ollama's scheduler loads a runner with at least 4 tokens of context; the llama backend applies that
	// floor to generators (gguf.ClampContext), while an encoder keeps the exact num_ctx as the length it truncates
	// an input to, as Ollama's /api/embed does.
	numCtx := max(opts.NumCtx, 1)
	return LoadConfig{
		NumCtx:         numCtx,
		NumBatch:       min(opts.NumBatch, numCtx),
		NumThread:      opts.NumThread,
		UseMMap:        mmap,
		Parallel:       p.cfg.NumParallel,
		KVCacheType:    p.cfg.KVCacheType,
		FlashAttention: p.cfg.FlashAttention,
	}
}
