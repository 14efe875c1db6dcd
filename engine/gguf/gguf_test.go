package gguf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

func TestDecodeHeaderRejectsWhatIsNotGGUF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := os.WriteFile(path, []byte("not a model file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecodeHeader(path); err == nil || !strings.Contains(err.Error(), "invalid GGUF file") {
		t.Errorf("error %v, want an invalid GGUF file", err)
	}
}

func TestClampContext(t *testing.T) {
	kv := ggml.KV{"general.architecture": "llama", "llama.context_length": uint32(2048)}
	for _, tc := range []struct {
		numCtx int
		kv     ggml.KV
		want   int
	}{
		{4096, kv, 2048},        // no more than the model was trained for
		{1024, kv, 1024},        // less is kept
		{1, kv, 4},              // Ollama's floor
		{8192, ggml.KV{}, 8192}, // no trained length: as asked
	} {
		if got := ClampContext(tc.numCtx, tc.kv); got != tc.want {
			t.Errorf("ClampContext(%d, %v) = %d, want %d", tc.numCtx, tc.kv, got, tc.want)
		}
	}
}
