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
	"github.com/hearthlink/hearth/modelfacts"
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

// envConfig is what a test sets of a server's engine; zero fields keep their defaults (num_ctx: 512).
type envConfig struct {
	MaxLoadedModels, MaxQueue, NumParallel, NumCtx int
}

// newInferEnv starts a server whose engine has backend (llama.cpp when nil) and the settings cfg sets.
func newInferEnv(t testing.TB, cfg envConfig, backend engine.Backend) *inferEnv {
	t.Helper()
	llama.Init("")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := registry.Open(t.TempDir(), registry.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if backend == nil {
		backend = llama.NewBackend("")
	}
	sc := engine.DefaultConfig()
	sc.Backends, sc.Logger = []engine.Backend{backend}, logger
	sc.MaxLoadedModels = cmp.Or(cfg.MaxLoadedModels, sc.MaxLoadedModels)
	sc.MaxQueue = cmp.Or(cfg.MaxQueue, sc.MaxQueue)
	pc := engine.DefaultPipelineConfig()
	pc.NumParallel = cmp.Or(cfg.NumParallel, pc.NumParallel)
	pc.NumCtx = cmp.Or(cfg.NumCtx, 512)
	pc.Logger = logger
	return startInferEnv(t, store, sc, pc)
}

// startInferEnv serves store with a Scheduler and Pipeline of those settings until the test ends.
func startInferEnv(t testing.TB, store *registry.Store, sc engine.Config, pc engine.PipelineConfig) *inferEnv {
	facts := modelfacts.NewCache(store)
	sched := engine.NewScheduler(sc)
	pipeline := engine.NewPipeline(sched, facts, pc)
	srv := httptest.NewServer(handlers.New(handlers.Options{Store: store, Engine: pipeline, Scheduler: sched, Facts: facts}))
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

// plainChatTemplate renders a chat as its messages' text, joined by spaces: no role markers, so a model's
// greedy answer continues that text and differs from message to message.
const plainChatTemplate = `{{ range $i, $m := .Messages }}{{ if $i }} {{ end }}{{ $m.Content }}{{ end }}`

// importPlainChat imports tiny-llama with plainChatTemplate as name.
func (e *inferEnv) importPlainChat(name string) {
	e.t.Helper()
	path, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		e.t.Fatal(err)
	}
	tb, err := e.store.WriteBlob(context.Background(), strings.NewReader(plainChatTemplate), "")
	if err != nil {
		e.t.Fatal(err)
	}
	e.importGGUF(name, path, nil, tb.Layer(registry.MediaTypeTemplate))
}

// assertDistinct fails unless the texts answering different requests (by request) are non-blank and differ
// from one another: a test comparing answers proves nothing when every request gets the same text.
func assertDistinct(t testing.TB, texts map[string]string) {
	t.Helper()
	byText := map[string]string{}
	for req, text := range texts {
		if strings.TrimSpace(text) == "" {
			t.Errorf("%q answered blank text %q", req, text)
		}
		if other, ok := byText[text]; ok {
			t.Errorf("%q and %q answered the same text %q", req, other, text)
		}
		byText[text] = req
	}
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
