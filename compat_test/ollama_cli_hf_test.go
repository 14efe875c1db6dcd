package compat_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthlink/hearth/models/hfmodels"
)

// TestOllamaCLICreatesFromHuggingFaceFolder runs what people do with a fine-tune: a Modelfile whose FROM is a
// Hugging Face folder (config.json, tokenizer files, model.safetensors), `ollama create -q q8_0` with the real
// ollama CLI against a real `hearth serve`, which converts it with Ollama's converter and quantizes it; the
// model then shows as olmo3 and generates.
func TestOllamaCLICreatesFromHuggingFaceFolder(t *testing.T) {
	bin := ollamaCLI(t)
	r, err := hfmodels.Lookup("tiny-olmo3")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "olmo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.Checkpoint.WriteFolder(context.Background(), filepath.Join(dir, "olmo"), r.Seed); err != nil {
		if strings.Contains(err.Error(), "make bootstrap") { // its tokenizer comes from the npm cache
			t.Skip(err)
		}
		t.Fatal(err)
	}
	modelfile := filepath.Join(dir, "Modelfile")
	if err := os.WriteFile(modelfile, []byte("FROM ./olmo\nPARAMETER num_ctx 256\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHearth(t)
	c := cli{t: t, bin: bin, host: strings.TrimPrefix(h.URL, "http://"), home: t.TempDir()}

	_, stderr := c.ok("create", "olmo", "-q", "q8_0", "-f", modelfile)
	wants(t, "create", stderr, "converting model", "quantizing F16 model to Q8_0", "success")
	stdout, _ := c.ok("show", "olmo")
	wants(t, "show", stdout, "architecture", "olmo3", "quantization", "Q8_0", "completion", "num_ctx", "256")
	if code, text := generate(t, h.URL, "olmo"); code != http.StatusOK || text == "" {
		t.Errorf("generate = %d %q, want 200 with text", code, text)
	}

	// A folder Ollama's converter refuses fails the create with its words.
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bad, "config.json"), []byte(`{"architectures":["NoSuchForCausalLM"]}`), 0o644)
	os.WriteFile(filepath.Join(bad, "model.safetensors"), []byte("not really"), 0o644)
	badfile := filepath.Join(dir, "Modelfile.bad")
	os.WriteFile(badfile, []byte("FROM ./bad\n"), 0o644)
	code, _, stderr := c.run("create", "bad", "-f", badfile)
	if code == 0 {
		t.Errorf("create from a folder of an unknown architecture succeeded")
	}
	wants(t, "failed create", stderr, `unsupported architecture "NoSuchForCausalLM"`)
}

// TestOllamaCLICreatesWhatOllamasConverterDrops creates, with the real ollama CLI against a real `hearth
// serve`, from the Hugging Face folders Ollama 0.17.4's own create refuses (Qwen3ForCausalLM,
// Qwen3MoeForCausalLM: "unsupported architecture") or turns into a file nothing loads (Mixtral, its experts'
// w2 and w3 swapped): each shows its architecture and generates.
func TestOllamaCLICreatesWhatOllamasConverterDrops(t *testing.T) {
	bin := ollamaCLI(t)
	h := startHearth(t)
	c := cli{t: t, bin: bin, host: strings.TrimPrefix(h.URL, "http://"), home: t.TempDir()}
	dir := t.TempDir()
	for _, m := range []struct{ recipe, arch string }{
		{"tiny-qwen3", "qwen3"}, {"tiny-qwen3moe", "qwen3moe"}, {"tiny-mixtral", "llama"},
	} {
		r, err := hfmodels.Lookup(m.recipe)
		if err != nil {
			t.Fatal(err)
		}
		folder := filepath.Join(dir, m.recipe)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.Checkpoint.WriteFolder(context.Background(), folder, r.Seed); err != nil {
			if strings.Contains(err.Error(), "make bootstrap") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		modelfile := filepath.Join(dir, m.recipe+".Modelfile")
		if err := os.WriteFile(modelfile, []byte("FROM ./"+m.recipe+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr := c.ok("create", m.recipe, "-f", modelfile)
		wants(t, m.recipe+" create", stderr, "converting model", "success")
		stdout, _ := c.ok("show", m.recipe)
		wants(t, m.recipe+" show", stdout, "architecture", m.arch, "completion")
		if code, text := generate(t, h.URL, m.recipe); code != http.StatusOK || text == "" {
			t.Errorf("%s: generate = %d %q, want 200 with text", m.recipe, code, text)
		}
	}
}
