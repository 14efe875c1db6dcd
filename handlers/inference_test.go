package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

func TestGenerateStreamingFinalChunk(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	var chunks []api.GenerateResponse
	err := e.client.Generate(t.Context(), &api.GenerateRequest{Model: "tiny", Prompt: "Hello", Options: greedyOpts(10)},
		func(r api.GenerateResponse) error { chunks = append(chunks, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 2 {
		t.Fatalf("expected several chunks, got %d", len(chunks))
	}
	last := chunks[len(chunks)-1]
	if !last.Done || (last.DoneReason != "length" && last.DoneReason != "stop") || len(last.Context) == 0 ||
		last.TotalDuration <= 0 || last.LoadDuration <= 0 || last.PromptEvalCount == 0 ||
		last.PromptEvalDuration <= 0 || last.EvalCount == 0 || last.EvalDuration <= 0 || last.Model != "tiny" {
		t.Fatalf("final chunk lacks fields: %+v", last)
	}
	for _, c := range chunks[:len(chunks)-1] {
		if c.Done || c.CreatedAt.IsZero() {
			t.Fatalf("bad intermediate chunk %+v", c)
		}
	}

	// Non-streaming returns the same text in one object. Raw prompts, so that the text depends on the prompt
	// (tiny-llama's templated greedy output is mostly newlines whatever the prompt) and a request answered
	// with another's text would show.
	texts := map[string]string{}
	for _, p := range []string{"Hello", "Hello there"} {
		var streamed strings.Builder
		var last api.GenerateResponse
		err = e.client.Generate(t.Context(), &api.GenerateRequest{Model: "tiny", Prompt: p, Raw: true, Options: greedyOpts(10)},
			func(r api.GenerateResponse) error { streamed.WriteString(r.Response); last = r; return nil })
		if err != nil {
			t.Fatal(err)
		}
		var one []api.GenerateResponse
		err = e.client.Generate(t.Context(), &api.GenerateRequest{Model: "tiny", Prompt: p, Raw: true, Options: greedyOpts(10), Stream: ptr(false)},
			func(r api.GenerateResponse) error { one = append(one, r); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if len(one) != 1 || one[0].Response != streamed.String() || !one[0].Done || one[0].EvalCount != last.EvalCount {
			t.Fatalf("%q non-streaming %+v, want text %q", p, one, streamed.String())
		}
		texts[p] = streamed.String()
	}
	assertDistinct(t, texts)
}

func TestChatStreamingAndNot(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	req := &api.ChatRequest{Model: "tiny", Messages: []api.Message{{Role: "user", Content: "Hi there"}}, Options: greedyOpts(12)}
	var text strings.Builder
	var last api.ChatResponse
	if err := e.client.Chat(t.Context(), req, func(r api.ChatResponse) error {
		text.WriteString(r.Message.Content)
		if r.Message.Role != "assistant" {
			t.Errorf("role %q", r.Message.Role)
		}
		last = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !last.Done || last.DoneReason == "" || last.TotalDuration <= 0 || last.LoadDuration <= 0 || last.PromptEvalCount == 0 ||
		last.PromptEvalDuration <= 0 || last.EvalCount == 0 || last.EvalDuration <= 0 {
		t.Fatalf("final chunk lacks fields: %+v", last)
	}
	req.Stream = ptr(false)
	var one []api.ChatResponse
	if err := e.client.Chat(t.Context(), req, func(r api.ChatResponse) error { one = append(one, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].Message.Content != text.String() {
		t.Fatalf("non-streaming %+v, want %q", one, text.String())
	}
	// The same through a template that passes the messages through as they are: ChatML makes tiny-llama's
	// greedy output mostly newlines whatever the message, this makes it depend on the message, so a
	// mixed-up answer would show.
	e.importPlainChat("plain")
	texts := map[string]string{}
	for _, msg := range []string{"Hello there", "Once upon a time"} {
		req := &api.ChatRequest{Model: "plain", Messages: []api.Message{{Role: "user", Content: msg}}, Options: greedyOpts(12)}
		var streamed strings.Builder
		if err := e.client.Chat(t.Context(), req, func(r api.ChatResponse) error { streamed.WriteString(r.Message.Content); return nil }); err != nil {
			t.Fatal(err)
		}
		req.Stream = ptr(false)
		var one []api.ChatResponse
		if err := e.client.Chat(t.Context(), req, func(r api.ChatResponse) error { one = append(one, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(one) != 1 || one[0].Message.Content != streamed.String() {
			t.Fatalf("%q non-streaming %+v, want %q", msg, one, streamed.String())
		}
		texts[msg] = streamed.String()
	}
	assertDistinct(t, texts)
	// The rendered prompt uses the GGUF's ChatML template.
	req.DebugRenderOnly = true
	if err := e.client.Chat(t.Context(), req, func(r api.ChatResponse) error {
		if r.DebugInfo == nil || !strings.Contains(r.DebugInfo.RenderedTemplate, "<|im_start|>user\nHi there<|im_end|>") {
			t.Errorf("rendered %+v", r.DebugInfo)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestStopAndNumPredict(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	full, last, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "Count", Raw: true, Options: greedyOpts(30)})
	if err != nil {
		t.Fatal(err)
	}
	if last.DoneReason == "length" && last.EvalCount != 30 {
		t.Errorf("num_predict 30 gave %d tokens", last.EvalCount)
	}
	if len(full) < 10 {
		t.Skipf("too little output to test stop strings: %q", full)
	}
	stop := full[len(full)/2 : len(full)/2+3]
	opts := greedyOpts(30)
	opts["stop"] = []string{stop}
	got, last, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "Count", Raw: true, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if want := full[:strings.Index(full, stop)]; got != want || last.DoneReason != "stop" {
		t.Fatalf("with stop %q: %q (%s), want %q", stop, got, last.DoneReason, want)
	}
}

func TestSeedReproducibleOverHTTP(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	opts := map[string]any{"temperature": 1.0, "seed": 7, "num_predict": 20}
	a, _, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "Say something", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "Say something", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("same seed, different text:\n%q\n%q", a, b)
	}
}

func TestJSONSchemaFormat(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	schema := `{"type":"object","properties":{"city":{"type":"string","maxLength":10},"population":{"type":"integer","minimum":0}},"required":["city","population"]}`
	text, last, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "A city as JSON", Format: json.RawMessage(schema), Options: greedyOpts(200)})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("output %q (%s) is not JSON: %v", text, last.DoneReason, err)
	}
	city, ok1 := v["city"].(string)
	pop, ok2 := v["population"].(float64)
	if !ok1 || !ok2 || len(city) > 10 || pop < 0 || pop != float64(int64(pop)) {
		t.Fatalf("output %q does not validate against the schema", text)
	}
}

func TestKeepAliveLoadUnload(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	_, last, err := e.generate(&api.GenerateRequest{Model: "tiny"})
	if err != nil || last.DoneReason != "load" {
		t.Fatalf("load: %+v %v", last, err)
	}
	resp, err := e.client.ListRunning(t.Context())
	if err != nil || len(resp.Models) != 1 {
		t.Fatalf("ps after load: %+v %v", resp, err)
	}
	m := resp.Models[0]
	if m.Name != "tiny:latest" || m.Model != "tiny:latest" || m.Size <= 0 || m.Digest == "" || m.ContextLength != 512 ||
		m.Details.Format != "gguf" || time.Until(m.ExpiresAt) < 4*time.Minute {
		t.Errorf("ps entry %+v", m)
	}
	_, last, err = e.generate(&api.GenerateRequest{Model: "tiny", KeepAlive: &api.Duration{Duration: 0}})
	if err != nil || last.DoneReason != "unload" {
		t.Fatalf("unload: %+v %v", last, err)
	}
	if names := e.ps(); len(names) != 0 {
		t.Fatalf("still loaded after unload: %v", names)
	}
	// keep_alive 0 on a real request unloads when it ends; negative keeps forever.
	if _, _, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "x", KeepAlive: &api.Duration{Duration: 0}, Options: greedyOpts(2)}); err != nil {
		t.Fatal(err)
	}
	if names := e.ps(); len(names) != 0 {
		t.Fatalf("keep_alive 0 left %v loaded", names)
	}
	if err := e.client.Chat(t.Context(), &api.ChatRequest{Model: "tiny", KeepAlive: &api.Duration{Duration: -1}}, func(api.ChatResponse) error { return nil }); err != nil {
		t.Fatal(err)
	}
	resp, _ = e.client.ListRunning(t.Context())
	if len(resp.Models) != 1 || time.Until(resp.Models[0].ExpiresAt) < 100*365*24*time.Hour {
		t.Fatalf("keep_alive -1: %+v", resp.Models)
	}
}

// Ollama answers a load or unload (empty prompt or messages) with c.JSON: one JSON object, Content-Type
// application/json, even when the request streams (the default).
func TestLoadUnloadReplyIsOneJSONObject(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	for _, tc := range []struct{ path, body, reason string }{
		{"/api/generate", `{"model":"tiny"}`, "load"},
		{"/api/chat", `{"model":"tiny","messages":[]}`, "load"},
		{"/api/chat", `{"model":"tiny","keep_alive":0}`, "unload"},
		{"/api/generate", `{"model":"tiny","keep_alive":0,"stream":true}`, "unload"},
	} {
		resp, err := http.Post(e.srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: status %d, Content-Type %q, want 200 application/json", tc.path, tc.body, resp.StatusCode, ct)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil || v["done_reason"] != tc.reason || v["done"] != true {
			t.Errorf("%s %s: body %s (%v), want one object with done_reason %q", tc.path, tc.body, b, err, tc.reason)
		}
	}
}

func TestEvictionByRules(t *testing.T) {
	e := newInferEnv(t, envConfig{MaxLoadedModels: 2}, nil)
	e.importVariant("a", 0)
	e.importVariant("b", 32)
	e.importVariant("c", 64)
	load := func(name string, keep time.Duration) {
		t.Helper()
		if _, _, err := e.generate(&api.GenerateRequest{Model: name, KeepAlive: &api.Duration{Duration: keep}}); err != nil {
			t.Fatal(err)
		}
	}
	load("a", 10*time.Minute)
	load("b", time.Minute)
	if names := e.ps(); len(names) != 2 {
		t.Fatalf("two models should be loaded: %v", names)
	}
	load("c", 10*time.Minute) // evicts b: the shortest keep-alive
	names := e.ps()
	slices.Sort(names)
	if !slices.Equal(names, []string{"a:latest", "c:latest"}) {
		t.Fatalf("after loading c: %v, want a and c", names)
	}
}

// Concurrent clients each get the text a lone request gets. Raw prompts whose greedy continuations all
// differ, so an answer delivered to the wrong client would not match.
func TestConcurrentClientsMatchSequential(t *testing.T) {
	e := newInferEnv(t, envConfig{NumParallel: 4}, nil)
	e.importTiny("tiny", "tiny-llama")
	prompts := []string{"One", "Two words", "Three little words", "Four", "Five five", "Six", "Seven seas", "Eight"}
	want := make([]string, len(prompts))
	sequential := map[string]string{}
	for i, p := range prompts {
		text, _, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: p, Raw: true, Options: greedyOpts(16)})
		if err != nil {
			t.Fatal(err)
		}
		want[i], sequential[p] = text, text
	}
	assertDistinct(t, sequential)
	got := make([]string, len(prompts))
	errs := make([]error, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			var last api.GenerateResponse
			got[i], last, errs[i] = e.generate(&api.GenerateRequest{Model: "tiny", Prompt: p, Raw: true, Options: greedyOpts(16)})
			if errs[i] == nil && !last.Done {
				t.Errorf("client %d: stream did not finish", i)
			}
		})
	}
	wg.Wait()
	for i := range prompts {
		if errs[i] != nil || got[i] != want[i] {
			t.Errorf("client %d: %q (%v), sequential %q", i, got[i], errs[i], want[i])
		}
	}
}

func TestDisconnectFreesSlot(t *testing.T) {
	e := newInferEnv(t, envConfig{NumParallel: 1}, nil)
	e.importTiny("tiny", "tiny-llama")
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan struct{}, 1)
	go e.client.Generate(ctx, &api.GenerateRequest{Model: "tiny", Prompt: "Forever", Options: map[string]any{"num_predict": -1}},
		func(api.GenerateResponse) error {
			select {
			case got <- struct{}{}:
			default:
			}
			return nil
		})
	<-got
	cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "Next", Options: greedyOpts(3)})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the only slot was not freed after the client disconnected")
	}
}

// gatedBackend holds every load until the gate opens.
type gatedBackend struct {
	engine.Backend
	gate chan struct{}
}

func (g *gatedBackend) Load(ctx context.Context, m *registry.Model, cfg engine.LoadConfig) (engine.Runner, error) {
	<-g.gate
	return g.Backend.Load(ctx, m, cfg)
}

func TestQueueFull503(t *testing.T) {
	gate := &gatedBackend{Backend: llama.NewBackend(""), gate: make(chan struct{})}
	e := newInferEnv(t, envConfig{MaxQueue: 1}, gate)
	e.importVariant("a", 0)
	e.importVariant("b", 32)
	first := make(chan error, 1)
	go func() {
		_, _, err := e.generate(&api.GenerateRequest{Model: "a"})
		first <- err
	}()
	// Wait until a's load is under way (a loading model is listed), then ask for another model.
	for deadline := time.Now().Add(30 * time.Second); len(e.ps()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			close(gate.gate)
			t.Fatal("first load never started")
		}
	}
	_, _, err := e.generate(&api.GenerateRequest{Model: "b"})
	close(gate.gate)
	if statusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "server busy, please try again.  maximum pending requests exceeded") {
		t.Fatalf("second request: %v, want 503 server busy", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the queued request failed: %v", err)
	}
}

// TestQueueBoundsRequestsForALoadedModel is OLLAMA_NUM_PARALLEL=1 OLLAMA_MAX_QUEUE=2 with 8 simultaneous
// generate requests: one decodes, two wait for its sequence, and the other five are answered 503 at once,
// with Ollama's message and a Retry-After; the three admitted requests complete. The load is held until
// the five have been answered, so how many are admitted does not depend on timing.
func TestQueueBoundsRequestsForALoadedModel(t *testing.T) {
	gate := &gatedBackend{Backend: llama.NewBackend(""), gate: make(chan struct{})}
	e := newInferEnv(t, envConfig{NumParallel: 1, MaxQueue: 2}, gate)
	e.importTiny("tiny", "tiny-llama")
	type answer struct {
		status     int
		retryAfter string
		body       string
	}
	answers := make(chan answer, 8)
	send := func() {
		resp, err := http.Post(e.srv.URL+"/api/generate", "application/json",
			strings.NewReader(`{"model":"tiny","prompt":"Hello","stream":false,"options":{"num_predict":4}}`))
		if err != nil {
			answers <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers <- answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
	}
	// The first request starts the load; the other seven come while it is under way.
	go send()
	for deadline := time.Now().Add(30 * time.Second); len(e.ps()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			close(gate.gate)
			t.Fatal("the load never started")
		}
	}
	for range 7 {
		go send()
	}
	var got []answer
	for len(got) < 5 {
		select {
		case a := <-answers:
			got = append(got, a)
		case <-time.After(60 * time.Second):
			close(gate.gate)
			t.Fatalf("only %d answers before the load finished: %+v", len(got), got)
		}
	}
	close(gate.gate)
	for len(got) < 8 {
		got = append(got, <-answers)
	}
	var ok, busy int
	for _, a := range got {
		switch {
		case a.status == http.StatusOK && strings.Contains(a.body, `"done":true`):
			ok++
		case a.status == http.StatusServiceUnavailable && a.retryAfter == "1" &&
			strings.Contains(a.body, "server busy, please try again.  maximum pending requests exceeded"):
			busy++
		default:
			t.Errorf("unexpected answer %+v", a)
		}
	}
	if ok != 3 || busy != 5 {
		t.Errorf("%d answered, %d refused; want 3 and 5", ok, busy)
	}
}

func TestBadInput(t *testing.T) {
	e := newInferEnv(t, envConfig{NumCtx: 64}, nil)
	e.importTiny("tiny", "tiny-llama")
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	os.WriteFile(bad, []byte("GGXX this is not a model at all, just some bytes to fill a header"), 0o644)
	e.importGGUF("broken", bad, nil)
	path := filepath.Join(t.TempDir(), "trunc.gguf")
	good, _ := os.ReadFile(inferModelPath(t))
	os.WriteFile(path, good[:len(good)/3], 0o644)
	e.importGGUF("truncated", path, nil)

	cases := []struct {
		name   string
		req    api.GenerateRequest
		status int
		msg    string
	}{
		{"unknown model", api.GenerateRequest{Model: "nope", Prompt: "x"}, 404, "model 'nope' not found"},
		{"wrong option type", api.GenerateRequest{Model: "tiny", Prompt: "x", Options: map[string]any{"top_k": "many"}}, 400, `option "top_k" must be of type integer`},
		{"negative num_ctx", api.GenerateRequest{Model: "tiny", Prompt: "x", Options: map[string]any{"num_ctx": -5}}, 400, "num_ctx"},
		{"bad format", api.GenerateRequest{Model: "tiny", Prompt: "x", Format: json.RawMessage(`"yaml"`)}, 400, "invalid format"},
		{"think on a plain model", api.GenerateRequest{Model: "tiny", Prompt: "x", Think: &api.ThinkValue{Value: true}}, 400, "does not support thinking"},
		{"top_logprobs", api.GenerateRequest{Model: "tiny", Prompt: "x", TopLogprobs: 21}, 400, "top_logprobs must be between 0 and 20"},
		{"too long", api.GenerateRequest{Model: "tiny", Prompt: strings.Repeat("long words ", 100), Raw: true, Truncate: ptr(false)}, 400, "the input length exceeds the context length"},
		{"wrong magic", api.GenerateRequest{Model: "broken", Prompt: "x"}, 500, "bad magic"},
		{"truncated file", api.GenerateRequest{Model: "truncated", Prompt: "x"}, 500, "invalid GGUF file"},
	}
	for _, c := range cases {
		_, _, err := e.generate(&c.req)
		if statusOf(err) != c.status || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %d %q", c.name, err, c.status, c.msg)
		}
	}
	// Unknown options are ignored, and the server still serves after all of the above.
	if _, last, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "x", Options: map[string]any{"mirostat": 2, "num_predict": 2}}); err != nil || !last.Done {
		t.Fatalf("unknown option: %v", err)
	}
	// A long prompt with truncation on is served.
	if _, last, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: strings.Repeat("long words ", 100), Raw: true, Options: greedyOpts(2)}); err != nil || !last.Done {
		t.Fatalf("truncated prompt: %v", err)
	}
}

// inferModelPath is the generated tiny-llama's file.
func inferModelPath(t *testing.T) string {
	t.Helper()
	p, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReloadOnLoadOption(t *testing.T) {
	e := newInferEnv(t, envConfig{}, nil)
	e.importTiny("tiny", "tiny-llama")
	for _, n := range []int{512, 256} {
		if _, _, err := e.generate(&api.GenerateRequest{Model: "tiny", Prompt: "x", Options: map[string]any{"num_ctx": n, "num_predict": 1}}); err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.ListRunning(t.Context())
		if err != nil || len(resp.Models) != 1 || resp.Models[0].ContextLength != n {
			t.Fatalf("num_ctx %d: ps %+v %v", n, resp, err)
		}
	}
}
