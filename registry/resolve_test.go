package registry

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
)

func TestResolveEveryLayerKind(t *testing.T) {
	s := openStore(t, Options{})
	gguf := tinyGGUF(t, llamaKV(nil))
	model := putBlob(t, s, MediaTypeModel, gguf)
	model.From = "llama3.2:latest"
	adapter := putBlob(t, s, MediaTypeAdapter, []byte("adapter"))
	projector := putBlob(t, s, MediaTypeProjector, []byte("projector"))
	layers := []Layer{
		model, adapter, projector,
		putBlob(t, s, MediaTypeTemplate, []byte("{{ .Prompt }}")),
		putBlob(t, s, MediaTypeSystem, []byte("You are terse.")),
		putBlob(t, s, MediaTypeParams, []byte(`{"stop":["<|eot|>"],"temperature":0.2}`)),
		putBlob(t, s, MediaTypeMessages, []byte(`[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]`)),
		putBlob(t, s, MediaTypeLicense, []byte("MIT")),
		putBlob(t, s, MediaTypeLicense, []byte("Apache-2.0")),
		putBlob(t, s, MediaTypeEmbed, []byte("ignored")),
	}
	graph := putBlob(t, s, MediaTypeONNXModel, []byte("graph"))
	graph.Name = "onnx/model.onnx"
	tok := putBlob(t, s, MediaTypeONNXFile, []byte(`{"tokenizer":true}`))
	tok.Name = "tokenizer.json"
	layers = append(layers, graph, tok)

	cfg := NewConfig()
	cfg.ModelFormat, cfg.ModelFamily, cfg.ContextLen = "gguf", "llama", 128
	mf, err := s.WriteModel(context.Background(), "me/everything:v1", cfg, layers)
	if err != nil {
		t.Fatal(err)
	}

	m, err := s.Resolve("ME/Everything:V1")
	if err != nil {
		t.Fatal(err)
	}
	path := func(l Layer) string { p, _ := s.BlobPath(l.Digest); return p }

	if m.ShortName != "me/everything:v1" || m.Digest != mf.Digest || !m.ModifiedAt.Equal(mf.ModifiedAt) {
		t.Errorf("identity: %q %q %v", m.ShortName, m.Digest, m.ModifiedAt)
	}
	if m.ModelPath != path(model) || m.ModelDigest != model.Digest || m.ParentModel != "llama3.2:latest" {
		t.Errorf("model: %q %q %q", m.ModelPath, m.ModelDigest, m.ParentModel)
	}
	if !slices.Equal(m.AdapterPaths, []string{path(adapter)}) {
		t.Errorf("adapters %v", m.AdapterPaths)
	}
	if !slices.Equal(m.ProjectorPaths, []string{path(projector)}) || !slices.Equal(m.ProjectorDigests, []string{projector.Digest}) {
		t.Errorf("projectors %v %v", m.ProjectorPaths, m.ProjectorDigests)
	}
	if m.Template != "{{ .Prompt }}" || m.System != "You are terse." {
		t.Errorf("template %q system %q", m.Template, m.System)
	}
	if m.Options["temperature"] != 0.2 || !slices.Equal(m.Options["stop"].([]any), []any{"<|eot|>"}) {
		t.Errorf("options %v", m.Options)
	}
	if !reflect.DeepEqual(m.Messages, []api.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello"}}) {
		t.Errorf("messages %+v", m.Messages)
	}
	if !slices.Equal(m.License, []string{"MIT", "Apache-2.0"}) {
		t.Errorf("license %v", m.License)
	}
	if m.ONNXModel != "onnx/model.onnx" || len(m.ONNXFiles) != 2 ||
		m.ONNXFiles["onnx/model.onnx"] != path(graph) || m.ONNXFiles["tokenizer.json"] != path(tok) {
		t.Errorf("onnx %q %v", m.ONNXModel, m.ONNXFiles)
	}
	if m.Config.ModelFamily != "llama" || m.Config.ContextLen != 128 || m.Config.OS != "linux" ||
		len(m.Config.RootFS.DiffIDs) != len(layers) {
		t.Errorf("config %+v", m.Config)
	}
}

func TestResolveRefusesBadONNXLayout(t *testing.T) {
	s := openStore(t, Options{})
	cfg := putBlob(t, s, MediaTypeConfig, []byte(`{}`))
	f := putBlob(t, s, MediaTypeONNXFile, []byte("x"))
	f.Name = "vocab.txt"
	g := putBlob(t, s, MediaTypeONNXModel, []byte("g"))
	g.Name = "model.onnx"
	for name, layers := range map[string][]Layer{
		"files without a graph": {f},
		"two graphs":            {g, {MediaType: MediaTypeONNXModel, Digest: f.Digest, Size: f.Size, Name: "other.onnx"}},
		"duplicate name":        {g, {MediaType: MediaTypeONNXFile, Digest: f.Digest, Size: f.Size, Name: "model.onnx"}},
	} {
		n := strings.ReplaceAll(name, " ", "-")
		if _, err := s.WriteManifest(n, NewManifest(cfg, layers)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Resolve(n); !errors.Is(err, ErrCorruptManifest) {
			t.Errorf("%s: Resolve = %v, want ErrCorruptManifest", name, err)
		}
	}
}
