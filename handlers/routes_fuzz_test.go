package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/handlers"
	"github.com/hearthlink/hearth/registry"
)

// fuzzEngine answers every inference request at once with a well-formed result, so that a fuzzed
// request reaches as far as the HTTP layer lets it and nothing loads.
type fuzzEngine struct{}

func (fuzzEngine) Generate(ctx context.Context, m *registry.Model, req *api.GenerateRequest, fn func(api.GenerateResponse) error) error {
	return fn(api.GenerateResponse{Model: req.Model, Response: "ok", Done: true, DoneReason: "stop"})
}

func (fuzzEngine) Chat(ctx context.Context, m *registry.Model, req *api.ChatRequest, fn func(api.ChatResponse) error) error {
	return fn(api.ChatResponse{Model: req.Model, Message: api.Message{Role: "assistant", Content: "ok"}, Done: true, DoneReason: "stop"})
}

func (fuzzEngine) Embed(ctx context.Context, m *registry.Model, req *api.EmbedRequest) (*api.EmbedResponse, error) {
	n := 1
	if in, ok := req.Input.([]any); ok {
		n = len(in)
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = []float32{1, 0}
	}
	return &api.EmbedResponse{Model: req.Model, Embeddings: out}, nil
}

func (fuzzEngine) Embeddings(ctx context.Context, m *registry.Model, req *api.EmbeddingRequest) (*api.EmbeddingResponse, error) {
	return &api.EmbeddingResponse{Embedding: []float64{1, 0}}, nil
}

func (fuzzEngine) Classify(ctx context.Context, m *registry.Model, req *hapi.ClassifyRequest) (*hapi.ClassifyResponse, error) {
	return &hapi.ClassifyResponse{Model: req.Model}, nil
}

func (fuzzEngine) Rerank(ctx context.Context, m *registry.Model, req *hapi.RerankRequest) (*hapi.RerankResponse, error) {
	return &hapi.RerankResponse{Model: req.Model}, nil
}

// fuzzRoute is one JSON route family and a valid request for it, the seed the fuzzer mutates.
type fuzzRoute struct {
	method, path, seed string
	// transfer routes talk to a registry: with the network refused they answer 502 for a well-formed
	// request, which is the registry's failure, not a 5xx for the request.
	transfer bool
}

var fuzzRoutes = []fuzzRoute{
	{"POST", "/api/generate", `{"model":"m","prompt":"hi","stream":false,"options":{"temperature":0.5,"num_predict":4},"format":"json","keep_alive":"5m"}`, false},
	{"POST", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi","images":["aGk="]}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}],"think":true}`, false},
	{"POST", "/api/embed", `{"model":"e","input":["a","b"],"truncate":true,"dimensions":2}`, false},
	{"POST", "/api/embeddings", `{"model":"e","prompt":"a"}`, false},
	{"POST", "/api/classify", `{"model":"e","input":["a"]}`, false},
	{"POST", "/api/rerank", `{"model":"e","query":"q","documents":["a","b"],"top_n":1}`, false},
	{"POST", "/api/show", `{"model":"m","verbose":true}`, false},
	{"POST", "/api/create", `{"model":"c","from":"m","template":"{{ .Prompt }}","system":"be brief","parameters":{"stop":["x"],"temperature":0.1},"messages":[{"role":"user","content":"a"}],"license":"MIT","stream":false}`, true},
	{"POST", "/api/pull", `{"model":"127.0.0.1:1/x/y:z","insecure":true,"stream":false}`, true},
	{"POST", "/api/push", `{"model":"m","insecure":true}`, true},
	{"POST", "/api/copy", `{"source":"m","destination":"m2"}`, false},
	{"DELETE", "/api/delete", `{"model":"m2"}`, false},
	{"POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,aGk="}}]}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":4,"response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}`, false},
	{"POST", "/v1/completions", `{"model":"m","prompt":"hi","max_tokens":4,"stop":["x"],"seed":1}`, false},
	{"POST", "/v1/embeddings", `{"model":"e","input":"a","encoding_format":"base64"}`, false},
	{"POST", "/v1/responses", `{"model":"m","input":[{"role":"user","content":"hi"}],"stream":false}`, false},
	{"POST", "/v1/messages", `{"model":"m","max_tokens":16,"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"tool_result","tool_use_id":"t","content":"r"}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"stream":true,"thinking":{"type":"enabled","budget_tokens":8}}`, false},
	{"POST", "/v1/rerank", `{"model":"e","query":"q","documents":["a"]}`, false},
}

// refusedDial stands for the network in fuzzing: every connection is refused, before any name is
// resolved, so a fuzzed pull or create never leaves the machine.
func refusedDial(dials *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
}

// newFuzzHandler is the real handler over fuzzEngine and a store holding "m" (a completion model
// with a chat template) and "e" (an embedding model), both created through the handler's own routes.
func newFuzzHandler(f *testing.F) http.Handler {
	f.Helper()
	store, err := registry.Open(f.TempDir(), registry.Options{})
	if err != nil {
		f.Fatal(err)
	}
	var dials atomic.Int64
	h := handlers.New(handlers.Options{
		Store: store, Engine: fuzzEngine{}, MaxRequestBytes: 1 << 20,
		RegistryClient: &http.Client{Transport: &http.Transport{DialContext: refusedDial(&dials)}},
	})
	for name, kv := range map[string]ggml.KV{"m": llamaKV(nil), "e": llamaKV(ggml.KV{"llama.pooling_type": uint32(1)})} {
		gguf := tinyGGUF(f, kv)
		d := digestOf(gguf)
		if code, body := serve(h, "POST", "/api/blobs/"+d, gguf); code != http.StatusCreated {
			f.Fatalf("blob upload: %d %s", code, body)
		}
		req := fmt.Sprintf(`{"model":%q,"files":{"%s.gguf":%q},"stream":false}`, name, name, d)
		if code, body := serve(h, "POST", "/api/create", []byte(req)); code != http.StatusOK {
			f.Fatalf("create %s: %d %s", name, code, body)
		}
	}
	return h
}

// serve sends one request to h and returns the status and body.
func serve(h http.Handler, method, path string, body []byte) (int, string) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// FuzzRoutes posts fuzzed bodies to every JSON route family of the real handler (the engine a fake,
// the registry unreachable): whatever the body, the handler answers, without panicking, and a 5xx is
// never the answer, except the 502/504 of a transfer route whose registry cannot be reached.
//
//	go test -run '^$' -fuzz FuzzRoutes -fuzztime 60s ./handlers
func FuzzRoutes(f *testing.F) {
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), r.seed)
		f.Add(uint8(i), "")
		f.Add(uint8(i), "{")
		f.Add(uint8(i), `{"model":null,"messages":[null],"options":{"num_ctx":-1}}`)
		f.Add(uint8(i), `{"model":"m","stream":"yes","input":[[1,2],{}],"prompt":7}`)
		f.Add(uint8(i), `[{"model":"m"}]`)
		f.Add(uint8(i), `{"model":"../../etc/passwd","name":"a/b/c/d/e"}`)
	}
	h := newFuzzHandler(f)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		code, answer := serve(h, r.method, r.path, []byte(body))
		gateway := r.transfer && (code == http.StatusBadGateway || code == http.StatusGatewayTimeout)
		if code >= 500 && !gateway {
			t.Fatalf("%s %s %q answered %d: %s", r.method, r.path, body, code, answer)
		}
		if code == 0 || (code >= 400 && !strings.Contains(answer, "error")) {
			t.Fatalf("%s %s %q answered %d without an error: %q", r.method, r.path, body, code, answer)
		}
	})
}

// fuzzValueRoutes are request templates whose S, N and R stand for a fuzzed string, number and JSON
// value, so that the fuzzer explores the values of well-formed requests (options, formats, schemas,
// messages, names) rather than their syntax.
var fuzzValueRoutes = []fuzzRoute{
	{"POST", "/api/generate", `{"model":"m","prompt":S,"system":S,"suffix":S,"raw":R,"format":R,"images":[S],"options":{"num_ctx":N,"temperature":N,"num_predict":N,"top_k":N,"stop":[S]},"keep_alive":R,"think":R,"stream":false}`, false},
	{"POST", "/api/chat", `{"model":"m","messages":[{"role":S,"content":S,"images":[S],"tool_calls":R,"thinking":S}],"tools":R,"format":R,"options":R,"keep_alive":N,"think":R,"logprobs":R,"top_logprobs":N}`, false},
	{"POST", "/api/embed", `{"model":"e","input":R,"truncate":R,"dimensions":N,"options":R,"keep_alive":R}`, false},
	{"POST", "/api/embeddings", `{"model":"e","prompt":S,"options":R}`, false},
	{"POST", "/api/classify", `{"model":"e","input":R,"top_k":N}`, false},
	{"POST", "/api/rerank", `{"model":"e","query":S,"documents":R,"top_n":N,"return_documents":R}`, false},
	{"POST", "/api/show", `{"model":S,"verbose":R,"options":R}`, false},
	{"POST", "/api/create", `{"model":"c","from":"m","template":S,"system":S,"parameters":R,"messages":R,"license":R,"quantize":S,"adapters":R,"info":R,"renderer":S,"parser":S,"requires":S,"stream":false}`, true},
	{"POST", "/api/pull", `{"model":S,"insecure":true,"stream":false}`, true},
	{"POST", "/api/copy", `{"source":"m","destination":S}`, false},
	{"DELETE", "/api/delete", `{"model":S}`, false},
	{"POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":S,"content":R}],"max_tokens":N,"temperature":N,"response_format":R,"tools":R,"tool_choice":R,"stop":R,"stream":R,"reasoning_effort":S,"logprobs":R,"top_logprobs":N}`, false},
	{"POST", "/v1/completions", `{"model":"m","prompt":R,"max_tokens":N,"stop":R,"suffix":S,"stream":R}`, false},
	{"POST", "/v1/embeddings", `{"model":"e","input":R,"dimensions":N,"encoding_format":S}`, false},
	{"POST", "/v1/responses", `{"model":"m","input":R,"instructions":S,"max_output_tokens":N,"tools":R,"text":R,"reasoning":R}`, false},
	{"POST", "/v1/messages", `{"model":"m","max_tokens":N,"system":R,"messages":[{"role":S,"content":R}],"tools":R,"tool_choice":R,"thinking":R,"stop_sequences":R,"stream":false}`, false},
}

// FuzzRouteValues fills the templates of fuzzValueRoutes with fuzzed values and posts them to the real
// handler, with FuzzRoutes' assertions. A name that would delete or replace the stored "m" or "e" is
// skipped, so that every input still meets both models.
//
//	go test -run '^$' -fuzz FuzzRouteValues -fuzztime 60s ./handlers
func FuzzRouteValues(f *testing.F) {
	for i := range fuzzValueRoutes {
		f.Add(uint8(i), "hi", 4.0, `null`)
		f.Add(uint8(i), "", -1.0, `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`)
		f.Add(uint8(i), "{{ .Prompt }}", 1e300, `[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"data:,"}}]`)
		f.Add(uint8(i), "user", 0.5, `[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`)
		f.Add(uint8(i), "127.0.0.1:1/a/b", 0.0, `"5m"`)
		f.Add(uint8(i), "q4_0", 2.0, `{"temperature":"hot","num_ctx":-5,"stop":7}`)
		f.Add(uint8(i), "\x00\xff", 1.5, `[["a"],[1,2],{"k":1}]`)
	}
	h := newFuzzHandler(f)
	f.Fuzz(func(t *testing.T, route uint8, s string, n float64, raw string) {
		r := fuzzValueRoutes[int(route)%len(fuzzValueRoutes)]
		if (r.path == "/api/delete" || r.path == "/api/copy") && storedModel(s) {
			return
		}
		str, _ := json.Marshal(s)
		num, err := json.Marshal(n)
		if err != nil { // NaN and infinities are not JSON
			num = []byte("0")
		}
		if !json.Valid([]byte(raw)) {
			raw = "null"
		}
		body := strings.NewReplacer(":S", ":"+string(str), "[S]", "["+string(str)+"]",
			":N", ":"+string(num), ":R", ":"+raw).Replace(r.seed)
		code, answer := serve(h, r.method, r.path, []byte(body))
		gateway := r.transfer && (code == http.StatusBadGateway || code == http.StatusGatewayTimeout)
		if code >= 500 && !gateway {
			t.Fatalf("%s %s %s answered %d: %s", r.method, r.path, body, code, answer)
		}
	})
}

// storedModel reports whether name names "m" or "e", the models every fuzzed request expects.
func storedModel(name string) bool {
	n, err := registry.ParseName(name)
	if err != nil {
		return false
	}
	short := strings.ToLower(n.DisplayShortest())
	return short == "m:latest" || short == "e:latest"
}
