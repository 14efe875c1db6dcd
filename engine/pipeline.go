package engine

import (
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/registry"
)

// PipelineConfig holds the settings of the request pipeline (Generate, Chat, Embed, ...): the defaults a
// request's options start from, taken as given (DefaultConfig has hearth's).
type PipelineConfig struct {
	// KeepAlive is how long an idle model stays loaded when neither the request nor the model say
	// (OLLAMA_KEEP_ALIVE); 0 unloads it at once, negative keeps it forever.
	KeepAlive time.Duration
	// NumParallel is the number of sequences per model (OLLAMA_NUM_PARALLEL).
	NumParallel int
	// NumCtx is the default context per sequence (OLLAMA_CONTEXT_LENGTH).
	NumCtx int
	// KVCacheType is the KV cache type (OLLAMA_KV_CACHE_TYPE).
	KVCacheType string
	// FlashAttention forces flash attention on (OLLAMA_FLASH_ATTENTION); otherwise the backend decides.
	FlashAttention bool
	// Store, when set, lets the pipeline read GGUF metadata (the chat template of models without a
	// template layer) through the store's cache.
	Store *registry.Store
}

// keepAlive resolves a request's keep-alive: the request's, else the model's keep_alive parameter, else
// the server's. Negative means forever.
func (s *Scheduler) keepAlive(m *registry.Model, req *api.Duration) time.Duration {
	d := s.cfg.Pipeline.KeepAlive
	if o := s.optionsOf(m); o.hasKeepAlive {
		d = o.keepAlive
	}
	if req != nil {
		d = req.Duration
	}
	if d < 0 {
		return forever
	}
	return d
}
