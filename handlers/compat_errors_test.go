package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOpenAIBadInput checks each OpenAI route's refusals: status, message and the error shape. Errors of
// the translation are invalid_request_error; errors of the native route behind it keep its status and, as
// in Ollama, the type api_error.
func TestOpenAIBadInput(t *testing.T) {
	e := newCompatEnv(t)
	user := `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, path, body string
		status           int
		typ, msg         string
	}{
		{"chat: empty body", "/v1/chat/completions", ``, 400, "invalid_request_error", "missing request body"},
		{"chat: malformed JSON", "/v1/chat/completions", `{"model":`, 400, "invalid_request_error", "unexpected EOF"},
		{"chat: missing model", "/v1/chat/completions", `{` + user + `}`, 400, "api_error", "model is required"},
		{"chat: unknown model", "/v1/chat/completions", `{"model":"absent",` + user + `}`, 404, "api_error", "model 'absent' not found"},
		{"chat: no messages", "/v1/chat/completions", `{"model":"tiny","messages":[]}`, 400, "invalid_request_error", "[] is too short - 'messages'"},
		{"chat: missing messages", "/v1/chat/completions", `{"model":"tiny"}`, 400, "invalid_request_error", "[] is too short - 'messages'"},
		{"chat: unknown part", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"audio"}]}]}`,
			400, "invalid_request_error", "invalid message format"},
		{"chat: text part without text", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"text"}]}]}`,
			400, "invalid_request_error", "invalid message format"},
		{"chat: image URL", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`,
			400, "invalid_request_error", "image URLs are not currently supported, please use base64 encoded data instead"},
		{"chat: bad data URL", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/gif;base64,AAAA"}]}]}`,
			400, "invalid_request_error", "invalid image input"},
		{"chat: content of a wrong type", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":7}]}`,
			400, "invalid_request_error", "invalid message content type: float64"},
		{"chat: bad tool arguments", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"assistant","content":"","tool_calls":[{"id":"a","function":{"name":"f","arguments":"{"}}]}]}`,
			400, "invalid_request_error", "invalid tool call arguments"},
		{"chat: bad reasoning effort", "/v1/chat/completions", `{"model":"tiny",` + user + `,"reasoning_effort":"max"}`,
			400, "invalid_request_error", `invalid reasoning value: 'max' (must be "high", "medium", "low", or "none")`},
		{"chat: thinking on a non-thinking model", "/v1/chat/completions", `{"model":"tiny",` + user + `,"reasoning_effort":"high"}`,
			400, "api_error", `"tiny" does not support thinking`},
		{"chat: top_logprobs out of range", "/v1/chat/completions", `{"model":"tiny",` + user + `,"logprobs":true,"top_logprobs":21}`,
			400, "api_error", "top_logprobs must be between 0 and 20"},
		{"chat: wrong field type", "/v1/chat/completions", `{"model":"tiny",` + user + `,"max_tokens":"8"}`,
			400, "invalid_request_error", "json: cannot unmarshal string into Go struct field ChatCompletionRequest.max_tokens of type int"},
		{"completions: unknown model", "/v1/completions", `{"model":"absent","prompt":"x"}`, 404, "api_error", "model 'absent' not found"},
		{"completions: missing model", "/v1/completions", `{"prompt":"x"}`, 404, "api_error", "model '' not found"},
		{"completions: bad stop", "/v1/completions", `{"model":"tiny","prompt":"x","stop":[1]}`, 400, "invalid_request_error", "invalid type for 'stop' field: float64"},
		{"completions: prompt array", "/v1/completions", `{"model":"tiny","prompt":["x"]}`, 400, "invalid_request_error",
			"json: cannot unmarshal array into Go struct field CompletionRequest.prompt of type string"},
		{"embeddings: encoding_format", "/v1/embeddings", `{"model":"bert","input":"x","encoding_format":"int8"}`, 400, "invalid_request_error",
			"Invalid value for 'encoding_format' = int8. Supported values: ['float', 'base64']."},
		{"embeddings: missing input", "/v1/embeddings", `{"model":"bert"}`, 400, "invalid_request_error", "invalid input"},
		{"embeddings: empty input", "/v1/embeddings", `{"model":"bert","input":[]}`, 400, "invalid_request_error", "invalid input"},
		{"embeddings: input of numbers", "/v1/embeddings", `{"model":"bert","input":[1,2]}`, 400, "api_error", "invalid input type"},
		{"embeddings: unknown model", "/v1/embeddings", `{"model":"absent","input":"x"}`, 404, "api_error", "model 'absent' not found"},
		{"responses: missing model", "/v1/responses", `{"input":"hi"}`, 400, "api_error", "model is required"},
		{"responses: unknown model", "/v1/responses", `{"model":"absent","input":"hi"}`, 404, "api_error", "model 'absent' not found"},
		{"responses: bad input item", "/v1/responses", `{"model":"tiny","input":[{"type":"bogus"}]}`, 400, "invalid_request_error", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send("POST", tc.path, tc.body)
			var eb openAIErrorBody
			r.json(t, &eb)
			if r.status != tc.status || eb.Error.Type != tc.typ || (tc.msg != "" && eb.Error.Message != tc.msg) ||
				string(eb.Error.Param) != "null" || string(eb.Error.Code) != "null" ||
				r.header.Get("Content-Type") != "application/json" {
				t.Errorf("got %d %s\nwant %d %s %q", r.status, r.body, tc.status, tc.typ, tc.msg)
			}
		})
	}
}

// TestAnthropicBadInput checks /v1/messages refusals: the error type follows the status.
func TestAnthropicBadInput(t *testing.T) {
	e := newCompatEnv(t)
	user := `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, body string
		status     int
		typ, msg   string
	}{
		{"empty body", ``, 400, "invalid_request_error", "missing request body"},
		{"missing model", `{"max_tokens":5,` + user + `}`, 400, "invalid_request_error", "model is required"},
		{"missing max_tokens", `{"model":"tiny",` + user + `}`, 400, "invalid_request_error", "max_tokens is required and must be positive"},
		{"zero max_tokens", `{"model":"tiny","max_tokens":0,` + user + `}`, 400, "invalid_request_error", "max_tokens is required and must be positive"},
		{"negative max_tokens", `{"model":"tiny","max_tokens":-1,` + user + `}`, 400, "invalid_request_error", "max_tokens is required and must be positive"},
		{"no messages", `{"model":"tiny","max_tokens":5,"messages":[]}`, 400, "invalid_request_error", "messages is required"},
		{"bad block", `{"model":"tiny","max_tokens":5,"messages":[{"role":"user","content":["text"]}]}`, 400, "invalid_request_error", "invalid content block format"},
		{"image by URL", `{"model":"tiny","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x"}}]}]}`,
			400, "invalid_request_error", "invalid image source type: url. Only base64 images are supported."},
		{"tool_use without id", `{"model":"tiny","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f"}]}]}`,
			400, "invalid_request_error", "tool_use block missing required 'id' field"},
		{"unknown model", `{"model":"absent","max_tokens":5,` + user + `}`, 404, "not_found_error", "model 'absent' not found"},
		{"tools on a model without", `{"model":"tiny","max_tokens":5,` + user + `,"tools":[{"name":"f","input_schema":{"type":"object"}}]}`,
			400, "invalid_request_error", "registry.ollama.ai/library/tiny:latest does not support tools"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send("POST", "/v1/messages", tc.body)
			var eb anthropicErrorBody
			r.json(t, &eb)
			if r.status != tc.status || eb.Type != "error" || eb.Error.Type != tc.typ || eb.Error.Message != tc.msg ||
				!strings.HasPrefix(eb.RequestID, "req_") {
				t.Errorf("got %d %s\nwant %d %s %q", r.status, r.body, tc.status, tc.typ, tc.msg)
			}
		})
	}
}

// Browsers reach the /v1 routes after a CORS preflight, answered as Ollama answers it.
func TestCompatCORSPreflight(t *testing.T) {
	e := newCompatEnv(t)
	for _, path := range []string{"/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/models"} {
		r := e.send(http.MethodOptions, path, nil, "Origin", "http://localhost:3000",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-stainless-os")
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "X-Stainless-Os") {
			t.Errorf("%s preflight: %d %v", path, r.status, r.header)
		}
	}
	r := e.send(http.MethodOptions, "/v1/chat/completions", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if r.status != http.StatusForbidden {
		t.Errorf("disallowed origin: %d", r.status)
	}
}

// Streams are never compressed, even for a client that accepts it: each event must arrive when sent. The
// requests look as if they came from another machine (local clients never get compressed replies).
func TestCompatStreamsUncompressed(t *testing.T) {
	e := newCompatEnv(t)
	router := e.srv.Config.Handler
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "192.0.2.10:50000"
		router.ServeHTTP(w, r)
	}))
	defer remote.Close()
	e.srv = remote
	r := e.send("POST", "/v1/chat/completions", chatBody(map[string]any{"stream": true, "max_tokens": 40}), "Accept-Encoding", "zstd, gzip")
	if r.header.Get("Content-Encoding") != "" || !strings.HasSuffix(string(r.body), "data: [DONE]\n\n") {
		t.Errorf("stream encoding %q body %q", r.header.Get("Content-Encoding"), r.body)
	}
	r = e.send("POST", "/v1/messages", `{"model":"tiny","max_tokens":40,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		"Accept-Encoding", "gzip")
	if r.header.Get("Content-Encoding") != "" || !strings.Contains(string(r.body), "event: message_stop") {
		t.Errorf("messages stream encoding %q body %q", r.header.Get("Content-Encoding"), r.body)
	}
}
