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
// lfm2 (a tensor it names differently), a dense nemotron_h (it dies of SIGFPE), gptoss, glm4moelite or
// qwen35 (names it does not know), and computes or tokenizes mistral3 and gemma3n otherwise than Ollama, so
// Ollama's Go engine runs them, as Ollama does; gemma3 text, deepseek2, qwen3, qwen3moe and llama4 both
// engines run, and llama.cpp keeps them (the differential test holds it to the reference's output), but for
// a gemma3 with a SentencePiece vocabulary (every real Gemma 3), which llama.cpp tokenizes otherwise than
// Ollama; qwen2, phi3 and command-r Ollama itself leaves to llama.cpp. (Mixtral, which both servers run in
// llama.cpp, is created and run by TestOllamaCLICreatesWhatOllamasConverterDrops.)
var goEngineModels = []struct{ recipe, arch, backend string }{
	{"tiny-olmo3", "olmo3", "ollamaengine"},
	{"tiny-lfm2", "lfm2", "ollamaengine"},
	{"tiny-nemotron-h", "nemotron_h", "ollamaengine"},
	{"tiny-gptoss", "gptoss", "ollamaengine"},
	{"tiny-glm4moelite", "glm4moelite", "ollamaengine"},
	{"tiny-deepseek2", "deepseek2", "llama"},
	{"tiny-gemma3", "gemma3", "llama"},
	{"tiny-qwen35", "qwen35", "ollamaengine"},
	{"tiny-qwen3next", "qwen35moe", "ollamaengine"},
	{"tiny-qwen3", "qwen3", "llama"},
	{"tiny-qwen3moe", "qwen3moe", "llama"},
	{"tiny-ministral3", "mistral3", "ollamaengine"},
	{"tiny-llama4", "llama4", "llama"},
	{"tiny-gemma3n", "gemma3n", "ollamaengine"},
	{"tiny-gemma3-spm", "gemma3", "ollamaengine"},
	{"tiny-qwen2", "qwen2", "llama"},
	{"tiny-phi3", "phi3", "llama"},
	{"tiny-command-r", "command-r", "llama"},
}

// hfEmbedModels are the embedding models among the Hugging Face checkpoints, by the same columns.
var hfEmbedModels = []struct{ recipe, arch, backend string }{
	{"tiny-nomic-bert-moe", "nomic-bert-moe", "llama"},
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
// `hearth serve`, generates from it (embeds, for hfEmbedModels), and checks that the engine the table names loaded it and that
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
		files[m.recipe] = paths[i]
	}
	createAll(t, p.URL, files)
	client := apiClient(t, p.URL)
	for _, m := range goEngineModels {
		code, text := generate(t, p.URL, m.recipe)
		if code != http.StatusOK || text == "" {
			t.Errorf("%s: generate = %d %q, want 200 with text", m.recipe, code, text)
		}
		show, err := client.Show(context.Background(), &api.ShowRequest{Model: m.recipe})
		if err != nil {
			t.Fatal(err)
		}
		// completion is what the generate above exercised: /api/show must list it and nothing it did not,
		// but vision where the file has a vision.block_count key, as Ollama lists it (Ollama's llama4
		// converter writes one, 0, for a text-only checkpoint), and thinking for gpt-oss, which Ollama
		// lists for every model of that family (server/images.go).
		want := []model.Capability{model.CapabilityCompletion}
		if _, ok := show.ModelInfo[m.arch+".vision.block_count"]; ok {
			want = append(want, model.CapabilityVision)
		}
		if m.arch == "gptoss" {
			want = append(want, model.CapabilityThinking)
		}
		if !slices.Equal(show.Capabilities, want) || show.ModelInfo["general.architecture"] != m.arch {
			t.Errorf("%s: /api/show capabilities %v, architecture %v", m.recipe, show.Capabilities, show.ModelInfo["general.architecture"])
		}
		if engine := loadedBy(p.Log(), m.recipe+":latest"); engine != m.backend {
			t.Errorf("%s was loaded by %q, want %q", m.recipe, engine, m.backend)
		}
	}
	for _, m := range hfEmbedModels {
		createAll(t, p.URL, map[string]string{m.arch: hfGGUFs(t, m.recipe)[0]})
		res, err := client.Embed(context.Background(), &api.EmbedRequest{Model: m.arch, Input: "hello world"})
		if err != nil || len(res.Embeddings) != 1 || len(res.Embeddings[0]) == 0 {
			t.Fatalf("%s: embed = %v, %v", m.arch, res, err)
		}
		show, err := client.Show(context.Background(), &api.ShowRequest{Model: m.arch})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(show.Capabilities, []model.Capability{model.CapabilityEmbedding}) || show.ModelInfo["general.architecture"] != m.arch {
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
