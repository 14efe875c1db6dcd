package handlers_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	hearthapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/engine/ollamaengine"
	"github.com/hearthlink/hearth/models/hfmodels"
)

// hfFolder writes the Hugging Face checkpoint of hfmodels recipe name (config.json, tokenizer files,
// model.safetensors) into a fresh folder, uploads its files as the CLI does and returns the create
// request's files.
func hfFolder(t *testing.T, client *api.Client, name string) map[string]string {
	t.Helper()
	r, err := hfmodels.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := r.Checkpoint.WriteFolder(context.Background(), dir, r.Seed); err != nil {
		if strings.Contains(err.Error(), "make bootstrap") { // the tokenizer comes from the npm cache
			t.Skip(err)
		}
		t.Fatal(err)
	}
	files := map[string]string{}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		d, err := hearthapi.UploadBlob(context.Background(), client, p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = d
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["model.safetensors"]; !ok {
		t.Fatalf("the folder has no model.safetensors: %v", files)
	}
	return files
}

// TestCreateFromHuggingFaceFolder creates models from an uploaded olmo3 checkpoint folder, as
// `ollama create` with `FROM ./dir` does, with and without a quantize, and generates from each with
// Ollama's Go engine (the only one that runs olmo3).
func TestCreateFromHuggingFaceFolder(t *testing.T) {
	e := newInferEnv(t, envConfig{}, ollamaengine.NewBackend(""))
	files := hfFolder(t, e.client, "tiny-olmo3")
	for _, c := range []struct{ quantize, fileType, status string }{
		{"", "F16", ""},
		{"q8_0", "Q8_0", "quantizing F16 model to Q8_0"},
		{"Q4_K_M", "Q4_K_M", "quantizing F16 model to Q4_K_M"},
	} {
		t.Run(c.fileType, func(t *testing.T) {
			name := "olmo-" + c.fileType
			var mu sync.Mutex
			var statuses []string
			err := e.client.Create(context.Background(), &api.CreateRequest{Model: name, Files: files, Quantize: c.quantize}, func(p api.ProgressResponse) error {
				mu.Lock()
				defer mu.Unlock()
				if len(statuses) == 0 || statuses[len(statuses)-1] != p.Status {
					statuses = append(statuses, p.Status)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("create: %v (statuses %q)", err, statuses)
			}
			// Ollama's statuses, in Ollama's order (digests left off).
			want := []string{"converting model"}
			if c.status != "" {
				want = append(want, c.status, "verifying conversion")
			}
			want = append(want, "creating new layer sha256:", "using autodetected template chatml", "writing manifest", "success")
			if !inOrder(statuses, want) {
				t.Errorf("statuses %q, want %q in that order", statuses, want)
			}

			show, err := e.client.Show(context.Background(), &api.ShowRequest{Model: name})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(show.Capabilities, []model.Capability{model.CapabilityCompletion}) {
				t.Errorf("capabilities %v, want [completion]", show.Capabilities)
			}
			if arch := show.ModelInfo["general.architecture"]; arch != "olmo3" || show.Details.Family != "olmo3" {
				t.Errorf("architecture %v, family %q, want olmo3", arch, show.Details.Family)
			}
			if !strings.Contains(show.Template, "<|im_start|>") {
				t.Errorf("template %q, want the ChatML template detected from tokenizer_config.json", show.Template)
			}
			if show.Details.Format != "gguf" || show.Details.QuantizationLevel != c.fileType {
				t.Errorf("format %q, quantization %q, want gguf %s", show.Details.Format, show.Details.QuantizationLevel, c.fileType)
			}

			text, _, err := e.generate(&api.GenerateRequest{Model: name, Prompt: "Hello", Options: greedyOpts(8)})
			if err != nil || text == "" {
				t.Errorf("generate = %q, %v; want 200 with text", text, err)
			}
		})
	}
	list, err := e.client.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Models) != 3 {
		t.Errorf("list %+v, want three models", list.Models)
	}
}

// inOrder reports whether each of prefixes starts an element of statuses, in that order.
func inOrder(statuses, prefixes []string) bool {
	i := 0
	for _, s := range statuses {
		if i < len(prefixes) && strings.HasPrefix(s, prefixes[i]) {
			i++
		}
	}
	return i == len(prefixes)
}
