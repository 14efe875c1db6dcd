package llama

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/registry"
)

// TestArchitecturesMatchLlamaCpp pins llamaCppArchitectures to the LLM_ARCH_NAMES table of the llama.cpp
// this build compiles: an Ollama upgrade that adds, renames or drops an architecture fails here until the
// table is updated.
func TestArchitecturesMatchLlamaCpp(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ollama/ollama").Output()
	if err != nil {
		t.Fatalf("locating the ollama module: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "llama", "llama.cpp", "src", "llama-arch.cpp"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(src), "LLM_ARCH_NAMES = {")
	if !ok {
		t.Fatal("llama-arch.cpp has no LLM_ARCH_NAMES table")
	}
	body, _, _ := strings.Cut(table, "};")
	var want []string
	for _, m := range regexp.MustCompile(`\{\s*LLM_ARCH_\w+,\s*"([^"]+)"\s*\}`).FindAllStringSubmatch(body, -1) {
		if name := m[1]; name != "(unknown)" && name != "clip" {
			want = append(want, name)
		}
	}
	if len(want) < 50 {
		t.Fatalf("parsed only %d architectures from llama-arch.cpp: the table's format changed", len(want))
	}
	got := slices.Sorted(maps.Keys(llamaCppArchitectures))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("llamaCppArchitectures differs from llama-arch.cpp:\n got %v\nwant %v", got, want)
	}
}

// A GGUF file of an architecture llama.cpp does not know (Ollama's converter writes "gptoss" where
// llama.cpp says "gpt-oss") is refused from its header, naming the architecture, by Estimate and by Load,
// before llama.cpp sees it.
func TestUnknownArchitectureIsNamed(t *testing.T) {
	path := writeHeaderOnlyGGUF(t, "gptoss")
	b := &Backend{}
	m := &registry.Model{ModelPath: path}
	_, estErr := b.Estimate(m, engine.LoadConfig{NumCtx: 256, NumBatch: 64, Parallel: 1})
	_, loadErr := b.Load(context.Background(), m, engine.LoadConfig{NumCtx: 256, NumBatch: 64, Parallel: 1, NumThread: 1})
	for name, err := range map[string]error{"Estimate": estErr, "Load": loadErr} {
		var ua *UnsupportedArchitectureError
		if !errors.As(err, &ua) || ua.Architecture != "gptoss" {
			t.Errorf("%s: err = %v, want an *UnsupportedArchitectureError for gptoss", name, err)
			continue
		}
		if want := `unsupported model architecture "gptoss"`; err.Error() != want {
			t.Errorf("%s: message %q, want %q", name, err.Error(), want)
		}
	}
}

// writeHeaderOnlyGGUF writes a GGUF file of architecture arch with a minimal llama-like header and one
// small F32 tensor, enough for hearth's header checks and nothing more.
func writeHeaderOnlyGGUF(t *testing.T, arch string) string {
	t.Helper()
	kv := ggml.KV{
		"general.architecture":   arch,
		arch + ".context_length": uint32(256),
		"tokenizer.ggml.model":   "no_vocab",
	}
	return enginetest.HeaderOnlyGGUF(t, kv, "token_embd.weight")
}
