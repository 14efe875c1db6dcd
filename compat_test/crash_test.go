package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"

	hearthapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/models"
)

// probeLogLine is what the server logs each time it tries a new model file in a child process.
const probeLogLine = "trying a new model file in a child process"

// No model file may take down the server. A header that fails one of llama.cpp's GGML_ASSERTs, a file of an
// architecture neither engine knows, and broken files of architectures Ollama's Go engine runs (a dense
// nemotron_h without tensors, which would kill llama.cpp with SIGFPE; a gptoss header) each cost only their
// request: a 500 in Ollama's error shape with the loader's own words, while the same server process keeps
// serving the model it had loaded, and /api/ps still answers. Each file llama.cpp would crash on is tried in
// a child once; a restarted server remembers the verdict.
func TestCrashingModelCostsOneRequest(t *testing.T) {
	ctx := context.Background()
	// A cache of its own, where the server keeps its verdicts; the native libraries stay where they are.
	env := []string{"HEARTH_CACHE=" + t.TempDir()}
	for name, dflt := range map[string]string{
		"OLLAMA_LIBRARY_PATH": filepath.Join(models.CacheDir(), "lib", "ollama"),
		"HEARTH_ORT_LIBRARY":  filepath.Join(models.CacheDir(), "lib", "libonnxruntime.so"),
	} {
		if os.Getenv(name) == "" {
			env = append(env, name+"="+dflt)
		}
	}
	files := map[string]string{}
	for name, recipe := range map[string]string{"good": "tiny-llama", "fpe": "crash-nemotron-dense", "assert": "crash-expert-assert"} {
		path, err := models.Ensure(ctx, "", recipe)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = path
	}
	files["gptoss"] = writeGGUFOfArch(t, "gptoss")
	files["unknown"] = writeGGUFOfArch(t, "nosucharch")

	p := startHearth(t, env...)
	createAll(t, p.URL, files)
	if code, body := generate(t, p.URL, "good"); code != http.StatusOK {
		t.Fatalf("generate on the good model = %d %s", code, body)
	}

	wants := map[string][]string{
		// A dense nemotron_h header goes to Ollama's Go engine (it would kill llama.cpp with SIGFPE): this
		// one has no tensors, and the engine's panic is reported, not a crash.
		"fpe":    {"Ollama's Go engine could not load the model: the engine panicked"},
		"assert": {"llama.cpp crashed while loading the model", "GGML_ASSERT(hparams.n_expert_used <= hparams.n_expert) failed"},
		"gptoss": {"Ollama's Go engine could not load the model: the engine panicked"},
		// Refused from its header: no loader runs, no child is tried.
		"unknown": {`unsupported model architecture "nosucharch"`},
	}
	for round := range 2 { // the second round is answered from the verdicts
		for name, want := range wants {
			code, msg := generate(t, p.URL, name)
			if round == 0 {
				t.Logf("%s: %d %s", name, code, msg)
			}
			if code != http.StatusInternalServerError {
				t.Errorf("round %d: generate on %s = %d %q, want 500", round, name, code, msg)
			}
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("round %d: error for %s is %q, want it to contain %q", round, name, msg, w)
				}
			}
		}
	}
	if p.cmd.ProcessState != nil {
		t.Fatalf("the server exited: %v", p.cmd.ProcessState)
	}
	// good and assert were each tried once in a child of llama.cpp, fpe and gptoss once in a child of the
	// Go engine (whose ggml asserts would abort the server too); unknown was refused from its header.
	if n := strings.Count(p.Log(), probeLogLine); n != 4 {
		t.Errorf("%d model files tried in a child, want 4", n)
	}
	code, body := get(t, p.URL+"/api/ps")
	var ps api.ProcessResponse
	if code != http.StatusOK || json.Unmarshal([]byte(body), &ps) != nil || len(ps.Models) != 1 || ps.Models[0].Name != "good:latest" {
		t.Errorf("/api/ps = %d %s, want the good model alone", code, body)
	}
	if code, body := generate(t, p.URL, "good"); code != http.StatusOK {
		t.Errorf("generate on the good model after the crashes = %d %s", code, body)
	}

	// A restarted server over the same cache answers from the stored verdict, without a child.
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	p2 := startHearth(t, env...)
	createAll(t, p2.URL, map[string]string{"assert": files["assert"]})
	if code, msg := generate(t, p2.URL, "assert"); code != http.StatusInternalServerError || !strings.Contains(msg, "GGML_ASSERT") {
		t.Errorf("after a restart, generate on assert = %d %q, want 500 naming the GGML_ASSERT", code, msg)
	}
	if strings.Contains(p2.Log(), probeLogLine) {
		t.Errorf("the restarted server tried the crashing file again")
	}
}

// createAll creates each model from its GGUF file through /api/blobs and /api/create.
func createAll(t testing.TB, base string, files map[string]string) {
	t.Helper()
	client := apiClient(t, base)
	for name, path := range files {
		if err := hearthapi.CreateFromPath(context.Background(), client, name, path); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
}

// generate sends a short non-streaming /api/generate and returns the status and, for an error, its
// message from Ollama's {"error": ...} body (else the body).
func generate(t *testing.T, base, model string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": model, "prompt": "hello", "stream": false,
		"options": map[string]any{"num_predict": 4, "num_ctx": 256}})
	resp, err := http.Post(base+"/api/generate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("generate on %s: %v", model, err)
	}
	defer resp.Body.Close()
	var out struct {
		Error    string `json:"error"`
		Response string `json:"response"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("generate on %s: status %d, body not JSON: %v", model, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, out.Error
	}
	return resp.StatusCode, out.Response
}

// writeGGUFOfArch writes a small GGUF file of architecture arch, which hearth's header checks accept.
func writeGGUFOfArch(t *testing.T, arch string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), arch+".gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := ggml.KV{"general.architecture": arch, arch + ".context_length": uint32(256), "tokenizer.ggml.model": "no_vocab"}
	ts := []*ggml.Tensor{{Name: "token_embd.weight", Kind: uint32(ggml.TensorTypeF32), Shape: []uint64{4},
		WriterTo: bytes.NewReader(make([]byte, 16))}}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		t.Fatal(err)
	}
	return path
}
