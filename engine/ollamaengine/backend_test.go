package ollamaengine

import (
	"path/filepath"
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/registry"
)

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
		m := &registry.Model{ModelPath: enginetest.HeaderOnlyGGUF(t, ggml.KV{"general.architecture": tc.arch}, tc.tensors...)}
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
