package handlers_test

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/handlers"
	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// inferEnv is a hearth server with a real scheduler and llama.cpp backend over a fresh store.
type inferEnv struct {
	t      testing.TB
	store  *registry.Store
	sched  *engine.Scheduler
	srv    *httptest.Server
	client *api.Client
}

// newInferEnv starts a server with the default config but for the fields cfg sets (a num_ctx of 512 unless
// it sets one); its Backends and Store are filled in.
func newInferEnv(t testing.TB, cfg engine.Config, backend engine.Backend) *inferEnv {
	t.Helper()
	llama.Init("")
	store, err := registry.Open(t.TempDir(), registry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if backend == nil {
		backend = llama.NewBackend("")
	}
	def := engine.DefaultConfig()
	cfg.MaxLoadedModels = cmp.Or(cfg.MaxLoadedModels, def.MaxLoadedModels)
	cfg.MaxQueue = cmp.Or(cfg.MaxQueue, def.MaxQueue)
	cfg.MemoryLimit = cmp.Or(cfg.MemoryLimit, def.MemoryLimit)
	cfg.LoadTimeout = cmp.Or(cfg.LoadTimeout, def.LoadTimeout)
	cfg.Pipeline.KeepAlive = cmp.Or(cfg.Pipeline.KeepAlive, def.Pipeline.KeepAlive)
	cfg.Pipeline.NumParallel = cmp.Or(cfg.Pipeline.NumParallel, def.Pipeline.NumParallel)
	cfg.Pipeline.NumCtx = cmp.Or(cfg.Pipeline.NumCtx, 512)
	cfg.Backends = []engine.Backend{backend}
	cfg.Pipeline.Store = store
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	sched := engine.NewScheduler(cfg)
	srv := httptest.NewServer(handlers.New(handlers.Options{Store: store, Scheduler: sched}))
	t.Cleanup(func() {
		srv.Close()
		sched.Close()
	})
	u, _ := url.Parse(srv.URL)
	return &inferEnv{t: t, store: store, sched: sched, srv: srv, client: api.NewClient(u, http.DefaultClient)}
}

// importGGUF stores the GGUF file at path as model name, as a create from a local file would, with
// optional parameters and extra layers (a template, say). Only registry APIs are used.
func (e *inferEnv) importGGUF(name, path string, params map[string]any, extra ...registry.Layer) {
	e.t.Helper()
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	blob, err := e.store.WriteBlob(ctx, f, "")
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := registry.NewConfig()
	layers := []registry.Layer{blob.Layer(registry.MediaTypeModel)}
	if _, err := f.Seek(0, io.SeekStart); err == nil {
		if g, err := ggml.Decode(f, 0); err == nil {
			registry.AddGGUF(&cfg, g.KV())
		}
	}
	if params != nil {
		b, _ := json.Marshal(params)
		pb, err := e.store.WriteBlob(ctx, strings.NewReader(string(b)), "")
		if err != nil {
			e.t.Fatal(err)
		}
		layers = append(layers, pb.Layer(registry.MediaTypeParams))
	}
	layers = append(layers, extra...)
	if _, err := e.store.WriteModel(ctx, name, cfg, layers); err != nil {
		e.t.Fatal(err)
	}
}

// importTiny imports a generated model ("tiny-llama", "tiny-gpt2") as name.
func (e *inferEnv) importTiny(name, recipe string) {
	e.t.Helper()
	path, err := models.Ensure(context.Background(), "", recipe)
	if err != nil {
		e.t.Fatal(err)
	}
	e.importGGUF(name, path, nil)
}

// importVariant imports tiny-llama with extra trailing bytes: a distinct blob (so a distinct loaded model)
// with the same behaviour.
func (e *inferEnv) importVariant(name string, pad int) {
	e.t.Helper()
	path, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		e.t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(e.t.TempDir(), name+".gguf")
	if err := os.WriteFile(p, append(data, make([]byte, pad)...), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.importGGUF(name, p, nil)
}

// ps returns the names /api/ps lists.
func (e *inferEnv) ps() []string {
	e.t.Helper()
	resp, err := e.client.ListRunning(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, m := range resp.Models {
		names = append(names, m.Name)
	}
	return names
}

// generate runs a generate to the end and returns the text and the final chunk.
func (e *inferEnv) generate(req *api.GenerateRequest) (string, api.GenerateResponse, error) {
	var b strings.Builder
	var last api.GenerateResponse
	err := e.client.Generate(context.Background(), req, func(r api.GenerateResponse) error {
		b.WriteString(r.Response)
		last = r
		return nil
	})
	return b.String(), last, err
}

// greedyOpts are options for deterministic output of n tokens.
func greedyOpts(n int) map[string]any {
	return map[string]any{"temperature": 0, "num_predict": n}
}

func ptr[T any](v T) *T { return &v }
