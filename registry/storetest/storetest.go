// Package storetest writes small models into fresh stores for tests of what reads the store.
package storetest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/registry"
)

// GGUFModel creates, in a fresh store, a model named "m" from a tiny llama GGUF whose metadata holds
// extra's keys besides the architecture's (a tokenizer.chat_template, a pooling_type, ...), with no template
// layer and params as its parameters layer (none when empty), and resolves it.
func GGUFModel(t testing.TB, extra ggml.KV, params string) (*registry.Store, *registry.Model) {
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
	kv := ggml.KV{"general.architecture": "llama", "llama.block_count": uint32(1)}
	for k, v := range extra {
		kv[k] = v
	}
	ts := []*ggml.Tensor{{Name: "token_embd.weight", Kind: 0, Shape: []uint64{4}, WriterTo: bytes.NewReader(make([]byte, 16))}}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
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

// ChatML is the ChatML chat template, which Ollama's named templates include.
const ChatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
