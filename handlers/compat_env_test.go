package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// toolTemplate is a ChatML template that offers tools and renders tool calls as bare JSON objects, so
// Ollama's tool parser takes any JSON object naming a tool in the output as a call. With a JSON schema
// format that forces such an object, even a random-weight model makes a real tool call.
const toolTemplate = `{{- if .Tools }}<|im_start|>system
{{ range .Tools }}{{ .Function.Name }}: {{ .Function.Description }}
{{ end }}<|im_end|>
{{ end }}{{ range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}{{ if .ToolCalls }}{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}{{ end }}{{ end }}<|im_end|>
{{ end }}<|im_start|>assistant
`

// weatherCallSchema forces the output {"name":"get_weather","arguments":{"city":"Paris"}}.
const weatherCallSchema = `{"type":"object","properties":{"name":{"type":"string","enum":["get_weather"]},` +
	`"arguments":{"type":"object","properties":{"city":{"type":"string","enum":["Paris"]}},"required":["city"]}},` +
	`"required":["name","arguments"]}`

// weatherTool is the OpenAI-style tool the tool tests offer.
const weatherTool = `{"type":"function","function":{"name":"get_weather","description":"Current weather in a city",` +
	`"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}`

// newCompatEnv starts a server with "tiny" (tiny-llama, ChatML), "tools" (tiny-llama with toolTemplate),
// "plain" (tiny-llama with plainChatTemplate) and "bert" (a GGUF embedding model) for the OpenAI- and
// Anthropic-compatible routes.
func newCompatEnv(t testing.TB) *inferEnv {
	t.Helper()
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	path, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := e.store.WriteBlob(context.Background(), strings.NewReader(toolTemplate), "")
	if err != nil {
		t.Fatal(err)
	}
	e.importGGUF("tools", path, nil, tb.Layer(registry.MediaTypeTemplate))
	e.importPlainChat("plain")
	e.importTiny("bert", "bert-embed")
	return e
}

// reply is a raw HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test when it is not JSON.
func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("reply %d %q: %v", r.status, r.body, err)
	}
}

// send makes a request with body (a string as is, anything else as JSON) and headers given as
// name, value pairs, and reads the whole answer.
func (e *inferEnv) send(method, path string, body any, headers ...string) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	event string
	data  string
}

// parseSSE splits an event stream into its events, failing the test on a line that is not part of the
// format's subset the routes use (event:, data:, blank).
func parseSSE(t testing.TB, body []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" || cur.event != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected SSE line %q in\n%s", line, body)
		}
	}
	if cur.data != "" || cur.event != "" {
		t.Fatalf("stream ends without a blank line after %+v", cur)
	}
	return out
}

// openAIErrorBody is the OpenAI error shape, param and code kept raw to check they are null.
type openAIErrorBody struct {
	Error struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

// anthropicErrorBody is the Anthropic error shape.
type anthropicErrorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}
