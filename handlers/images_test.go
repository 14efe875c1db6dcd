package handlers_test

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// onePixelPNG is a valid 1x1 PNG, base64-encoded.
const onePixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

// TestImagesToATextModelAreIgnored sends images to tiny-llama, which has no vision, on every route that
// takes them: each request is answered, as by Ollama, whose prompt marks each image with an [img-N] tag
// that a text-only model reads as text. With a template that passes message text through, the greedy
// answer to a message with an image is the answer to the same text with the tag typed in.
func TestImagesToATextModelAreIgnored(t *testing.T) {
	e := newCompatEnv(t)
	png, err := base64.StdEncoding.DecodeString(onePixelPNG)
	if err != nil {
		t.Fatal(err)
	}
	chat := func(msgs ...api.Message) (string, api.ChatResponse) {
		t.Helper()
		var text strings.Builder
		var last api.ChatResponse
		req := &api.ChatRequest{Model: "plain", Messages: msgs, Options: greedyOpts(8)}
		if err := e.client.Chat(t.Context(), req, func(r api.ChatResponse) error {
			text.WriteString(r.Message.Content)
			last = r
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return text.String(), last
	}

	withImage, last := chat(api.Message{Role: "user", Content: "Once upon a time [img]", Images: []api.ImageData{png}})
	typed, _ := chat(api.Message{Role: "user", Content: "Once upon a time [img-0]"})
	plain, _ := chat(api.Message{Role: "user", Content: "Once upon a time "})
	if !last.Done || last.EvalCount == 0 || withImage != typed {
		t.Errorf("chat with an image answered %q (%+v), want the answer to the tagged text %q", withImage, last, typed)
	}
	assertDistinct(t, map[string]string{"tagged": typed, "untagged": plain})

	// The tags as Ollama renders them: numbered over the conversation, in place of "[img]" when the text
	// has one, else in front; the debug info counts the images. (Ollama's template joins consecutive
	// messages of one role with a blank line.)
	req := &api.ChatRequest{Model: "plain", DebugRenderOnly: true, Messages: []api.Message{
		{Role: "user", Content: "first", Images: []api.ImageData{png, png}},
		{Role: "user", Content: "see [img] here", Images: []api.ImageData{png}},
	}}
	if err := e.client.Chat(t.Context(), req, func(r api.ChatResponse) error {
		if r.DebugInfo == nil || r.DebugInfo.RenderedTemplate != "[img-0][img-1]first\n\nsee [img-2] here" || r.DebugInfo.ImageCount != 3 {
			t.Errorf("rendered %+v", r.DebugInfo)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// /api/generate renders its prompt as a chat: the same answer.
	got, final, err := e.generate(&api.GenerateRequest{Model: "plain", Prompt: "Once upon a time [img]", Images: []api.ImageData{png}, Options: greedyOpts(8)})
	if err != nil || got != typed || !final.Done {
		t.Errorf("generate with an image: %q, %v; want %q", got, err, typed)
	}

	// The OpenAI and Anthropic shapes of an image reach the same path.
	for _, c := range []struct{ name, path, body, want string }{
		{"openai image_url", "/v1/chat/completions", `{"model":"tiny","max_tokens":4,"messages":[{"role":"user","content":[` +
			`{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + onePixelPNG + `"}}]}]}`, `"finish_reason"`},
		{"anthropic image block", "/v1/messages", `{"model":"tiny","max_tokens":4,"messages":[{"role":"user","content":[` +
			`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + onePixelPNG + `"}},{"type":"text","text":"hi"}]}]}`, `"stop_reason"`},
	} {
		r := e.send("POST", c.path, c.body)
		if r.status != 200 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
}

// TestImagesToALlamaCppVisionModelAreRefused gives tiny-llama a projector layer (an mmproj GGUF, which
// hearth's llama.cpp engine does not run yet): /api/show lists vision, text requests are answered, and a
// request with an image is a 400 that says why, on the native and the OpenAI routes, rather than an answer
// that never saw the image.
func TestImagesToALlamaCppVisionModelAreRefused(t *testing.T) {
	e := newCompatEnv(t)
	proj := enginetest.HeaderOnlyGGUF(t, ggml.KV{"general.architecture": "clip", "general.type": "projector"}, "mm.0.weight")
	f, err := os.Open(proj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blob, err := e.store.WriteBlob(t.Context(), f, "")
	if err != nil {
		t.Fatal(err)
	}
	path, err := models.Ensure(t.Context(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	e.importGGUF("llava-like", path, nil, blob.Layer(registry.MediaTypeProjector))

	show := e.send("POST", "/api/show", `{"model":"llava-like"}`)
	if show.status != 200 || !strings.Contains(string(show.body), `"vision"`) {
		t.Errorf("/api/show: %d %.300s", show.status, show.body)
	}
	if r := e.send("POST", "/api/chat", `{"model":"llava-like","stream":false,"options":{"num_predict":2},"messages":[{"role":"user","content":"hi"}]}`); r.status != 200 {
		t.Errorf("chat without an image: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ path, body string }{
		{"/api/chat", `{"model":"llava-like","stream":false,"messages":[{"role":"user","content":"hi","images":["` + onePixelPNG + `"]}]}`},
		{"/api/generate", `{"model":"llava-like","stream":false,"prompt":"hi","images":["` + onePixelPNG + `"]}`},
		{"/v1/chat/completions", `{"model":"llava-like","max_tokens":2,"messages":[{"role":"user","content":[` +
			`{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + onePixelPNG + `"}}]}]}`},
	} {
		r := e.send("POST", c.path, c.body)
		if r.status != 400 || !strings.Contains(string(r.body), "cannot read images yet") {
			t.Errorf("%s with an image: %d %s", c.path, r.status, r.body)
		}
	}
}
