package engine

import (
	"context"
	"errors"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/registry"
)

// encodeCall is an embed, classify or rerank request once its route has read its inputs.
type encodeCall struct {
	// name is the model as the client named it, for errors.
	name string
	// capability is what the route needs of the model (CapabilityEmbedding, ...).
	capability string
	options    map[string]any
	keepAlive  *api.Duration
	// loadOnly is a request without inputs: it loads the model and gets an empty answer.
	loadOnly bool
}

// encode is the one path of the encoder routes: refuse, before anything loads, a model without the
// capability the route needs; lease the model; answer a request without inputs with the loaded model alone;
// run the runner, which must be an R (Embedder, Classifier, Reranker). It returns when the model was ready,
// for load_duration.
func encode[R any](ctx context.Context, p *Pipeline, m *registry.Model, c encodeCall, run func(R) error) (time.Time, error) {
	if err := p.require(m, c.name, c.capability); err != nil {
		return time.Time{}, err
	}
	lease, _, err := p.acquire(ctx, m, c.options, c.keepAlive)
	if err != nil {
		return time.Time{}, err
	}
	defer lease.Release()
	loaded := time.Now()
	if c.loadOnly {
		return loaded, nil
	}
	if c.capability == CapabilityEmbedding {
		if err := p.embedsLikeOllama(m); err != nil {
			return loaded, err
		}
	}
	r, ok := lease.Runner.(R)
	if !ok {
		return loaded, &CapabilityError{Model: c.name, Capability: c.capability}
	}
	if err := run(r); err != nil {
		return loaded, named(err, c.name)
	}
	return loaded, nil
}

// require refuses a request for a capability m lacks, as /api/show lists m's capabilities. A model whose
// files cannot be read is left for the load to report.
//
// Embedding is the one capability a model has without /api/show listing it: Ollama's /api/embed and
// /api/embeddings schedule any model with no capability check (server/routes.go) and its llama.cpp runner
// embeds with a generative model, while /api/show lists only "completion" for that model. So the embed
// routes take a "completion" model too, and it is loaded before embedsLikeOllama decides, as Ollama's
// runner does. A model that neither embeds nor generates, an ONNX classifier or reranker, which Ollama
// could not have, is still refused here before anything loads.
func (p *Pipeline) require(m *registry.Model, name, capability string) error {
	f, err := p.facts.Of(m)
	if err != nil {
		return err
	}
	if f.FilesErr != nil || f.Has(model.Capability(capability)) {
		return nil
	}
	if capability == CapabilityEmbedding && f.Has(model.CapabilityCompletion) {
		return nil
	}
	return &CapabilityError{Model: name, Capability: capability}
}

// embedsLikeOllama refuses, with ErrEmbeddingsUnsupported, to embed with a generative model whose
// architecture Ollama runs in its Go engine (ggml.KV.OllamaEngineRequired: qwen3, gemma3, gpt-oss, ...):
// that runner embeds only with a model that pools, while Ollama's llama.cpp runner (every other
// architecture) answers a generative model's last hidden state. The rule follows the architecture, not
// which of hearth's engines loaded the model, so a text-only gemma3, which hearth runs with llama.cpp,
// answers as with Ollama.
func (p *Pipeline) embedsLikeOllama(m *registry.Model) error {
	f, err := p.facts.Of(m)
	if err != nil || f.GGUF == nil || f.Has(model.CapabilityEmbedding) {
		return nil
	}
	if f.GGUF.OllamaEngineRequired() {
		return ErrEmbeddingsUnsupported
	}
	return nil
}

// named fills in the model name of a CapabilityError raised by a runner.
func named(err error, name string) error {
	var ce *CapabilityError
	if errors.As(err, &ce) && ce.Model == "" {
		return &CapabilityError{Model: name, Capability: ce.Capability}
	}
	return err
}

// truncating reads a request's truncate flag: absent means true.
func truncating(t *bool) bool { return t == nil || *t }
