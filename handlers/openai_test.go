package handlers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/openai"
)

// chatBody is a reproducible /v1/chat/completions request for the tiny model: seeded, not greedy, since
// greedy output of a random-weight model is a run of newlines.
func chatBody(extra map[string]any) map[string]any {
	b := map[string]any{
		"model":      "tiny",
		"messages":   []map[string]any{{"role": "user", "content": "Hello there"}},
		"max_tokens": 8,
		"seed":       42,
	}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func TestOpenAIChat(t *testing.T) {
	e := newCompatEnv(t)

	r := e.send("POST", "/v1/chat/completions", chatBody(nil))
	var one openai.ChatCompletion
	r.json(t, &one)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if !strings.HasPrefix(one.Id, "chatcmpl-") || one.Object != "chat.completion" || one.Model != "tiny" ||
		one.SystemFingerprint != "fp_ollama" || one.Created == 0 || len(one.Choices) != 1 {
		t.Fatalf("completion %s", r.body)
	}
	c := one.Choices[0]
	if c.Message.Role != "assistant" || c.FinishReason == nil || *c.FinishReason != "length" ||
		one.Usage.CompletionTokens != 8 || one.Usage.PromptTokens == 0 ||
		one.Usage.TotalTokens != one.Usage.PromptTokens+8 {
		t.Fatalf("choice or usage %s", r.body)
	}
	text, _ := c.Message.Content.(string)

	// The same request natively gives the same text, with temperature and top_p at OpenAI's defaults of 1
	// rather than Ollama's: the translation only renames.
	var native api.ChatResponse
	e.post("/api/chat", map[string]any{"model": "tiny", "stream": false,
		"messages": []map[string]any{{"role": "user", "content": "Hello there"}},
		"options":  map[string]any{"temperature": 1, "top_p": 1, "num_predict": 8, "seed": 42}}, &native)
	if native.Message.Content != text || strings.TrimSpace(text) == "" {
		t.Errorf("translated %q, native %q", text, native.Message.Content)
	}

	r = e.send("POST", "/v1/chat/completions", chatBody(map[string]any{"stream": true, "stream_options": map[string]any{"include_usage": true}}))
	if r.status != 200 || r.header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream %d %s", r.status, r.header)
	}
	events := parseSSE(t, r.body)
	if len(events) < 4 || events[len(events)-1].data != "[DONE]" {
		t.Fatalf("stream %s", r.body)
	}
	var streamed strings.Builder
	var finish string
	for i, ev := range events[:len(events)-2] {
		var ch openai.ChatCompletionChunk
		if err := json.Unmarshal([]byte(ev.data), &ch); err != nil {
			t.Fatal(err)
		}
		if ch.Object != "chat.completion.chunk" || !strings.HasPrefix(ch.Id, "chatcmpl-") || len(ch.Choices) != 1 ||
			ch.Choices[0].Delta.Role != "assistant" || ch.Usage != nil {
			t.Fatalf("chunk %d %s", i, ev.data)
		}
		s, _ := ch.Choices[0].Delta.Content.(string)
		streamed.WriteString(s)
		if ch.Choices[0].FinishReason != nil {
			finish = *ch.Choices[0].FinishReason
		}
	}
	var usage openai.ChatCompletionChunk
	if err := json.Unmarshal([]byte(events[len(events)-2].data), &usage); err != nil {
		t.Fatal(err)
	}
	if usage.Choices == nil || len(usage.Choices) != 0 || usage.Usage == nil || usage.Usage.CompletionTokens != 8 {
		t.Errorf("usage chunk %s", events[len(events)-2].data)
	}
	if streamed.String() != text || finish != "length" {
		t.Errorf("streamed %q finish %q, want %q length", streamed.String(), finish, text)
	}

	// Log probabilities ride along, one per generated token.
	var lp openai.ChatCompletion
	e.send("POST", "/v1/chat/completions", chatBody(map[string]any{"logprobs": true, "top_logprobs": 2})).json(t, &lp)
	if l := lp.Choices[0].Logprobs; l == nil || len(l.Content) != 8 || len(l.Content[0].TopLogprobs) != 2 {
		t.Errorf("logprobs %+v", l)
	}

	// Without include_usage no chunk has usage; stop strings and a temperature are accepted.
	r = e.send("POST", "/v1/chat/completions", chatBody(map[string]any{"stream": true, "stop": []string{"zzz"}, "temperature": 0.5}))
	for _, ev := range parseSSE(t, r.body) {
		if strings.Contains(ev.data, `"usage"`) {
			t.Errorf("usage without include_usage: %s", ev.data)
		}
	}
}

func TestOpenAIChatToolCalls(t *testing.T) {
	e := newCompatEnv(t)
	var tool map[string]any
	_ = json.Unmarshal([]byte(weatherTool), &tool)
	var schema any
	_ = json.Unmarshal([]byte(weatherCallSchema), &schema)
	body := map[string]any{
		"model":           "tools",
		"messages":        []map[string]any{{"role": "user", "content": "Weather in Paris?"}},
		"tools":           []any{tool},
		"temperature":     0,
		"max_tokens":      64,
		"response_format": map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "call", "schema": schema}},
	}
	r := e.send("POST", "/v1/chat/completions", body)
	var one openai.ChatCompletion
	r.json(t, &one)
	if r.status != 200 || len(one.Choices) != 1 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	c := one.Choices[0]
	if len(c.Message.ToolCalls) != 1 || c.FinishReason == nil || *c.FinishReason != "tool_calls" {
		t.Fatalf("no tool call: %s", r.body)
	}
	tc := c.Message.ToolCalls[0]
	if !strings.HasPrefix(tc.ID, "call_") || tc.Type != "function" || tc.Function.Name != "get_weather" ||
		tc.Function.Arguments != `{"city":"Paris"}` {
		t.Errorf("tool call %+v", tc)
	}

	body["stream"] = true
	r = e.send("POST", "/v1/chat/completions", body)
	var calls []openai.ToolCall
	finish := ""
	for _, ev := range parseSSE(t, r.body) {
		if ev.data == "[DONE]" {
			continue
		}
		var ch openai.ChatCompletionChunk
		if err := json.Unmarshal([]byte(ev.data), &ch); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, ch.Choices[0].Delta.ToolCalls...)
		if ch.Choices[0].FinishReason != nil {
			finish = *ch.Choices[0].FinishReason
		}
	}
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || finish != "tool_calls" {
		t.Errorf("streamed calls %+v finish %q\n%s", calls, finish, r.body)
	}

	// A tool call and a tool result in the history are accepted and rendered.
	body["stream"] = false
	delete(body, "response_format")
	body["max_tokens"] = 4
	body["messages"] = []map[string]any{
		{"role": "user", "content": "Weather in Paris?"},
		{"role": "assistant", "content": "", "tool_calls": []map[string]any{{"id": "call_1", "type": "function",
			"function": map[string]any{"name": "get_weather", "arguments": `{"city":"Paris"}`}}}},
		{"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
	}
	if r = e.send("POST", "/v1/chat/completions", body); r.status != 200 {
		t.Errorf("history with tool calls: %d %s", r.status, r.body)
	}
	// A model whose template has no tools refuses them with Ollama's message, in the OpenAI shape.
	body["model"] = "tiny"
	var eb openAIErrorBody
	r = e.send("POST", "/v1/chat/completions", body)
	r.json(t, &eb)
	if r.status != 400 || eb.Error.Message != "registry.ollama.ai/library/tiny:latest does not support tools" || eb.Error.Type != "api_error" {
		t.Errorf("tools on tiny: %d %s", r.status, r.body)
	}
}

func TestOpenAIResponseFormat(t *testing.T) {
	e := newCompatEnv(t)
	schema := map[string]any{"type": "object", "properties": map[string]any{"answer": map[string]any{"type": "string", "enum": []string{"yes", "no"}}}, "required": []string{"answer"}}
	for name, format := range map[string]any{
		"json_schema": map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "a", "schema": schema}},
		"json_object": map[string]any{"type": "json_object"},
	} {
		r := e.send("POST", "/v1/chat/completions", chatBody(map[string]any{"response_format": format, "max_tokens": 48}))
		var one openai.ChatCompletion
		r.json(t, &one)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		content, _ := one.Choices[0].Message.Content.(string)
		var v map[string]any
		if *one.Choices[0].FinishReason == "stop" {
			if err := json.Unmarshal([]byte(content), &v); err != nil {
				t.Errorf("%s: content %q is not JSON: %v", name, content, err)
			}
			if name == "json_schema" && v["answer"] != "yes" && v["answer"] != "no" {
				t.Errorf("%s: %q does not follow the schema", name, content)
			}
		} else if !strings.HasPrefix(strings.TrimSpace(content), "{") {
			t.Errorf("%s: %q does not start a JSON object", name, content)
		}
	}
}

func TestOpenAICompletions(t *testing.T) {
	e := newCompatEnv(t)
	body := map[string]any{"model": "tiny", "prompt": "Once upon", "max_tokens": 6, "seed": 42}
	r := e.send("POST", "/v1/completions", body)
	var one openai.Completion
	r.json(t, &one)
	if r.status != 200 || !strings.HasPrefix(one.Id, "cmpl-") || one.Object != "text_completion" ||
		len(one.Choices) != 1 || *one.Choices[0].FinishReason != "length" || one.Usage.CompletionTokens != 6 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	body["stream"] = true
	body["stream_options"] = map[string]any{"include_usage": true}
	r = e.send("POST", "/v1/completions", body)
	events := parseSSE(t, r.body)
	if r.header.Get("Content-Type") != "text/event-stream" || len(events) < 3 || events[len(events)-1].data != "[DONE]" {
		t.Fatalf("stream %s", r.body)
	}
	var text strings.Builder
	for _, ev := range events[:len(events)-2] {
		var ch openai.CompletionChunk
		_ = json.Unmarshal([]byte(ev.data), &ch)
		// Ollama gives every chunk a zero usage when include_usage is on.
		if ch.Object != "text_completion" || ch.Usage == nil || ch.Usage.TotalTokens != 0 || len(ch.Choices) != 1 {
			t.Fatalf("chunk %s", ev.data)
		}
		text.WriteString(ch.Choices[0].Text)
	}
	var last openai.CompletionChunk
	_ = json.Unmarshal([]byte(events[len(events)-2].data), &last)
	if len(last.Choices) != 0 || last.Usage == nil || last.Usage.CompletionTokens != 6 {
		t.Errorf("usage chunk %s", events[len(events)-2].data)
	}
	if text.String() != one.Choices[0].Text {
		t.Errorf("streamed %q, not %q", text.String(), one.Choices[0].Text)
	}
}

func TestOpenAIEmbeddings(t *testing.T) {
	e := newCompatEnv(t)
	var floats openai.EmbeddingList
	r := e.send("POST", "/v1/embeddings", map[string]any{"model": "bert", "input": []string{"red apple", "blue sky"}})
	r.json(t, &floats)
	if r.status != 200 || floats.Object != "list" || floats.Model != "bert" || len(floats.Data) != 2 ||
		floats.Usage.PromptTokens == 0 || floats.Usage.TotalTokens != floats.Usage.PromptTokens {
		t.Fatalf("%d %s", r.status, r.body)
	}
	vec := func(d openai.Embedding) []float32 {
		var out []float32
		for _, x := range d.Embedding.([]any) {
			out = append(out, float32(x.(float64)))
		}
		return out
	}
	first := vec(floats.Data[0])
	if len(first) != 384 || floats.Data[1].Index != 1 || floats.Data[0].Object != "embedding" {
		t.Fatalf("data %d floats", len(first))
	}

	var b64 openai.EmbeddingList
	e.send("POST", "/v1/embeddings", map[string]any{"model": "bert", "input": "red apple", "encoding_format": "base64"}).json(t, &b64)
	s, _ := b64.Data[0].Embedding.(string)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 384*4 {
		t.Fatalf("base64 %q: %v", s, err)
	}
	for i := range first {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); math.Abs(float64(got-first[i])) > 1e-5 {
			t.Fatalf("base64 float %d = %v, float format %v", i, got, first[i])
		}
	}

	var cut openai.EmbeddingList
	e.send("POST", "/v1/embeddings", map[string]any{"model": "bert", "input": "red apple", "dimensions": 64}).json(t, &cut)
	if v := vec(cut.Data[0]); len(v) != 64 {
		t.Errorf("dimensions 64 gave %d", len(v))
	}
	// An empty string is one input.
	var empty openai.EmbeddingList
	e.send("POST", "/v1/embeddings", map[string]any{"model": "bert", "input": ""}).json(t, &empty)
	if len(empty.Data) != 1 {
		t.Errorf("empty string input gave %d vectors", len(empty.Data))
	}
}

func TestOpenAIModels(t *testing.T) {
	e := newCompatEnv(t)
	var list openai.ListCompletion
	r := e.send("GET", "/v1/models", nil)
	r.json(t, &list)
	ids := map[string]openai.Model{}
	for _, m := range list.Data {
		ids[m.Id] = m
	}
	if r.status != 200 || list.Object != "list" || len(list.Data) != 4 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if m, ok := ids["tiny:latest"]; !ok || m.Object != "model" || m.OwnedBy != "library" || m.Created == 0 {
		t.Errorf("tiny in list: %+v", m)
	}
	var one openai.Model
	r = e.send("GET", "/v1/models/tiny", nil)
	r.json(t, &one)
	if r.status != 200 || one.Id != "tiny" || one.Object != "model" || one.OwnedBy != "library" || one.Created != ids["tiny:latest"].Created {
		t.Errorf("retrieve %d %s", r.status, r.body)
	}
	var eb openAIErrorBody
	r = e.send("GET", "/v1/models/absent", nil)
	r.json(t, &eb)
	if r.status != 404 || eb.Error.Message != "model 'absent' not found" || eb.Error.Type != "api_error" {
		t.Errorf("absent: %d %s", r.status, r.body)
	}
}

func TestOpenAIResponses(t *testing.T) {
	e := newCompatEnv(t)
	body := map[string]any{"model": "tiny", "input": "Hello there", "instructions": "Be brief.",
		"max_output_tokens": 6, "temperature": 0}
	r := e.send("POST", "/v1/responses", body)
	var one openai.ResponsesResponse
	r.json(t, &one)
	if r.status != 200 || !strings.HasPrefix(one.ID, "resp_") || one.Object != "response" || one.Status != "completed" ||
		len(one.Output) != 1 || one.Output[0].Type != "message" || len(one.Output[0].Content) != 1 ||
		one.Output[0].Content[0].Type != "output_text" || one.Usage == nil || one.Usage.OutputTokens != 6 || one.CompletedAt == nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	text := one.Output[0].Content[0].Text

	body["stream"] = true
	r = e.send("POST", "/v1/responses", body)
	events := parseSSE(t, r.body)
	if r.header.Get("Content-Type") != "text/event-stream" || len(events) < 6 {
		t.Fatalf("stream %s", r.body)
	}
	var names []string
	var deltas strings.Builder
	for i, ev := range events {
		var d map[string]any
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil || d["type"] != ev.event || d["sequence_number"] != float64(i) {
			t.Fatalf("event %d %q: %s", i, ev.event, ev.data)
		}
		if ev.event == "response.output_text.delta" {
			deltas.WriteString(d["delta"].(string))
		} else if len(names) == 0 || names[len(names)-1] != ev.event {
			names = append(names, ev.event)
		}
	}
	want := "response.created response.in_progress response.output_item.added response.content_part.added " +
		"response.output_text.done response.content_part.done response.output_item.done response.completed"
	if strings.Join(names, " ") != want || deltas.String() != text {
		t.Errorf("events %v, text %q want %q", names, deltas.String(), text)
	}

	// A zstd body, as the Codex CLI sends.
	plain, _ := json.Marshal(map[string]any{"model": "tiny", "input": "Hi", "max_output_tokens": 2})
	enc, _ := zstd.NewWriter(nil)
	r = e.send("POST", "/v1/responses", enc.EncodeAll(plain, nil), "Content-Encoding", "zstd")
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"object":"response"`)) {
		t.Errorf("zstd body: %d %s", r.status, r.body)
	}
	var eb openAIErrorBody
	r = e.send("POST", "/v1/responses", "not zstd", "Content-Encoding", "zstd")
	r.json(t, &eb)
	if r.status != 400 || eb.Error.Type != "invalid_request_error" {
		t.Errorf("corrupt zstd body: %d %s", r.status, r.body)
	}
}
