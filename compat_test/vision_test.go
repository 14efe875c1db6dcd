package compat_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/models"
)

// visionModel is the name the vision tests give tiny-gemma3-vision: gemma3 with its SigLIP tower and
// projector and Gemma 3's real vocabulary, converted by Ollama's own converter.
const visionModel = "gemma3v"

// gemma3ImageTokens is what Ollama's gemma3 makes of one image: "\n\n", <start_of_image>, 256 embedding
// positions, <end_of_image>, "\n\n".
const gemma3ImageTokens = 260

// pngImage is a w x h PNG whose colours depend on seed.
func pngImage(t testing.TB, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*9) + seed, uint8(y*5) ^ seed, uint8(x+y) * seed, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// visionShape is one API shape of a request with (or without) one image, and where its answer counts
// the prompt's tokens.
type visionShape struct {
	name, path string
	body       func(img []byte) map[string]any // img nil: the same request without the image
	count      func(answer map[string]any) int
}

func visionShapes() []visionShape {
	const text = "Describe the picture."
	opts := map[string]any{"num_predict": 2, "temperature": 0, "seed": 1}
	b64 := base64.StdEncoding.EncodeToString
	num := func(m map[string]any, keys ...string) int {
		var v any = m
		for _, k := range keys {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		f, _ := v.(float64)
		return int(f)
	}
	return []visionShape{
		{"generate", "/api/generate", func(img []byte) map[string]any {
			req := map[string]any{"model": visionModel, "prompt": text, "stream": false, "options": opts}
			if img != nil {
				req["images"] = []string{b64(img)}
			}
			return req
		}, func(a map[string]any) int { return num(a, "prompt_eval_count") }},
		{"chat", "/api/chat", func(img []byte) map[string]any {
			msg := map[string]any{"role": "user", "content": text}
			if img != nil {
				msg["images"] = []string{b64(img)}
			}
			return map[string]any{"model": visionModel, "messages": []any{msg}, "stream": false, "options": opts}
		}, func(a map[string]any) int { return num(a, "prompt_eval_count") }},
		{"openai", "/v1/chat/completions", func(img []byte) map[string]any {
			parts := []any{map[string]any{"type": "text", "text": text}}
			if img != nil {
				parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + b64(img)}})
			}
			return map[string]any{"model": visionModel, "max_tokens": 2, "temperature": 0, "seed": 1,
				"messages": []any{map[string]any{"role": "user", "content": parts}}}
		}, func(a map[string]any) int { return num(a, "usage", "prompt_tokens") }},
		{"anthropic", "/v1/messages", func(img []byte) map[string]any {
			var blocks []any
			if img != nil {
				blocks = append(blocks, map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": b64(img)}})
			}
			blocks = append(blocks, map[string]any{"type": "text", "text": text})
			return map[string]any{"model": visionModel, "max_tokens": 2, "temperature": 0,
				"messages": []any{map[string]any{"role": "user", "content": blocks}}}
		}, func(a map[string]any) int { return num(a, "usage", "input_tokens") }},
	}
}

// postJSON posts body as JSON and decodes the answer.
func postJSON(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: status %d, body not JSON: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// TestVisionOverHTTP creates gemma3 with its vision tower over HTTP in a real `hearth serve` and sends it
// an image through all four API shapes: Ollama's Go engine loads it, /api/show lists vision, and every
// shape's prompt token count grows by at least the image's 260 tokens (exactly that on the native routes,
// where the image adds nothing but its tag). An image the model cannot decode is a 400 in Ollama's error
// shape, and the server goes on.
func TestVisionOverHTTP(t *testing.T) {
	paths := hfGGUFs(t, "tiny-gemma3-vision")
	h := startHearth(t)
	createAll(t, h.URL, map[string]string{visionModel: paths[0]})
	// Short answers by default, for the CLI, which cannot set num_predict (the API shapes set their own).
	if code, answer := postJSON(t, h.URL+"/api/create", map[string]any{"model": visionModel, "from": visionModel,
		"parameters": map[string]any{"num_predict": 2}, "stream": false}); code != http.StatusOK {
		t.Fatalf("create %s with num_predict: %d %v", visionModel, code, answer)
	}
	show, err := apiClient(t, h.URL).Show(t.Context(), &api.ShowRequest{Model: visionModel})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(show.Capabilities, model.CapabilityVision) || !slices.Contains(show.Capabilities, model.CapabilityCompletion) {
		t.Errorf("/api/show capabilities %v, want completion and vision", show.Capabilities)
	}
	img := pngImage(t, 48, 40, 3)
	for _, s := range visionShapes() {
		code, without := postJSON(t, h.URL+s.path, s.body(nil))
		code2, with := postJSON(t, h.URL+s.path, s.body(img))
		if code != http.StatusOK || code2 != http.StatusOK {
			t.Errorf("%s: status %d without the image, %d with it: %v", s.name, code, code2, with)
			continue
		}
		n, m := s.count(without), s.count(with)
		exact := s.name == "generate" || s.name == "chat"
		if m-n < gemma3ImageTokens || exact && m-n != gemma3ImageTokens {
			t.Errorf("%s: %d prompt tokens with the image, %d without; want %d more", s.name, m, n, gemma3ImageTokens)
		}
	}
	if engine := loadedBy(h.Log(), visionModel+":latest"); engine != "ollamaengine" {
		t.Errorf("%s was loaded by %q, want ollamaengine", visionModel, engine)
	}
	for _, s := range visionShapes() {
		code, answer := postJSON(t, h.URL+s.path, s.body([]byte("not an image")))
		if code != http.StatusBadRequest || answer["error"] == nil {
			t.Errorf("%s with an undecodable image: %d %v, want 400 with an error", s.name, code, answer)
		}
		if msg := answer["error"]; s.name == "chat" && msg != "failed to process inputs: image: unknown format" {
			t.Errorf("chat with an undecodable image: error %q", msg)
		}
	}
	if code, text := generate(t, h.URL, visionModel); code != http.StatusOK || text == "" {
		t.Errorf("after the bad images: generate = %d %q", code, text)
	}
	t.Run("ollama run with an image path", func(t *testing.T) { visionCLI(t, ollamaCLI(t), h.URL, img) })
	t.Run("hearth run with an image path", func(t *testing.T) { visionCLI(t, hearthBinary(t), h.URL, img) })
	t.Run("ollama-js and the OpenAI SDK", func(t *testing.T) { visionJS(t, h.URL, img) })
}

// visionJS sends the image with ollama-js (chat with an image file path) and the OpenAI SDK (an image_url
// data URI part) through testdata/vision.cjs: with the image, each prompt counts at least its 260 tokens
// more.
func visionJS(t *testing.T, base string, img []byte) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	modules := filepath.Join(models.CacheDir(), "node", "node_modules")
	for _, pkg := range []string{"ollama", "openai"} {
		if _, err := os.Stat(filepath.Join(modules, pkg, "package.json")); err != nil {
			t.Skipf("%s not installed: run `bash scripts/bootstrap.sh node-sdks`", pkg)
		}
	}
	picture := filepath.Join(t.TempDir(), "picture.png")
	if err := os.WriteFile(picture, img, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "testdata/vision.cjs", base, visionModel, picture)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("unexpected output: %s", out)
		}
		counts[f[0]+" "+f[1]], _ = strconv.Atoi(f[2])
	}
	for _, client := range []string{"ollama-js", "openai"} {
		with, without := counts[client+" with"], counts[client+" without"]
		if without == 0 || with-without < gemma3ImageTokens {
			t.Errorf("%s: %d prompt tokens with the image, %d without; want at least %d more", client, with, without, gemma3ImageTokens)
		}
	}
}

// visionCLI runs the CLI bin (the real ollama, or hearth as that CLI) as `run MODEL "describe
// ./picture.png" --verbose` against hearth: the CLI sees vision in /api/show, attaches the file, and the
// prompt it reports counts the image's tokens.
func visionCLI(t *testing.T, bin, base string, img []byte) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "picture.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	host, home := strings.TrimPrefix(base, "http://"), t.TempDir()
	evalCount := regexp.MustCompile(`prompt eval count:\s+(\d+)`)
	count := func(prompt string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, "run", visionModel, prompt, "--verbose")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "OLLAMA_HOST="+host, "HOME="+home, "TERM=dumb", "NO_COLOR=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("ollama run %q: %v\n%s", prompt, err, stderr.String())
		}
		m := evalCount.FindStringSubmatch(stderr.String())
		if m == nil {
			t.Fatalf("ollama run %q --verbose printed no prompt eval count:\n%s", prompt, stderr.String())
		}
		n, _ := strconv.Atoi(m[1])
		return n, stderr.String()
	}
	with, stderr := count("describe ./picture.png")
	without, _ := count("describe")
	if !strings.Contains(stderr, "Added image './picture.png'") || with-without != gemma3ImageTokens {
		t.Errorf("ollama run with the image: %d prompt tokens, %d without; want %d more\n%s", with, without, gemma3ImageTokens, stderr)
	}
}

// TestVisionAgainstOllama sends the same image to the same GGUF in hearth and in the reference Ollama
// 0.17.4 through all four API shapes: the prompt token counts must be equal, and for a raw prompt with the
// image the first token and its log probability must agree within TestGoEngineAgainstOllama's tolerance.
func TestVisionAgainstOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference Ollama")
	}
	paths := hfGGUFs(t, "tiny-gemma3-vision")
	ollamaHost, _, _ := startOllamaServe(t, ollamaCLI(t))
	ref := "http://" + ollamaHost
	h := startHearth(t)
	files := map[string]string{visionModel: paths[0]}
	createAll(t, h.URL, files)
	createAll(t, ref, files)
	img := pngImage(t, 50, 30, 11)
	for _, s := range visionShapes() {
		wantCode, want := postJSON(t, ref+s.path, s.body(img))
		gotCode, got := postJSON(t, h.URL+s.path, s.body(img))
		if gotCode != wantCode || s.count(got) != s.count(want) || s.count(got) == 0 {
			t.Errorf("%s: hearth %d with %d prompt tokens, Ollama %d with %d", s.name, gotCode, s.count(got), wantCode, s.count(want))
		}
	}

	const tolerance = 0.02
	raw := map[string]any{"model": visionModel, "raw": true, "stream": false, "logprobs": true, "top_logprobs": 3,
		"prompt":  "<start_of_turn>user\n[img-0]What is in this picture?<end_of_turn>\n<start_of_turn>model\n",
		"images":  []string{base64.StdEncoding.EncodeToString(img)},
		"options": map[string]any{"num_predict": 1, "temperature": 0, "seed": 1}}
	first := func(base string) api.GenerateResponse {
		b, _ := json.Marshal(raw)
		resp, err := http.Post(base+"/api/generate", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out api.GenerateResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Logprobs) == 0 {
			t.Fatalf("raw image prompt on %s: %d, %v", base, resp.StatusCode, err)
		}
		return out
	}
	want, got := first(ref), first(h.URL)
	w, g := want.Logprobs[0], got.Logprobs[0]
	if got.PromptEvalCount != want.PromptEvalCount {
		t.Errorf("raw prompt: %d prompt tokens, Ollama %d", got.PromptEvalCount, want.PromptEvalCount)
	}
	tie := len(w.TopLogprobs) > 1 && w.TopLogprobs[0].Logprob-w.TopLogprobs[1].Logprob < tolerance
	if g.Token != w.Token && !tie || g.Token == w.Token && math.Abs(g.Logprob-w.Logprob) > tolerance {
		t.Errorf("first token after the image %q (%.4f), Ollama's %q (%.4f)", g.Token, g.Logprob, w.Token, w.Logprob)
	}
	t.Logf("first token after the image: %q %.4f (Ollama %q %.4f), %d prompt tokens", g.Token, g.Logprob, w.Token, w.Logprob, got.PromptEvalCount)
}
