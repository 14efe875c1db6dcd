package onnx

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/registry"
)

// storedModel lays a generated model's files out the way the store keeps them (blobs named by anything
// but their file name) and describes it as Store.Resolve would.
func storedModel(t *testing.T, recipe string) *registry.Model {
	t.Helper()
	src := testModelDir(t, recipe)
	blobs := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	m := &registry.Model{ShortName: recipe + ":latest", ONNXModel: "model.onnx", ONNXFiles: map[string]string{}}
	for i, e := range entries {
		blob := filepath.Join(blobs, "sha256-"+string(rune('a'+i)))
		if err := os.Symlink(filepath.Join(src, e.Name()), blob); err != nil {
			t.Fatal(err)
		}
		m.ONNXFiles[e.Name()] = blob
	}
	return m
}

func TestBackend(t *testing.T) {
	testInit(t)
	b := NewBackend(testLibrary(), Options{Threads: 2})
	emb, cls, xenc := storedModel(t, "minilm-onnx"), storedModel(t, "tinybert-cls-onnx"), storedModel(t, "tinybert-rerank-onnx")
	if !b.Supports(emb) || b.Supports(&registry.Model{ModelPath: "/x.gguf"}) {
		t.Error("Supports")
	}
	for _, m := range []*registry.Model{emb, cls, xenc} {
		if !b.Supports(m) {
			t.Errorf("%s is not supported", m.ShortName)
		}
	}
	est, err := b.Estimate(emb, engine.LoadConfig{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(testModelDir(t, "minilm-onnx"), "model.onnx"))
	if est.Weights != st.Size() || est.Compute <= 0 || est.KV != 0 {
		t.Errorf("estimate %+v, want the graph's %d bytes of weights and some compute", est, st.Size())
	}

	tmp := t.TempDir()
	b.TempDir = tmp
	r, err := b.Load(context.Background(), emb, engine.LoadConfig{NumCtx: 64, NumThread: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.ContextLength() != 64 {
		t.Errorf("num_ctx 64 gives a context of %d", r.ContextLength())
	}
	if _, ok := r.(engine.Embedder); !ok {
		t.Error("a loaded ONNX model is not an engine.Embedder")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 1 {
		t.Errorf("the model's folder of links: %v", left)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %v behind", left)
	}
}
