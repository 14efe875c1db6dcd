package compat_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	hearthapi "github.com/hearthlink/hearth/api"
)

// TestTextModelAgainstOllama serves the generated tiny-llama, a text-only generative model, from hearth and
// from the reference Ollama 0.17.4 (which runs its architecture in the llama.cpp runner) and compares what
// issue 15 asks of such a model: embeddings and images.
func TestTextModelAgainstOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference Ollama")
	}
	ref, hearthURL := startBoth(t)
	ollama, hearth := apiClient(t, ref), apiClient(t, hearthURL)
	t.Run("embeddings", func(t *testing.T) { compareChatModelEmbeddings(t, ollama, hearth) })
	t.Run("images", func(t *testing.T) { compareImagePrompts(t, ollama, hearth) })
	t.Run("embeddings refused by the Go engine", func(t *testing.T) {
		compareGoEngineEmbedRefusals(t, map[string]*api.Client{"ollama": ollama, "hearth": hearth},
			ref, hearthURL)
	})
}

// compareGoEngineEmbedRefusals asks generative models of architectures Ollama runs in its Go engine for
// embeddings: tiny-olmo3 (hearth runs it in Ollama's Go engine too) and tiny-gemma3 (hearth runs it with
// llama.cpp). Ollama's Go engine runner refuses (501 "this model does not support embeddings", 500 on the
// legacy route) once the model is loaded; an empty input only loads it. hearth must answer the same,
// status and message, whichever of its engines runs the model.
func compareGoEngineEmbedRefusals(t *testing.T, clients map[string]*api.Client, hosts ...string) {
	ctx := context.Background()
	paths := hfGGUFs(t, "tiny-olmo3", "tiny-gemma3")
	names := []string{"olmo3", "gemma3"}
	for i, path := range paths {
		for _, c := range clients {
			if err := hearthapi.CreateFromPath(ctx, c, names[i], path); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range names {
		for _, r := range []struct{ path, body string }{
			{"/api/embed", `{"model":"` + name + `","input":"hi"}`},
			{"/api/embed", `{"model":"` + name + `"}`},
			{"/api/embeddings", `{"model":"` + name + `","prompt":"hi"}`},
			{"/v1/embeddings", `{"model":"` + name + `","input":"hi"}`},
		} {
			var answers []string
			for _, host := range hosts {
				resp, err := http.Post(host+r.path, "application/json", strings.NewReader(r.body))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answers = append(answers, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body))))
			}
			if answers[0] != answers[1] {
				t.Errorf("%s %s: Ollama %s, hearth %s", r.path, r.body, answers[0], answers[1])
			}
			if strings.Contains(r.body, "hi") && !strings.Contains(answers[0], "this model does not support embeddings") {
				t.Errorf("%s %s: Ollama answered %s, not its Go engine's refusal", r.path, r.body, answers[0])
			}
		}
	}
}

// compareChatModelEmbeddings compares the vectors of a generative model (Ollama's llama.cpp runner answers
// the last token's hidden state): cosine at least 0.999 on /api/embed, and on the legacy /api/embeddings,
// which is not normalised, the same length within 1%. The token counts must be equal. Both run the same
// llama.cpp on the same CPU; a vector of another token, a pooled one, or one from a prompt tokenized
// differently would be far off.
func compareChatModelEmbeddings(t *testing.T, ollama, hearth *api.Client) {
	ctx := context.Background()
	inputs := []string{"The quick brown fox jumps over the lazy dog", "hello", "Écris-moi un haïku 🙂", "a b c d e f g"}
	want, err := ollama.Embed(ctx, &api.EmbedRequest{Model: "m", Input: inputs})
	if err != nil {
		t.Fatal(err)
	}
	got, err := hearth.Embed(ctx, &api.EmbedRequest{Model: "m", Input: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Embeddings) != len(want.Embeddings) || got.PromptEvalCount != want.PromptEvalCount {
		t.Fatalf("hearth: %d vectors of %d tokens; ollama: %d of %d", len(got.Embeddings), got.PromptEvalCount, len(want.Embeddings), want.PromptEvalCount)
	}
	for i, in := range inputs {
		c := cosine64(widen32(got.Embeddings[i]), widen32(want.Embeddings[i]))
		if c < 0.999 {
			t.Errorf("/api/embed %q: cosine %v with Ollama's vector", in, c)
		}
		t.Logf("/api/embed %q: cosine %.6f", in, c)
	}

	for _, in := range inputs[:2] {
		w, err := ollama.Embeddings(ctx, &api.EmbeddingRequest{Model: "m", Prompt: in})
		if err != nil {
			t.Fatal(err)
		}
		g, err := hearth.Embeddings(ctx, &api.EmbeddingRequest{Model: "m", Prompt: in})
		if err != nil {
			t.Fatal(err)
		}
		nw, ng := math.Sqrt(cosineDot(w.Embedding, w.Embedding)), math.Sqrt(cosineDot(g.Embedding, g.Embedding))
		if c := cosine64(g.Embedding, w.Embedding); c < 0.999 || math.Abs(ng-nw) > 0.01*nw {
			t.Errorf("/api/embeddings %q: cosine %v, length %v (Ollama's %v)", in, c, ng, nw)
		}
	}

	// An input over a 32-token context: cut the same way (same tokens, same vector), or refused alike with
	// truncation off.
	long := strings.Repeat("the quick brown fox ", 20)
	small := map[string]any{"num_ctx": 32}
	want, err = ollama.Embed(ctx, &api.EmbedRequest{Model: "m", Input: long, Options: small})
	if err != nil {
		t.Fatal(err)
	}
	got, err = hearth.Embed(ctx, &api.EmbedRequest{Model: "m", Input: long, Options: small})
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine64(widen32(got.Embeddings[0]), widen32(want.Embeddings[0])); c < 0.999 || got.PromptEvalCount != want.PromptEvalCount || want.PromptEvalCount > 32 {
		t.Errorf("truncated: cosine %v, %d tokens (Ollama's %d)", c, got.PromptEvalCount, want.PromptEvalCount)
	}
	off := false
	_, werr := ollama.Embed(ctx, &api.EmbedRequest{Model: "m", Input: long, Options: small, Truncate: &off})
	_, gerr := hearth.Embed(ctx, &api.EmbedRequest{Model: "m", Input: long, Options: small, Truncate: &off})
	if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
		t.Errorf("truncation off: hearth %v, Ollama %v", gerr, werr)
	}
}

// compareImagePrompts renders chats and a generate prompt with images for the text-only model on both
// servers (debug_render_only): the prompts, with Ollama's [img-N] tags, and the image counts must be equal.
func compareImagePrompts(t *testing.T, ollama, hearth *api.Client) {
	ctx := context.Background()
	png, err := base64.StdEncoding.DecodeString(onePixelPNG)
	if err != nil {
		t.Fatal(err)
	}
	img := []api.ImageData{png}
	chats := map[string][]api.Message{
		"one image":         {{Role: "user", Content: "hi", Images: img}},
		"[img] placeholder": {{Role: "user", Content: "look at [img] please", Images: img}},
		"several turns": {{Role: "system", Content: "be brief"}, {Role: "user", Content: "first", Images: []api.ImageData{png, png}},
			{Role: "assistant", Content: "ok"}, {Role: "user", Content: "second [img]", Images: img}},
	}
	for name, msgs := range chats {
		render := func(c *api.Client) *api.DebugInfo {
			var info *api.DebugInfo
			req := &api.ChatRequest{Model: "m", Messages: msgs, DebugRenderOnly: true}
			if err := c.Chat(ctx, req, func(r api.ChatResponse) error { info = r.DebugInfo; return nil }); err != nil {
				t.Fatal(err)
			}
			return info
		}
		want, got := render(ollama), render(hearth)
		if want == nil || got == nil || *got != *want || !strings.Contains(want.RenderedTemplate, "[img-0]") {
			t.Errorf("chat %s: hearth rendered %+v, Ollama %+v", name, got, want)
		}
	}
	render := func(c *api.Client) *api.DebugInfo {
		var info *api.DebugInfo
		req := &api.GenerateRequest{Model: "m", Prompt: "describe [img]", Images: img, DebugRenderOnly: true}
		if err := c.Generate(ctx, req, func(r api.GenerateResponse) error { info = r.DebugInfo; return nil }); err != nil {
			t.Fatal(err)
		}
		return info
	}
	if want, got := render(ollama), render(hearth); want == nil || got == nil || *got != *want || !strings.Contains(want.RenderedTemplate, "describe [img-0]") {
		t.Errorf("generate: hearth rendered %+v, Ollama %+v", got, want)
	}
}

// widen32 converts a float32 vector to float64.
func widen32(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// cosineDot is the dot product of a and b.
func cosineDot(a, b []float64) float64 {
	var s float64
	for i := range min(len(a), len(b)) {
		s += a[i] * b[i]
	}
	return s
}

// cosine64 is the cosine similarity of a and b; 0 when their lengths differ.
func cosine64(a, b []float64) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	return cosineDot(a, b) / math.Sqrt(cosineDot(a, a)*cosineDot(b, b))
}
