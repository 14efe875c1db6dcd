package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/ollama/ollama/api"

	hearthapi "github.com/hearthlink/hearth/api"
)

// importModel creates model name on s from the generated model at path (a GGUF file, or an ONNX folder),
// the path `ollama create` takes: CreateBlob for every file, then Create with the files map.
func (s *server) importModel(ctx context.Context, name, path string) error {
	if err := hearthapi.CreateFromPath(ctx, s.client, name, path); err != nil {
		return fmt.Errorf("%s: %w", s.spec.Name, err)
	}
	return nil
}

// timing is what one streamed completion took, seen from the client.
type timing struct {
	// TTFT is the time from sending the request to the first chunk carrying text (or the final chunk).
	TTFT time.Duration
	// Total is the time from sending the request to the final chunk.
	Total time.Duration
	// Final carries the server's own counts and durations.
	Final api.Metrics
}

// sampling are the options every completion uses, n tokens at most: seeded sampling, the same for
// every server, rather than greedy decoding. The bench's models have random weights, and their greedy
// continuations fall into one token repeated; the reference aborts a completion after 30 repeats of a token
// (llm/server.go Completion), ending its stream without a final chunk, which a model trained on text rarely
// meets. Sampling from the top 40 tokens at temperature 1 keeps both servers generating every token asked.
func sampling(n int) map[string]any {
	return map[string]any{"temperature": 1, "top_k": 40, "seed": 42, "num_predict": n}
}

// generate streams an /api/generate completion and times it.
func (s *server) generate(ctx context.Context, req *api.GenerateRequest) (timing, error) {
	var t timing
	start := time.Now()
	err := s.client.Generate(ctx, req, func(r api.GenerateResponse) error {
		if t.TTFT == 0 && (r.Response != "" || r.Done) {
			t.TTFT = time.Since(start)
		}
		if r.Done {
			t.Total = time.Since(start)
			t.Final = r.Metrics
		}
		return nil
	})
	if err == nil && t.Total == 0 {
		err = fmt.Errorf("%s: stream ended without a final chunk", s.spec.Name)
	}
	return t, err
}

// chat streams an /api/chat completion and times it.
func (s *server) chat(ctx context.Context, req *api.ChatRequest) (timing, error) {
	var t timing
	start := time.Now()
	err := s.client.Chat(ctx, req, func(r api.ChatResponse) error {
		if t.TTFT == 0 && (r.Message.Content != "" || r.Message.Thinking != "" || r.Done) {
			t.TTFT = time.Since(start)
		}
		if r.Done {
			t.Total = time.Since(start)
			t.Final = r.Metrics
		}
		return nil
	})
	if err == nil && t.Total == 0 {
		err = fmt.Errorf("%s: stream ended without a final chunk", s.spec.Name)
	}
	return t, err
}

// embed runs one /api/embed request and returns how long it took and how many vectors came back.
func (s *server) embed(ctx context.Context, model string, inputs []string) (time.Duration, error) {
	start := time.Now()
	resp, err := s.client.Embed(ctx, &api.EmbedRequest{Model: model, Input: inputs})
	if err != nil {
		return 0, err
	}
	if len(resp.Embeddings) != len(inputs) {
		return 0, fmt.Errorf("%s: %d vectors for %d inputs", s.spec.Name, len(resp.Embeddings), len(inputs))
	}
	return time.Since(start), nil
}

// post sends body as JSON to path and times the whole exchange, reading the answer to the end.
func (s *server) post(ctx context.Context, path string, body any) (time.Duration, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	return s.do(ctx, http.MethodPost, path, b)
}

// do sends one request and times it until the body is read.
func (s *server) do(ctx context.Context, method, path string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s %s %s: %d %s", s.spec.Name, method, path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return time.Since(start), nil
}

// unload asks the server to unload model (a request with keep_alive 0, as `ollama stop` sends) and
// waits until /api/ps no longer lists it.
func (s *server) unload(ctx context.Context, model string) error {
	zero := api.Duration{Duration: 0}
	err := s.client.Generate(ctx, &api.GenerateRequest{Model: model, KeepAlive: &zero},
		func(api.GenerateResponse) error { return nil })
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ps, err := s.client.ListRunning(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ps.Models, func(m api.ProcessModelResponse) bool {
			return m.Name == model || m.Model == model || m.Name == model+":latest"
		}) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: %s still loaded 60s after keep_alive 0", s.spec.Name, model)
}
