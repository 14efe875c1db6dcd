package ollamaengine

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/registry"
)

// headerOnly writes a GGUF with the architecture arch and one small F32 tensor per name.
func headerOnly(t *testing.T, arch string, tensors ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), arch+".gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []*ggml.Tensor
	for _, name := range tensors {
		ts = append(ts, &ggml.Tensor{Name: name, Kind: uint32(ggml.TensorTypeF32), Shape: []uint64{4},
			WriterTo: bytes.NewReader(make([]byte, 16))})
	}
	if err := ggml.WriteGGUF(f, ggml.KV{"general.architecture": arch}, ts); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSupportsChoosesTheEngine pins the engine choice: architectures llama.cpp cannot run come here, the
// ones both run stay with llama.cpp unless their file carries a vision tower (or All is set), and
// embedding models and plain llama never come here.
func TestSupportsChoosesTheEngine(t *testing.T) {
	for _, tc := range []struct {
		arch    string
		tensors []string
		want    bool
		wantAll bool
	}{
		{"olmo3", []string{"token_embd.weight"}, true, true},
		{"gptoss", []string{"token_embd.weight"}, true, true},
		{"qwen35", []string{"token_embd.weight"}, true, true},
		{"lfm2", []string{"token_embd.weight"}, true, true},
		{"nemotron_h", []string{"token_embd.weight"}, true, true},
		{"glm4moelite", []string{"token_embd.weight"}, true, true},
		{"gemma3", []string{"token_embd.weight"}, false, true},
		{"gemma3", []string{"token_embd.weight", "v.patch_embd.weight", "mm.mm_input_projection.weight"}, true, true},
		{"qwen3", []string{"token_embd.weight"}, false, true},
		{"bert", []string{"token_embd.weight"}, false, false},
		{"llama", []string{"token_embd.weight"}, false, false},
	} {
		m := &registry.Model{ModelPath: headerOnly(t, tc.arch, tc.tensors...)}
		if got := NewBackend("").Supports(m); got != tc.want {
			t.Errorf("%s %v: Supports %v, want %v", tc.arch, tc.tensors, got, tc.want)
		}
		if got := (&Backend{All: true}).Supports(m); got != tc.wantAll {
			t.Errorf("%s %v: Supports with All %v, want %v", tc.arch, tc.tensors, got, tc.wantAll)
		}
	}
	if NewBackend("").Supports(&registry.Model{ModelPath: filepath.Join(t.TempDir(), "missing.gguf")}) {
		t.Error("Supports a missing file")
	}
}
