package handlers_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
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

// writeSafetensors writes F32 tensors, named and shaped as PyTorch holds them, in the safetensors format
// (a little-endian header length, a JSON header, the data), each filled from rng with standard deviation std.
func writeSafetensors(t *testing.T, path string, rng *rand.Rand, std float32, shapes map[string][2]int) {
	t.Helper()
	header := map[string]any{}
	var data []byte
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		shape := shapes[name]
		start := len(data)
		for range shape[0] * shape[1] {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(rng.NormFloat64())*std))
		}
		header[name] = map[string]any{"dtype": "F32", "shape": shape[:], "data_offsets": []int{start, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCreateWithHuggingFaceAdapter adds a PEFT LoRA folder (adapter_config.json, adapter_model.safetensors)
// to tiny-llama, as `ADAPTER ./dir` does: Ollama's converter turns it into a GGUF adapter, llama.cpp applies
// it, and greedy output changes; an adapter folder the converter refuses is a 400 in its words.
func TestCreateWithHuggingFaceAdapter(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("base", "tiny-llama")
	// tiny-llama: 2 layers, 128 dims, 4 heads of 32, 2 key/value heads (v_proj is 64 wide).
	const rank = 4
	shapes := map[string][2]int{}
	for i := range 2 {
		p := fmt.Sprintf("base_model.model.model.layers.%d.self_attn.", i)
		shapes[p+"v_proj.lora_A.weight"] = [2]int{rank, 128}
		shapes[p+"v_proj.lora_B.weight"] = [2]int{64, rank}
		shapes[p+"o_proj.lora_A.weight"] = [2]int{rank, 128}
		shapes[p+"o_proj.lora_B.weight"] = [2]int{128, rank}
	}
	dir := t.TempDir()
	writeSafetensors(t, filepath.Join(dir, "adapter_model.safetensors"), rand.New(rand.NewPCG(1, 2)), 0.5, shapes)
	config := `{"r": 4, "lora_alpha": 8, "target_modules": ["v_proj", "o_proj"], "peft_type": "LORA"}`
	if err := os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	adapter := map[string]string{}
	for _, f := range []string{"adapter_model.safetensors", "adapter_config.json"} {
		d, err := hearthapi.UploadBlob(context.Background(), e.client, filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		adapter[f] = d
	}

	var statuses []string
	err := e.client.Create(context.Background(), &api.CreateRequest{Model: "tuned", From: "base", Adapters: adapter}, func(p api.ProgressResponse) error {
		statuses = append(statuses, p.Status)
		return nil
	})
	if err != nil {
		t.Fatalf("create: %v (statuses %q)", err, statuses)
	}
	if !inOrder(statuses, []string{"converting adapter", "creating new layer sha256:", "writing manifest", "success"}) {
		t.Errorf("statuses %q", statuses)
	}
	show, err := e.client.Show(context.Background(), &api.ShowRequest{Model: "tuned"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(show.Modelfile, "\nADAPTER ") {
		t.Errorf("the modelfile names no adapter:\n%s", show.Modelfile)
	}

	texts := map[string]string{}
	for _, m := range []string{"base", "tuned"} {
		text, _, err := e.generate(&api.GenerateRequest{Model: m, Prompt: "Once upon a time", Raw: true, Options: greedyOpts(16)})
		if err != nil || text == "" {
			t.Fatalf("%s: generate = %q, %v; want 200 with text", m, text, err)
		}
		texts[m] = text
	}
	if texts["base"] == texts["tuned"] {
		t.Errorf("the adapter changed nothing: both answer %q", texts["base"])
	}

	// The converter needs adapter_config.json.
	delete(adapter, "adapter_config.json")
	err = e.client.Create(context.Background(), &api.CreateRequest{Model: "bad", From: "base", Adapters: adapter, Stream: ptr(false)}, func(api.ProgressResponse) error { return nil })
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "converting adapter: ") || !strings.Contains(err.Error(), "adapter_config.json") {
		t.Errorf("create without adapter_config.json: %v, want 400 naming the file", err)
	}
}
