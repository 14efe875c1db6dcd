package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/registry"
)

// storeModel creates, in a fresh store, a model named name from a tiny GGUF whose metadata carries
// chatTemplate and no template layer, with params as its parameters layer (none when empty), and
// resolves it.
func storeModel(t *testing.T, chatTemplate, params string) (*registry.Store, *registry.Model) {
	t.Helper()
	s, err := registry.Open(t.TempDir(), registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	kv := ggml.KV{"general.architecture": "llama", "llama.block_count": uint32(1), "tokenizer.chat_template": chatTemplate}
	ts := []*ggml.Tensor{{Name: "token_embd.weight", Kind: 0, Shape: []uint64{4}, WriterTo: bytes.NewReader(make([]byte, 16))}}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(path)
	ctx := context.Background()
	blob, err := s.WriteBlob(ctx, bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	layers := []registry.Layer{blob.Layer(registry.MediaTypeModel)}
	if params != "" {
		p, err := s.WriteBlob(ctx, bytes.NewReader([]byte(params)), "")
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, p.Layer(registry.MediaTypeParams))
	}
	if _, err := s.WriteModel(ctx, "m", registry.NewConfig(), layers); err != nil {
		t.Fatal(err)
	}
	m, err := s.Resolve("m")
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

// chatML is the ChatML chat template, which Ollama's named templates include.
const chatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

func TestPromptInfoIsKeptPerModel(t *testing.T) {
	store, m := storeModel(t, chatML, "")
	s := NewScheduler(Config{Pipeline: PipelineConfig{Store: store}})
	p1, err := s.promptOf(m)
	if err != nil {
		t.Fatal(err)
	}
	if !p1.tmpl.Contains("<|im_start|>") || len(p1.stops) == 0 {
		t.Fatalf("the GGUF's chat template was not matched to Ollama's chatml: %q %q", p1.tmpl.String(), p1.stops)
	}
	again, err := store.Resolve("m")
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := s.promptOf(again); p2 != p1 {
		t.Error("the prompt template was derived again for the same manifest")
	}

	// A model read from no store (no digest) is derived afresh.
	bare := *m
	bare.Digest = ""
	if p3, _ := s.promptOf(&bare); p3 == p1 || p3.tmpl.String() != p1.tmpl.String() {
		t.Error("a model without a digest shares the cache")
	}
}

func TestOptionsKeepModelDefaults(t *testing.T) {
	store, m := storeModel(t, chatML, `{"temperature":0.25,"stop":["<|x|>"],"keep_alive":"2m"}`)
	s := NewScheduler(Config{Pipeline: PipelineConfig{Store: store, NumCtx: 1024}})
	for range 2 {
		opts, err := s.Options(m, map[string]any{"num_predict": 7.0})
		if err != nil {
			t.Fatal(err)
		}
		if opts.Temperature != 0.25 || opts.NumPredict != 7 || opts.NumCtx != 1024 || len(opts.Stop) != 1 {
			t.Errorf("options %+v", opts)
		}
	}
	// A request's options never reach the model's cached defaults.
	if opts, _ := s.Options(m, nil); opts.NumPredict != -1 {
		t.Errorf("num_predict %d, want the default -1", opts.NumPredict)
	}
	if ka := s.keepAlive(m, nil); ka.Minutes() != 2 {
		t.Errorf("keep alive %v, want the model's 2m", ka)
	}
	if _, err := s.Options(m, map[string]any{"top_k": "many"}); err == nil || err.Error() != `option "top_k" must be of type integer` {
		t.Errorf("wrong type: %v", err)
	}
}
