package compat_test

import (
	"context"
	"testing"

	"github.com/ollama/ollama/api"

	hearthapi "github.com/hearthlink/hearth/api"
)

// harmonyTemplate is a short gpt-oss chat template in Ollama's template language: harmony's system header,
// user turns, and the assistant's final-channel turns, the last one left open when the request prefills it.
// It holds <|start|> and <|end|>, which is what makes Ollama (and hearth) parse a gpt-oss model's output
// with the harmony parser.
const harmonyTemplate = `<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
Reasoning: {{ if .ThinkLevel }}{{ .ThinkLevel }}{{ else }}medium{{ end }}

# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>
{{- range $i, $m := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<|start|>user<|message|>{{ .Content }}<|end|>
{{- else if eq .Role "assistant" }}<|start|>assistant<|channel|>final<|message|>{{ .Content }}{{ if not $last }}<|end|>{{ end }}
{{- end }}
{{- if and $last (ne .Role "assistant") }}<|start|>assistant{{ end }}
{{- end }}`

// compareHarmonyChat creates gpt-oss (the tiny-gptoss GGUF at path) with harmonyTemplate on hearth and on
// the reference Ollama and sends both the same greedy chat, which prefills the assistant's final channel:
// the harmony parser must turn what follows into content, the same as Ollama's. (Left to start its answer
// itself, the model with random weights rarely writes harmony's channel headers, so the parser returns
// neither content nor thinking: nothing worth comparing.)
func compareHarmonyChat(t *testing.T, hearthURL, refURL, path string) {
	t.Helper()
	h, ref := apiClient(t, hearthURL), apiClient(t, refURL)
	for _, c := range []*api.Client{h, ref} {
		d, err := hearthapi.UploadBlob(context.Background(), c, path)
		if err != nil {
			t.Fatal(err)
		}
		stream := false
		if err := c.Create(context.Background(), &api.CreateRequest{Model: "gptoss-harmony", Files: map[string]string{"model.gguf": d},
			Template: harmonyTemplate, Stream: &stream}, func(api.ProgressResponse) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	msgs := []api.Message{{Role: "user", Content: "Why is the sky blue?"}, {Role: "assistant", Content: "Because"}}
	got, want := harmonyChat(t, h, msgs), harmonyChat(t, ref, msgs)
	if got.Content != want.Content || got.Thinking != want.Thinking {
		t.Errorf("gpt-oss chat: content %q thinking %q, Ollama's %q and %q", got.Content, got.Thinking, want.Content, want.Thinking)
	}
	if got.Content == "" {
		t.Errorf("gpt-oss chat prefilling the final channel returned no content (thinking %q)", got.Thinking)
	}
	t.Logf("gpt-oss chat: content %q thinking %q", got.Content, got.Thinking)
}

// harmonyChat sends a greedy non-streaming chat to gptoss-harmony and returns the answer.
func harmonyChat(t *testing.T, c *api.Client, msgs []api.Message) api.Message {
	t.Helper()
	stream := false
	var out api.ChatResponse
	err := c.Chat(context.Background(), &api.ChatRequest{Model: "gptoss-harmony", Messages: msgs, Stream: &stream,
		Options: map[string]any{"num_predict": 4, "temperature": 0, "num_ctx": 256, "seed": 1}},
		func(r api.ChatResponse) error { out = r; return nil })
	if err != nil {
		t.Fatalf("gpt-oss chat: %v", err)
	}
	return out.Message
}
