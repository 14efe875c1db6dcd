package registry

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ollama/ollama/manifest"
	"github.com/ollama/ollama/types/model"
)

// These tests run Ollama's own manifest package against the same folder as a Store, in both
// directions. Ollama's package reads OLLAMA_MODELS on every call.

// toOllama converts a layer to Ollama's type.
func toOllama(l Layer) manifest.Layer {
	return manifest.Layer{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size, From: l.From, Name: l.Name}
}

func TestOllamaReadsWhatHearthWrites(t *testing.T) {
	s := openStore(t, Options{})
	t.Setenv("OLLAMA_MODELS", s.Root())

	weights := putBlob(t, s, MediaTypeModel, tinyGGUF(t, llamaKV(nil)))
	weights.From = "base:latest"
	onnx := putBlob(t, s, MediaTypeONNXFile, []byte("<tokenizer>"))
	onnx.Name = "tokenizer.json"
	graph := putBlob(t, s, MediaTypeONNXModel, []byte("graph"))
	graph.Name = "model.onnx"
	layers := []Layer{weights, putBlob(t, s, MediaTypeTemplate, []byte("{{ .Prompt }}")), graph, onnx}
	mf, err := s.WriteModel(context.Background(), "hf.co/Org/Repo:Q4_K_M", NewConfig(), layers)
	if err != nil {
		t.Fatal(err)
	}

	om, err := manifest.ParseNamedManifest(model.ParseName("hf.co/Org/Repo:Q4_K_M"))
	if err != nil {
		t.Fatalf("Ollama cannot read hearth's manifest: %v", err)
	}
	if om.Digest() != mf.Digest || om.Size() != mf.Manifest.Size() {
		t.Errorf("Ollama sees digest %s size %d, hearth %s %d", om.Digest(), om.Size(), mf.Digest, mf.Manifest.Size())
	}
	if om.SchemaVersion != 2 || om.MediaType != MediaTypeManifest || om.Config != toOllama(mf.Manifest.Config) {
		t.Errorf("Ollama header/config %+v", om)
	}
	for i, l := range layers {
		if om.Layers[i] != toOllama(l) {
			t.Errorf("layer %d: Ollama %+v, hearth %+v", i, om.Layers[i], l)
		}
	}
	// Ollama's strict listing (the one its startup prune runs) accepts the store.
	all, err := manifest.Manifests(false)
	if err != nil || len(all) != 1 {
		t.Fatalf("Ollama's Manifests(false) = %v, %v", all, err)
	}
	// Ollama's own blob paths find hearth's blobs.
	for _, l := range append(layers, mf.Manifest.Config) {
		p, err := manifest.BlobsPath(l.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Ollama cannot find blob %s: %v", l.Digest, err)
		}
	}
}

func TestHearthReadsWhatOllamaWrites(t *testing.T) {
	s := openStore(t, Options{})
	t.Setenv("OLLAMA_MODELS", s.Root())

	gguf := putBlob(t, s, MediaTypeModel, tinyGGUF(t, llamaKV(nil)))
	system := putBlob(t, s, MediaTypeSystem, []byte("be brief"))
	cfg := putBlob(t, s, MediaTypeConfig, []byte(`{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"44","file_type":"F32","architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`+"\n"))
	layers := []Layer{gguf, system}

	on := model.ParseName("ollama-made:latest")
	if err := manifest.WriteManifest(on, toOllama(cfg), []manifest.Layer{toOllama(gguf), toOllama(system)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteManifest("hearth-made", NewManifest(cfg, layers)); err != nil {
		t.Fatal(err)
	}

	// The two programs encode the same manifest to the same bytes, hence the same digest.
	ob, _ := os.ReadFile(filepath.Join(s.Root(), "manifests", on.Filepath()))
	hb, _ := os.ReadFile(filepath.Join(s.Root(), "manifests/registry.ollama.ai/library/hearth-made/latest"))
	if string(ob) != string(hb) {
		t.Errorf("encodings differ:\nOllama %s\nhearth %s", ob, hb)
	}

	m, err := s.Resolve("ollama-made")
	if err != nil {
		t.Fatal(err)
	}
	if m.System != "be brief" || m.Config.ModelType != "44" || m.ModelDigest != gguf.Digest {
		t.Errorf("resolved %+v", m)
	}
	om, _ := manifest.ParseNamedManifest(on)
	if m.Digest != om.Digest() {
		t.Errorf("digest %s, Ollama says %s", m.Digest, om.Digest())
	}

	// Ollama's delete of one keeps the blobs the other uses; hearth still resolves it.
	if err := om.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := om.RemoveLayers(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("hearth-made"); err != nil {
		t.Errorf("after Ollama deleted its twin: %v", err)
	}
}

// TestHandMadeOllamaStore builds a store file by file exactly as Ollama lays one out (an old
// colon-named blob included) and checks that hearth lists and resolves it.
func TestHandMadeOllamaStore(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, data []byte) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	itoa := strconv.Itoa
	hexOf := func(data []byte) string { return strings.TrimPrefix(digestOfBytes(data), "sha256:") }

	gguf := tinyGGUF(t, llamaKV(nil))
	tmpl := []byte("{{ if .System }}<|system|>{{ .System }}{{ end }}{{ .Prompt }}")
	params := []byte(`{"num_ctx":4096,"stop":["<|end|>","<|user|>"]}` + "\n")
	license := []byte("LLAMA 3.2 COMMUNITY LICENSE")
	config := []byte(`{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"3.2B","file_type":"Q4_K_M","architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` +
		hexOf(gguf) + `","sha256:` + hexOf(tmpl) + `","sha256:` + hexOf(license) + `","sha256:` + hexOf(params) + `"]}}`)
	write("blobs/sha256-"+hexOf(gguf), gguf)
	write("blobs/sha256-"+hexOf(tmpl), tmpl)
	write("blobs/sha256:"+hexOf(params), params) // written by an old Ollama
	write("blobs/sha256-"+hexOf(license), license)
	write("blobs/sha256-"+hexOf(config), config)
	manifestJSON := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:` + hexOf(config) + `","size":` + itoa(len(config)) + `},` +
		`"layers":[` +
		`{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:` + hexOf(gguf) + `","size":` + itoa(len(gguf)) + `},` +
		`{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:` + hexOf(tmpl) + `","size":` + itoa(len(tmpl)) + `},` +
		`{"mediaType":"application/vnd.ollama.image.license","digest":"sha256:` + hexOf(license) + `","size":` + itoa(len(license)) + `},` +
		`{"mediaType":"application/vnd.ollama.image.params","digest":"sha256:` + hexOf(params) + `","size":` + itoa(len(params)) + `}]}`
	write("manifests/registry.ollama.ai/library/llama3.2/latest", []byte(manifestJSON))
	write("manifests/registry.ollama.ai/library/llama3.2/.DS_Store", []byte("junk")) // not a manifest

	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("List = %+v, want llama3.2:latest only", list)
	}
	e := list[0]
	wantSize := int64(len(config) + len(gguf) + len(tmpl) + len(license) + len(params))
	if e.Name.DisplayShortest() != "llama3.2:latest" || e.Size != wantSize || e.Digest != hexOf([]byte(manifestJSON)) {
		t.Errorf("entry %s size %d digest %s", e.Name.DisplayShortest(), e.Size, e.Digest)
	}
	if d := e.Details(); d.ParameterSize != "3.2B" || d.QuantizationLevel != "Q4_K_M" || d.Family != "llama" {
		t.Errorf("details %+v", d)
	}

	m, err := s.Resolve("llama3.2")
	if err != nil {
		t.Fatal(err)
	}
	if m.Template != string(tmpl) || !slices.Equal(m.License, []string{string(license)}) ||
		m.Options["num_ctx"] != float64(4096) || m.ModelPath != filepath.Join(root, "blobs", "sha256-"+hexOf(gguf)) {
		t.Errorf("resolved %+v", m)
	}
	info, err := s.GGUFInfo(m.ModelDigest)
	if err != nil {
		t.Fatal(err)
	}
	if info.KV.Architecture() != "llama" || len(info.Tensors.Items()) != 2 {
		t.Errorf("gguf info %v", info.KV)
	}
}
