package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/registry"
)

// The BenchmarkRequestPath benchmarks measure hearth's server overhead outside inference: the whole HTTP
// request path over loopback (client encode, middleware, route, decode, model resolve, scheduler lease,
// prompt templating, chunk shaping, JSON encode, client decode) with an engine that answers at once. The
// engine is the one fake in hearth's benchmarks, and on purpose: a real model would bury the microseconds
// being measured under milliseconds of inference. The fake is registered as an ordinary backend with the
// real Scheduler, so loading, leasing and releasing are the production code. The seed's budget is 20 µs
// per request; `make bench` reports these beside the comparison with Ollama (BENCHMARKS.md).

// instantBackend is an engine.Backend whose models load at once and answer at once.
type instantBackend struct{}

func (instantBackend) Name() string                    { return "instant" }
func (instantBackend) Supports(m *registry.Model) bool { return true }
func (instantBackend) Estimate(*registry.Model, engine.LoadConfig) (engine.Estimate, error) {
	return engine.Estimate{Weights: 1 << 20}, nil
}
func (instantBackend) Load(_ context.Context, _ *registry.Model, cfg engine.LoadConfig) (engine.Runner, error) {
	return &instantRunner{numCtx: cfg.NumCtx}, nil
}

// instantRunner generates num_predict one-word chunks and embeds every input as a fixed 384-wide vector,
// without computing anything.
type instantRunner struct{ numCtx int }

func (r *instantRunner) ContextLength() int { return r.numCtx }
func (r *instantRunner) Close() error       { return nil }

// Tokenize counts words, which is enough for the scheduler's prompt-length checks.
func (r *instantRunner) Tokenize(text string) ([]int, error) {
	return make([]int, len(strings.Fields(text))+1), nil
}

func (r *instantRunner) Detokenize(tokens []int) (string, error) {
	return strings.Repeat("x ", len(tokens)), nil
}

func (r *instantRunner) Generate(ctx context.Context, req engine.GenerateRequest) (<-chan engine.Chunk, error) {
	n := max(req.Options.NumPredict, 1)
	ch := make(chan engine.Chunk, 16)
	go func() {
		defer close(ch)
		for i := range n {
			c := engine.Chunk{Text: "word "}
			if i == n-1 {
				c.Done, c.DoneReason = true, "length"
				c.PromptEvalCount, c.EvalCount = 8, n
				c.PromptEvalDuration, c.EvalDuration = 1, 1
			}
			select {
			case ch <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (r *instantRunner) Embed(_ context.Context, inputs []string, _ bool) ([][]float32, int, error) {
	out := make([][]float32, len(inputs))
	for i := range out {
		v := make([]float32, 384)
		v[i%384] = 1
		out[i] = v
	}
	return out, len(inputs) * 8, nil
}

// newRequestPathEnv is a hearth server whose only backend is instantBackend, with two models created
// through /api/blobs and /api/create from real (tiny) GGUFs, as clients create models: "m", a completion
// model whose chat template becomes a template layer, as in production, and "e", an embedding model (a
// pooling_type in its header).
func newRequestPathEnv(b *testing.B) *inferEnv {
	b.Helper()
	e := newInferEnv(b, envConfig{}, instantBackend{})
	ctx := context.Background()
	for name, kv := range map[string]ggml.KV{"m": llamaKV(nil), "e": llamaKV(ggml.KV{"llama.pooling_type": uint32(1)})} {
		gguf := tinyGGUF(b, kv)
		d := digestOf(gguf)
		if err := e.client.CreateBlob(ctx, d, bytes.NewReader(gguf)); err != nil {
			b.Fatal(err)
		}
		if err := e.client.Create(ctx, &api.CreateRequest{Model: name, Files: map[string]string{name + ".gguf": d}},
			func(api.ProgressResponse) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// BenchmarkRequestPathFloor is GET /api/version through the same middleware and client: the loopback HTTP
// round trip with no work behind it, the floor under every other request-path figure.
func BenchmarkRequestPathFloor(b *testing.B) {
	e := newRequestPathEnv(b)
	client := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(e.srv.URL + "/api/version")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkRequestPathGenerate is one non-streaming /api/generate of one token with the chat template
// applied: the server overhead of the simplest completion.
func BenchmarkRequestPathGenerate(b *testing.B) {
	e := newRequestPathEnv(b)
	benchPost(b, e, "/api/generate", `{"model":"m","prompt":"Why is the sky blue?","stream":false,"options":{"num_predict":1}}`, 1)
}

// BenchmarkRequestPathChat is one non-streaming /api/chat of one token.
func BenchmarkRequestPathChat(b *testing.B) {
	e := newRequestPathEnv(b)
	benchPost(b, e, "/api/chat", `{"model":"m","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":false,"options":{"num_predict":1}}`, 1)
}

// BenchmarkRequestPathEmbed is one /api/embed of one input (vector normalisation and encoding included).
func BenchmarkRequestPathEmbed(b *testing.B) {
	e := newRequestPathEnv(b)
	benchPost(b, e, "/api/embed", `{"model":"e","input":"Why is the sky blue?"}`, 1)
}

// BenchmarkRequestPathStream256 streams a /api/generate of 256 tokens, one NDJSON line and one flush per
// token, and reports ns/token: the per-token streaming overhead (the request's own overhead, spread over
// 256 tokens, adds well under 1% to it).
func BenchmarkRequestPathStream256(b *testing.B) {
	e := newRequestPathEnv(b)
	benchPost(b, e, "/api/generate", `{"model":"m","prompt":"Why is the sky blue?","options":{"num_predict":256}}`, 256)
}

// BenchmarkRequestPathGenerateInProcess is BenchmarkRequestPathGenerate without the network: the request
// goes straight into the server's handler (middleware, routing, decode, resolve, schedule, template,
// encode) and the answer into a recorder. This is the server's own overhead, what the seed's 20 µs budget
// is about; the loopback variants add the kernel's TCP round trip and the client's own work.
func BenchmarkRequestPathGenerateInProcess(b *testing.B) {
	benchInProcess(b, "/api/generate", `{"model":"m","prompt":"Why is the sky blue?","stream":false,"options":{"num_predict":1}}`, 1)
}

// BenchmarkRequestPathChatInProcess is BenchmarkRequestPathChat without the network.
func BenchmarkRequestPathChatInProcess(b *testing.B) {
	benchInProcess(b, "/api/chat", `{"model":"m","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":false,"options":{"num_predict":1}}`, 1)
}

// BenchmarkRequestPathEmbedInProcess is BenchmarkRequestPathEmbed without the network.
func BenchmarkRequestPathEmbedInProcess(b *testing.B) {
	benchInProcess(b, "/api/embed", `{"model":"e","input":"Why is the sky blue?"}`, 1)
}

// BenchmarkRequestPathStream256InProcess is BenchmarkRequestPathStream256 without the network: ns/token
// is the server's own cost of shaping, encoding and flushing one streamed token.
func BenchmarkRequestPathStream256InProcess(b *testing.B) {
	benchInProcess(b, "/api/generate", `{"model":"m","prompt":"Why is the sky blue?","options":{"num_predict":256}}`, 256)
}

// benchInProcess serves body to path through the server's handler in this goroutine's process, with no
// connection, once per iteration.
func benchInProcess(b *testing.B, path, body string, tokens int) {
	b.Helper()
	e := newRequestPathEnv(b)
	h := e.srv.Config.Handler
	serve := func() {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	serve() // loads the model
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve()
	}
	if tokens > 1 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tokens), "ns/token")
	}
}

// benchPost posts body to path once per iteration, reading the answer to the end, and reports ns/token
// when each answer carries tokens tokens.
func benchPost(b *testing.B, e *inferEnv, path, body string, tokens int) {
	b.Helper()
	client := &http.Client{}
	post := func() {
		resp, err := client.Post(e.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("POST %s: %d %s", path, resp.StatusCode, msg)
		}
	}
	post() // loads the model
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		post()
	}
	if tokens > 1 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tokens), "ns/token")
	}
}
