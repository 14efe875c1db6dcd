package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ollama/ollama/anthropic"
)

// messagesBody is a deterministic /v1/messages request for the tiny model.
func messagesBody(extra map[string]any) map[string]any {
	b := map[string]any{
		"model":       "tiny",
		"max_tokens":  8,
		"temperature": 0,
		"system":      []map[string]any{{"type": "text", "text": "Be brief."}},
		"messages":    []map[string]any{{"role": "user", "content": []map[string]any{{"type": "text", "text": "Hello there"}}}},
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func TestAnthropicMessages(t *testing.T) {
	e := newCompatEnv(t)
	r := e.send("POST", "/v1/messages", messagesBody(nil))
	var one anthropic.MessagesResponse
	r.json(t, &one)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || !strings.HasPrefix(one.ID, "msg_") ||
		one.Type != "message" || one.Role != "assistant" || one.Model != "tiny" || one.StopReason != "max_tokens" ||
		one.Usage.OutputTokens != 8 || one.Usage.InputTokens == 0 || len(one.Content) != 1 || one.Content[0].Type != "text" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	text := *one.Content[0].Text

	r = e.send("POST", "/v1/messages", messagesBody(map[string]any{"stream": true}))
	if r.status != 200 || r.header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream %d %v", r.status, r.header)
	}
	var names []string
	var streamed strings.Builder
	var stop string
	for _, ev := range parseSSE(t, r.body) {
		var d map[string]any
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil || d["type"] != ev.event {
			t.Fatalf("event %q: %s", ev.event, ev.data)
		}
		switch ev.event {
		case "content_block_delta":
			delta := d["delta"].(map[string]any)
			if delta["type"] != "text_delta" {
				t.Errorf("delta %v", delta)
			}
			streamed.WriteString(delta["text"].(string))
			continue
		case "message_delta":
			stop, _ = d["delta"].(map[string]any)["stop_reason"].(string)
		case "message_start":
			if m := d["message"].(map[string]any); !strings.HasPrefix(m["id"].(string), "msg_") || m["role"] != "assistant" {
				t.Errorf("message_start %s", ev.data)
			}
		}
		names = append(names, ev.event)
	}
	want := "message_start content_block_start content_block_stop message_delta message_stop"
	if strings.Join(names, " ") != want || streamed.String() != text || stop != "max_tokens" {
		t.Errorf("events %v text %q stop %q, want %q max_tokens", names, streamed.String(), stop, text)
	}

	// Claude Code asks every model to think; a model that cannot is answered anyway, where /api/chat refuses.
	r = e.send("POST", "/v1/messages", messagesBody(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 1024}}))
	if r.status != 200 {
		t.Errorf("thinking on a non-thinking model: %d %s", r.status, r.body)
	}
	var native errorReply
	if code := e.post("/api/chat", `{"model":"tiny","think":true,"messages":[{"role":"user","content":"hi"}]}`, &native); code != 400 {
		t.Errorf("/api/chat with think: %d %q", code, native.Error)
	}
}

func TestAnthropicToolsAccepted(t *testing.T) {
	e := newCompatEnv(t)
	// A random-weight model does not call tools on its own (and this route has no output format to force
	// one), so this checks that tools, tool_use and tool_result are accepted and rendered.
	body := messagesBody(map[string]any{
		"model":       "tools",
		"tools":       []map[string]any{{"name": "get_weather", "description": "Weather", "input_schema": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}},
		"tool_choice": map[string]any{"type": "auto"},
		"messages": []map[string]any{
			{"role": "user", "content": "Weather in Paris?"},
			{"role": "assistant", "content": []map[string]any{{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": map[string]any{"city": "Paris"}}}},
			{"role": "user", "content": []map[string]any{{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}}},
		},
	})
	r := e.send("POST", "/v1/messages", body)
	var one anthropic.MessagesResponse
	r.json(t, &one)
	if r.status != 200 || one.Type != "message" || (one.StopReason != "max_tokens" && one.StopReason != "end_turn" && one.StopReason != "tool_use") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
