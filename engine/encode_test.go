package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry"
	"github.com/hearthlink/hearth/registry/storetest"
)

// embeddingBackend is a fakeBackend whose runners embed every input as {1, 2}.
type embeddingBackend struct{ *fakeBackend }

func (b embeddingBackend) Load(ctx context.Context, m *registry.Model, cfg LoadConfig) (Runner, error) {
	r, err := b.fakeBackend.Load(ctx, m, cfg)
	if err != nil {
		return nil, err
	}
	return embeddingRunner{r.(*fakeRunner)}, nil
}

// embeddingRunner is a fakeRunner that embeds.
type embeddingRunner struct{ *fakeRunner }

func (embeddingRunner) Embed(ctx context.Context, inputs []string, truncate bool) ([][]float32, int, error) {
	out := make([][]float32, len(inputs))
	for i := range out {
		out[i] = []float32{1, 2}
	}
	return out, len(inputs), nil
}

// TestEmbedWithAGenerativeModelFollowsOllama asks generative GGUF models, which /api/show lists as
// "completion" only, for embeddings through runners that can embed: a model of an architecture Ollama runs
// with llama.cpp is embedded with; one Ollama runs in its Go engine (olmo3, and gemma3, which hearth runs
// with llama.cpp) is loaded, then refused with Ollama's ErrEmbeddingsUnsupported; an empty input only loads.
func TestEmbedWithAGenerativeModelFollowsOllama(t *testing.T) {
	for _, tc := range []struct {
		arch    string
		refused bool
	}{{"llama", false}, {"olmo3", true}, {"gemma3", true}} {
		t.Run(tc.arch, func(t *testing.T) {
			store, m := storetest.GGUFModel(t, ggml.KV{"general.architecture": tc.arch}, "")
			b := newFakeBackend(false)
			cfg := DefaultConfig()
			cfg.Backends = []Backend{embeddingBackend{b}}
			cfg.Logger = discardLog
			s := NewScheduler(cfg)
			t.Cleanup(func() {
				close(b.quit)
				s.Close()
			})
			p := NewPipeline(s, modelfacts.NewCache(store), DefaultPipelineConfig())
			ctx := context.Background()
			if resp, err := p.Embed(ctx, m, &api.EmbedRequest{Model: "m"}); err != nil || len(resp.Embeddings) != 0 {
				t.Fatalf("empty input: %+v, %v", resp, err)
			}
			resp, err := p.Embed(ctx, m, &api.EmbedRequest{Model: "m", Input: []any{"a", "b"}})
			switch {
			case tc.refused && !errors.Is(err, ErrEmbeddingsUnsupported):
				t.Errorf("err %v, want %v", err, ErrEmbeddingsUnsupported)
			case !tc.refused && (err != nil || len(resp.Embeddings) != 2):
				t.Errorf("%+v, %v; want two vectors", resp, err)
			}
			if _, err := p.Embeddings(ctx, m, &api.EmbeddingRequest{Model: "m", Prompt: "a"}); tc.refused != errors.Is(err, ErrEmbeddingsUnsupported) {
				t.Errorf("legacy: %v", err)
			}
			if b.loadCount() != 1 {
				t.Errorf("%d loads, want the model loaded once", b.loadCount())
			}
		})
	}
}
