package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/types/model"
)

func TestAddGGUF(t *testing.T) {
	tests := []struct {
		name string
		kv   ggml.KV
		want model.ConfigV2
	}{
		{"quantized 3.2B", ggml.KV{"general.architecture": "llama", "general.parameter_count": uint64(3_212_749_888), "general.file_type": uint32(15)},
			model.ConfigV2{ModelFormat: "gguf", ModelFamily: "llama", ModelFamilies: []string{"llama"}, ModelType: "3.2B", FileType: "Q4_K_M"}},
		{"whole billions", ggml.KV{"general.architecture": "gemma3", "general.parameter_count": uint64(4_000_000_000), "general.file_type": uint32(1)},
			model.ConfigV2{ModelFormat: "gguf", ModelFamily: "gemma3", ModelFamilies: []string{"gemma3"}, ModelType: "4B", FileType: "F16"}},
		{"millions", ggml.KV{"general.architecture": "bert", "general.parameter_count": uint64(22_713_216), "general.file_type": uint32(0)},
			model.ConfigV2{ModelFormat: "gguf", ModelFamily: "bert", ModelFamilies: []string{"bert"}, ModelType: "22.71M", FileType: "unknown"}}, // Ollama's FileType() maps 0 (F32) to unknown
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg model.ConfigV2
			AddGGUF(&cfg, tc.kv)
			if cfg.ModelFormat != tc.want.ModelFormat || cfg.ModelFamily != tc.want.ModelFamily || cfg.ModelType != tc.want.ModelType ||
				cfg.FileType != tc.want.FileType || !slices.Equal(cfg.ModelFamilies, tc.want.ModelFamilies) {
				t.Errorf("got %+v, want %+v", cfg, tc.want)
			}
		})
	}

	// A projector folded in after the weights only adds its family, as in Ollama.
	cfg := NewConfig()
	AddGGUF(&cfg, tests[0].kv)
	AddGGUF(&cfg, ggml.KV{"general.architecture": "clip", "general.parameter_count": uint64(400_000_000)})
	if cfg.ModelFamily != "llama" || cfg.ModelType != "3.2B" || !slices.Equal(cfg.ModelFamilies, []string{"llama", "clip"}) {
		t.Errorf("after projector: %+v", cfg)
	}
}

func TestGGUFMediaType(t *testing.T) {
	for _, tc := range []struct {
		kv   ggml.KV
		want string
	}{
		{ggml.KV{"general.architecture": "llama", "llama.block_count": uint32(16)}, MediaTypeModel},
		{ggml.KV{"general.architecture": "llama", "general.type": "adapter"}, MediaTypeAdapter},
		{ggml.KV{"general.architecture": "clip", "general.type": "projector"}, MediaTypeProjector},
		{ggml.KV{"general.architecture": "mllama", "mllama.vision.block_count": uint32(8)}, MediaTypeProjector},
		{ggml.KV{"general.architecture": "mllama", "mllama.block_count": uint32(40), "mllama.vision.block_count": uint32(8)}, MediaTypeModel},
	} {
		if got := GGUFMediaType(tc.kv); got != tc.want {
			t.Errorf("GGUFMediaType(%v) = %s, want %s", tc.kv, got, tc.want)
		}
	}
}

func TestWriteModelFromGGUF(t *testing.T) {
	s := openStore(t, Options{})
	weights := putBlob(t, s, MediaTypeModel, tinyGGUF(t, llamaKV(ggml.KV{"general.file_type": uint32(15)})))
	info, err := s.GGUFInfo(weights.Digest)
	if err != nil {
		t.Fatal(err)
	}
	weights.MediaType = GGUFMediaType(info.KV)
	cfg := NewConfig()
	AddGGUF(&cfg, info.KV)
	tmpl := putBlob(t, s, MediaTypeTemplate, []byte("{{ .Prompt }}"))

	mf, err := s.WriteModel(context.Background(), "tiny", cfg, []Layer{weights, tmpl})
	if err != nil {
		t.Fatal(err)
	}
	if mf.Manifest.Config.MediaType != MediaTypeConfig || mf.Manifest.Layers[0].MediaType != MediaTypeModel {
		t.Fatalf("manifest %+v", mf.Manifest)
	}
	raw, err := os.ReadFile(s.blobPath(mf.Manifest.Config.Digest))
	if err != nil {
		t.Fatal(err)
	}
	// The exact bytes Ollama's createConfigLayer would write for this model.
	want := `{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"12","file_type":"Q4_K_M",` +
		`"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + weights.Digest + `","` + tmpl.Digest + `"]}}` + "\n"
	if string(raw) != want {
		t.Errorf("config blob\n got %s\nwant %s", raw, want)
	}
	var back model.ConfigV2
	if err := json.Unmarshal(raw, &back); err != nil || back.ModelType != "12" {
		t.Errorf("config does not decode as model.ConfigV2: %v %+v", err, back)
	}
}

func TestGGUFInfoIsCachedAndForgotten(t *testing.T) {
	s := openStore(t, Options{})
	weights := putBlob(t, s, MediaTypeModel, tinyGGUF(t, llamaKV(nil)))
	if _, err := s.WriteModel(context.Background(), "tiny", NewConfig(), []Layer{weights}); err != nil {
		t.Fatal(err)
	}

	info, err := s.GGUFInfo(weights.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if info.KV.Architecture() != "llama" || info.KV.String("general.name") != "tiny" || info.KV.Uint("context_length") != 128 {
		t.Errorf("kv %v", info.KV)
	}
	if got := len(info.Tensors.Items()); got != 2 {
		t.Errorf("%d tensors, want 2", got)
	}
	// Arrays are not held: the vocabulary reads as null, as in Ollama's non-verbose /api/show.
	b, _ := json.Marshal(info.KV["tokenizer.ggml.tokens"])
	if string(b) != "null" {
		t.Errorf("tokens array held: %s", b)
	}
	delete(info.KV, "general.name")

	// The second call must come from the cache: the file is gone, the answer is not.
	p, _ := s.BlobPath(weights.Digest)
	os.Rename(p, p+".away")
	again, err := s.GGUFInfo(weights.Digest)
	if err != nil {
		t.Fatalf("second GGUFInfo re-read the file: %v", err)
	}
	if again.KV.String("general.name") != "tiny" {
		t.Error("a caller's edit leaked into the cache")
	}
	os.Rename(p+".away", p)

	// The uncached decoder keeps arrays when asked.
	full, err := s.DecodeGGUF(weights.Digest, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := full.KV().Strings("tokenizer.ggml.tokens"); len(got) != 8 {
		t.Errorf("full decode tokens %v", got)
	}

	// Deleting the model drops its cache entry along with the blob.
	if err := s.Delete("tiny"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GGUFInfo(weights.Digest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("GGUFInfo after delete = %v, want not exist", err)
	}

	// A blob that is not GGUF is a clear error, not a panic.
	other := putBlob(t, s, MediaTypeModel, bytes.Repeat([]byte{1}, 64))
	if _, err := s.GGUFInfo(other.Digest); err == nil {
		t.Error("GGUFInfo of a non-GGUF blob succeeded")
	}
}
