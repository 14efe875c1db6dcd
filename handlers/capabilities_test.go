package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/models"
)

// TestEveryShownCapabilityWorks imports, through /api/blobs and /api/create as a client would, hearth's
// generated default models and Hugging Face optimum-layout copies of the ONNX ones (no hearth.json: the task
// comes from config.json), then checks that every capability /api/show lists is served by its route, and
// that the encoder routes a model does not list refuse it with Ollama's 400 — except /api/embed for a
// completion model, which Ollama serves without listing "embedding". A one-label
// BertForSequenceClassification, the usual cross-encoder, is shown and served as rerank.
func TestEveryShownCapabilityWorks(t *testing.T) {
	e := newEncoderEnv(t)
	ctx := context.Background()
	want := map[string][]model.Capability{
		"tiny-llama":              {model.CapabilityCompletion},
		"bert-embed":              {model.CapabilityEmbedding},
		"bert-rerank":             {hapi.CapabilityRerank},
		"minilm-onnx":             {model.CapabilityEmbedding},
		"tinybert-cls-onnx":       {hapi.CapabilityClassification},
		"tinybert-rerank-onnx":    {hapi.CapabilityRerank},
		"minilm-onnx-hf":          {model.CapabilityEmbedding},
		"tinybert-cls-onnx-hf":    {hapi.CapabilityClassification},
		"tinybert-rerank-onnx-hf": {hapi.CapabilityRerank},
	}
	for name := range want {
		recipe, optimum := strings.CutSuffix(name, "-hf")
		path, err := models.Ensure(ctx, "", recipe)
		if err != nil {
			t.Fatal(err)
		}
		if optimum {
			dir := t.TempDir()
			if err := copyExcept(path, dir, "hearth.json"); err != nil {
				t.Fatal(err)
			}
			path = dir
		}
		if err := hapi.CreateFromPath(ctx, e.client, name, path); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}

	encoderRoutes := map[model.Capability]string{
		model.CapabilityEmbedding:     "/api/embed",
		hapi.CapabilityClassification: "/api/classify",
		hapi.CapabilityRerank:         "/api/rerank",
	}
	for name, caps := range want {
		t.Run(name, func(t *testing.T) {
			show, err := e.client.Show(ctx, &api.ShowRequest{Model: name})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(show.Capabilities, caps) {
				t.Errorf("/api/show lists %v, want %v", show.Capabilities, caps)
			}
			for _, c := range show.Capabilities {
				if code, msg := useCapability(e, name, c); code != http.StatusOK {
					t.Errorf("%s is listed, but using it answers %d %s", c, code, msg)
				}
			}
			for c, route := range encoderRoutes {
				if slices.Contains(show.Capabilities, c) {
					continue
				}
				code, msg := useCapability(e, name, c)
				if c == model.CapabilityEmbedding && slices.Contains(show.Capabilities, model.CapabilityCompletion) {
					// Ollama embeds with a generative model without listing "embedding" (engine/encode.go).
					if code != http.StatusOK {
						t.Errorf("a completion model is embedded with, as by Ollama, but %s answers %d %s", route, code, msg)
					}
					continue
				}
				if wantMsg := fmt.Sprintf("%q does not support %s", name, c); code != http.StatusBadRequest || msg != wantMsg {
					t.Errorf("%s is not listed, but %s answers %d %q (want 400 %q)", c, route, code, msg, wantMsg)
				}
			}
		})
	}
}

// useCapability sends the smallest request that needs capability c of the model, and returns the status
// and the error message.
func useCapability(e *inferEnv, name string, c model.Capability) (int, string) {
	e.t.Helper()
	var path string
	var body any
	switch c {
	case model.CapabilityCompletion:
		path, body = "/api/generate", &api.GenerateRequest{Model: name, Prompt: "once upon", Raw: true, Stream: new(bool), Options: map[string]any{"num_predict": 2}}
	case model.CapabilityEmbedding:
		path, body = "/api/embed", &api.EmbedRequest{Model: name, Input: "a sentence"}
	case hapi.CapabilityClassification:
		path, body = "/api/classify", &hapi.ClassifyRequest{Model: name, Input: "a sentence"}
	case hapi.CapabilityRerank:
		path, body = "/api/rerank", &hapi.RerankRequest{Model: name, Query: "a question", Documents: []string{"an answer", "a banana"}}
	case model.CapabilityInsert:
		path, body = "/api/generate", &api.GenerateRequest{Model: name, Prompt: "def f(", Suffix: "return 1", Stream: new(bool), Options: map[string]any{"num_predict": 2}}
	case model.CapabilityTools:
		path, body = "/api/chat", &api.ChatRequest{Model: name, Messages: []api.Message{{Role: "user", Content: "hi"}}, Tools: []api.Tool{{Type: "function", Function: api.ToolFunction{Name: "f"}}}, Stream: new(bool), Options: map[string]any{"num_predict": 2}}
	case model.CapabilityThinking:
		path, body = "/api/chat", &api.ChatRequest{Model: name, Messages: []api.Message{{Role: "user", Content: "hi"}}, Think: &api.ThinkValue{Value: true}, Stream: new(bool), Options: map[string]any{"num_predict": 2}}
	default:
		e.t.Fatalf("no request exercises capability %s", c)
	}
	var out errorReply
	code := e.post(path, body, &out)
	return code, out.Error
}
