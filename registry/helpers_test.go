package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

// openStore opens a fresh store in a temporary folder.
func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// digestOfBytes is the canonical digest of data.
func digestOfBytes(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// putBlob writes data into the store and returns it as a layer of the given media type.
func putBlob(t testing.TB, s *Store, mediaType string, data []byte) Layer {
	t.Helper()
	b, err := s.WriteBlob(context.Background(), bytes.NewReader(data), digestOfBytes(data))
	if err != nil {
		t.Fatal(err)
	}
	return b.Layer(mediaType)
}

// blobFiles lists blobs/, temporary files included.
func blobFiles(t *testing.T, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(s.blobsDir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// llamaKV is the metadata of a tiny llama GGUF; extra keys are added on top.
func llamaKV(extra ggml.KV) ggml.KV {
	kv := ggml.KV{
		"general.architecture":    "llama",
		"general.name":            "tiny",
		"general.file_type":       uint32(0), // F32
		"llama.block_count":       uint32(1),
		"llama.context_length":    uint32(128),
		"llama.embedding_length":  uint32(4),
		"tokenizer.ggml.model":    "llama",
		"tokenizer.ggml.tokens":   []string{"<unk>", "<s>", "</s>", "a", "b", "c", "d", "e"},
		"tokenizer.chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}",
	}
	for k, v := range extra {
		kv[k] = v
	}
	return kv
}

// tinyGGUF writes a GGUF with two F32 tensors (4 + 8 elements) and the given metadata, using
// Ollama's own writer, and returns its bytes.
func tinyGGUF(t testing.TB, kv ggml.KV) []byte {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts := []*ggml.Tensor{
		{Name: "token_embd.weight", Kind: 0, Shape: []uint64{4}, WriterTo: bytes.NewReader(make([]byte, 4*4))},
		{Name: "blk.0.attn_norm.weight", Kind: 0, Shape: []uint64{4, 2}, WriterTo: bytes.NewReader(make([]byte, 8*4))},
	}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sorted returns a sorted copy.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
