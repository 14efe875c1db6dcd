package compat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/models/hfmodels"
)

// goEngineModels are tiny Hugging Face checkpoints turned into GGUF by Ollama's own converter, by the
// architecture they have and the engine that must run them: llama.cpp cannot load olmo3 (unknown name),
// lfm2 (a tensor it names differently), a dense nemotron_h (it dies of SIGFPE), gptoss or glm4moelite
// (names it does not know), so Ollama's Go engine runs them, as Ollama does; gemma3 text and deepseek2 both
// engines run, and llama.cpp keeps them (the reference runs deepseek2 in its Go engine: the differential
// test holds hearth's llama.cpp to its output); qwen2, phi3 and command-r Ollama itself leaves to llama.cpp.
var goEngineModels = []struct{ recipe, arch, backend string }{
	{"tiny-olmo3", "olmo3", "ollamaengine"},
	{"tiny-lfm2", "lfm2", "ollamaengine"},
	{"tiny-nemotron-h", "nemotron_h", "ollamaengine"},
	{"tiny-gptoss", "gptoss", "ollamaengine"},
	{"tiny-glm4moelite", "glm4moelite", "ollamaengine"},
	{"tiny-deepseek2", "deepseek2", "llama"},
	{"tiny-gemma3", "gemma3", "llama"},
	{"tiny-qwen2", "qwen2", "llama"},
	{"tiny-phi3", "phi3", "llama"},
	{"tiny-command-r", "command-r", "llama"},
}

// hfGGUFs generates the named models/hfmodels recipes (cached) and returns their GGUF paths.
func hfGGUFs(t *testing.T, names ...string) []string {
	t.Helper()
	var paths []string
	for _, name := range names {
		path, err := hfmodels.Ensure(context.Background(), "", name)
		if err != nil {
			t.Fatalf("generate %s: %v", name, err)
		}
		paths = append(paths, path)
	}
	return paths
}

// TestGoEngineArchitecturesOverHTTP creates each model through /api/blobs and /api/create in the real
// `hearth serve`, generates from it, and checks that the engine the table names loaded it and that
// /api/show lists what it serves.
func TestGoEngineArchitecturesOverHTTP(t *testing.T) {
	var recipes []string
	for _, m := range goEngineModels {
		recipes = append(recipes, m.recipe)
	}
	paths := hfGGUFs(t, recipes...)
	p := startHearth(t)
	files := map[string]string{}
	for i, m := range goEngineModels {
		files[m.arch] = paths[i]
	}
	createAll(t, p.URL, files)
	client := apiClient(t, p.URL)
	for _, m := range goEngineModels {
		code, text := generate(t, p.URL, m.arch)
		if code != http.StatusOK || text == "" {
			t.Errorf("%s: generate = %d %q, want 200 with text", m.arch, code, text)
		}
		show, err := client.Show(context.Background(), &api.ShowRequest{Model: m.arch})
		if err != nil {
			t.Fatal(err)
		}
		// completion is what the generate above exercised: /api/show must list it and nothing it did not,
		// but thinking for gpt-oss, which Ollama lists for every model of that family (server/images.go).
		want := []model.Capability{model.CapabilityCompletion}
		if m.arch == "gptoss" {
			want = append(want, model.CapabilityThinking)
		}
		if !slices.Equal(show.Capabilities, want) || show.ModelInfo["general.architecture"] != m.arch {
			t.Errorf("%s: /api/show capabilities %v, architecture %v", m.arch, show.Capabilities, show.ModelInfo["general.architecture"])
		}
		if engine := loadedBy(p.Log(), m.arch+":latest"); engine != m.backend {
			t.Errorf("%s was loaded by %q, want %q", m.arch, engine, m.backend)
		}
	}
	// Phi-3-mini-4k's layout (no RoPE scaling) Ollama's converter writes with empty RoPE factor tensors,
	// which llama.cpp's loader refuses, in the reference Ollama 0.17.4 as in hearth: the client gets the
	// loader's words, as the reference's client does.
	createAll(t, p.URL, map[string]string{"phi3-4k": hfGGUFs(t, "tiny-phi3-4k")[0]})
	const phi3Refusal = "tensor 'rope_factors_long.weight' has wrong shape"
	if code, msg := generate(t, p.URL, "phi3-4k"); code != http.StatusInternalServerError || !strings.Contains(msg, phi3Refusal) {
		t.Errorf("phi3 without RoPE scaling: generate = %d %q, want 500 with %q", code, msg, phi3Refusal)
	}
	if p.cmd.ProcessState != nil {
		t.Fatalf("the server exited: %v", p.cmd.ProcessState)
	}
}

// loadedBy finds the backend named by the server's "model loaded" log line for model.
func loadedBy(log, model string) string {
	for _, line := range strings.Split(log, "\n") {
		var entry struct {
			Message, Msg, Model, Backend string
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if (entry.Message == "model loaded" || entry.Msg == "model loaded") && entry.Model == model {
			return entry.Backend
		}
	}
	return ""
}
