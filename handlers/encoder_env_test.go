package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/engine/onnx"
	"github.com/hearthlink/hearth/handlers"
	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// newEncoderEnv starts a server whose scheduler has both backends: llama.cpp for GGUF and ONNX Runtime
// for ONNX models. It skips the test when ONNX Runtime is not installed.
func newEncoderEnv(t testing.TB) *inferEnv {
	t.Helper()
	ortLibrary := os.Getenv("HEARTH_ORT_LIBRARY")
	if ortLibrary == "" {
		t.Skip("HEARTH_ORT_LIBRARY is not set (source scripts/env.sh)")
	}
	llama.Init("")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := registry.Open(t.TempDir(), registry.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultConfig()
	cfg.Backends = []engine.Backend{llama.NewBackend(""), onnx.NewBackend(ortLibrary, onnx.Options{Threads: 2, BatchWindow: onnx.DefaultBatchWindow})}
	cfg.Logger = logger
	cfg.Pipeline.Store, cfg.Pipeline.NumCtx = store, 512
	sched := engine.NewScheduler(cfg)
	srv := httptest.NewServer(handlers.New(handlers.Options{Store: store, Scheduler: sched}))
	t.Cleanup(func() {
		srv.Close()
		sched.Close()
	})
	u, _ := url.Parse(srv.URL)
	return &inferEnv{t: t, store: store, sched: sched, srv: srv, client: api.NewClient(u, http.DefaultClient)}
}

// importONNXDir stores the ONNX model folder dir as model name: one layer per file, named by its path in
// the folder, the graph as the model layer.
func (e *inferEnv) importONNXDir(name, dir string) {
	e.t.Helper()
	ctx := context.Background()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(files)
	var layers []registry.Layer
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			e.t.Fatal(err)
		}
		blob, err := e.store.WriteBlob(ctx, f, "")
		f.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		mt := registry.MediaTypeONNXFile
		if filepath.Ext(p) == ".onnx" {
			mt = registry.MediaTypeONNXModel
		}
		l := blob.Layer(mt)
		l.Name = filepath.ToSlash(rel)
		layers = append(layers, l)
	}
	cfg := registry.NewConfig()
	cfg.ModelFormat = "onnx"
	if _, err := e.store.WriteModel(ctx, name, cfg, layers); err != nil {
		e.t.Fatal(err)
	}
}

// importONNX stores a generated ONNX model as name.
func (e *inferEnv) importONNX(name, recipe string) {
	e.t.Helper()
	dir, err := models.Ensure(context.Background(), "", recipe)
	if err != nil {
		e.t.Fatal(err)
	}
	e.importONNXDir(name, dir)
}

// post sends body as JSON to path and decodes the reply into out (when not nil), returning the status.
func (e *inferEnv) post(path string, body any, out any) int {
	e.t.Helper()
	var buf bytes.Buffer
	switch b := body.(type) {
	case string:
		buf.WriteString(b)
	default:
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := http.Post(e.srv.URL+path, "application/json", &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s: reply %q: %v", path, data, err)
		}
	}
	return resp.StatusCode
}

// errorReply is the {"error": ...} body.
type errorReply struct {
	Error string `json:"error"`
}
