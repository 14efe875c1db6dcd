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
// the reference Ollama and sends both the same greedy chats: one the model answers from scratch (with
// random weights it rarely writes harmony's channel headers, so content and thinking may both be empty:
// they must only agree), and one that prefills the assistant's final channel, which the harmony parser must
// turn into content.
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
	for _, msgs := range [][]api.Message{
		{{Role: "user", Content: "Why is the sky blue?"}},
		{{Role: "user", Content: "Why is the sky blue?"}, {Role: "assistant", Content: "Because"}},
	} {
		got, want := harmonyChat(t, h, msgs), harmonyChat(t, ref, msgs)
		if got.Content != want.Content || got.Thinking != want.Thinking {
			t.Errorf("gpt-oss chat %v: content %q thinking %q, Ollama's %q and %q", msgs, got.Content, got.Thinking, want.Content, want.Thinking)
		}
		if msgs[len(msgs)-1].Role == "assistant" && got.Content == "" {
			t.Errorf("gpt-oss chat prefilling the final channel returned no content (thinking %q)", got.Thinking)
		}
		t.Logf("gpt-oss chat of %d messages: content %q thinking %q", len(msgs), got.Content, got.Thinking)
	}
}

// harmonyChat sends a greedy non-streaming chat to gptoss-harmony and returns the answer.
func harmonyChat(t *testing.T, c *api.Client, msgs []api.Message) api.Message {
	t.Helper()
	stream := false
	var out api.ChatResponse
	err := c.Chat(context.Background(), &api.ChatRequest{Model: "gptoss-harmony", Messages: msgs, Stream: &stream,
		Options: map[string]any{"num_predict": 6, "temperature": 0, "num_ctx": 256, "seed": 1}},
		func(r api.ChatResponse) error { out = r; return nil })
	if err != nil {
		t.Fatalf("gpt-oss chat: %v", err)
	}
	return out.Message
}
