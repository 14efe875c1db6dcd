package compat_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthlink/hearth/models"
)

// TestOllamaJS drives a real `hearth serve` with ollama-js, the official JavaScript client (npm `ollama`,
// installed by `scripts/bootstrap.sh node-sdks`): list, show, generate and chat with and without
// streaming, embed with ONNX and GGUF models and with the chat model, chat with an image to the text-only
// chat model, the legacy embeddings call, ps, and a 404.
func TestOllamaJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	modules := filepath.Join(models.CacheDir(), "node", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "ollama", "package.json")); err != nil {
		t.Skip("ollama-js not installed: run `bash scripts/bootstrap.sh node-sdks`")
	}
	p := startHearth(t, "HEARTH_DEFAULT_MODELS=true")
	waitForDefaultModels(t, p.URL, []string{"hearth/tiny-llama:latest", "hearth/minilm-onnx:latest", "hearth/bert-embed:latest"})

	cmd := exec.Command(node, "testdata/ollamajs.cjs", p.URL)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	checks := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, rest, _ := strings.Cut(line, " ")
		switch name {
		case "ok":
			checks++
			t.Run(rest, func(*testing.T) {})
		case "FAIL":
			checks++
			n, why, _ := strings.Cut(rest, ": ")
			t.Run(n, func(t *testing.T) { t.Error(why) })
		default:
			t.Errorf("unexpected output: %s", line)
		}
	}
	if checks != 13 {
		t.Errorf("ran %d checks, want 13:\n%s", checks, out)
	}
}
