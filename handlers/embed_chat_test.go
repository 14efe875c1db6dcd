package handlers_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/openai"
	"github.com/ollama/ollama/types/model"
)

// TestEmbedWithAChatModel embeds with tiny-llama, a generative GGUF model, on the three embedding routes,
// as Ollama does (its llama.cpp runner answers the last token's hidden state): /api/embed gives unit
// vectors, the same for an input alone or batched and from one request to the next, different for
// different inputs; the legacy route gives the same vector before normalisation; the OpenAI route the
// same vector as /api/embed. /api/show still lists only "completion", as Ollama's does.
func TestEmbedWithAChatModel(t *testing.T) {
	e := newCompatEnv(t)
	ctx := context.Background()
	inputs := phrases(6)
	batched, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "tiny", Input: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if len(batched.Embeddings) != len(inputs) || batched.PromptEvalCount < len(inputs) || batched.Model != "tiny" {
		t.Fatalf("%d vectors, %d tokens", len(batched.Embeddings), batched.PromptEvalCount)
	}
	dims := len(batched.Embeddings[0])
	if dims == 0 {
		t.Fatal("empty vector")
	}
	for i, v := range batched.Embeddings {
		if len(v) != dims || math.Abs(vecNorm(v)-1) > 1e-5 {
			t.Errorf("input %d: %d floats of norm %v", i, len(v), vecNorm(v))
		}
		for j := range i {
			if closeVecs(v, batched.Embeddings[j], 1e-3) {
				t.Errorf("inputs %d and %d gave the same vector", j, i)
			}
		}
	}
	again, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "tiny", Input: inputs})
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		one, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "tiny", Input: in})
		if err != nil {
			t.Fatal(err)
		}
		if !closeVecs(one.Embeddings[0], batched.Embeddings[i], 1e-3) || !closeVecs(again.Embeddings[i], batched.Embeddings[i], 1e-4) {
			t.Errorf("input %d: alone, batched and repeated differ", i)
		}
	}

	// The legacy route answers the vector as the model computes it: not unit, the same direction.
	legacy, err := e.client.Embeddings(ctx, &api.EmbeddingRequest{Model: "tiny", Prompt: inputs[0]})
	if err != nil {
		t.Fatal(err)
	}
	norm := vecNorm(legacy.Embedding)
	scaled := make([]float32, len(legacy.Embedding))
	for i, x := range legacy.Embedding {
		scaled[i] = float32(x / norm)
	}
	if len(legacy.Embedding) != dims || math.Abs(norm-1) < 1e-3 || !closeVecs(scaled, batched.Embeddings[0], 1e-3) {
		t.Errorf("legacy: %d floats of norm %v", len(legacy.Embedding), norm)
	}

	var list openai.EmbeddingList
	r := e.send("POST", "/v1/embeddings", map[string]any{"model": "tiny", "input": inputs[:2]})
	r.json(t, &list)
	if r.status != 200 || len(list.Data) != 2 || list.Usage.PromptTokens == 0 {
		t.Fatalf("/v1/embeddings: %d %s", r.status, r.body)
	}
	for i, d := range list.Data {
		var v []float32
		for _, x := range d.Embedding.([]any) {
			v = append(v, float32(x.(float64)))
		}
		if !closeVecs(v, batched.Embeddings[i], 1e-3) {
			t.Errorf("/v1/embeddings input %d differs from /api/embed", i)
		}
	}

	show, err := e.client.Show(ctx, &api.ShowRequest{Model: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(show.Capabilities, model.CapabilityCompletion) || slices.Contains(show.Capabilities, model.CapabilityEmbedding) {
		t.Errorf("/api/show capabilities %v", show.Capabilities)
	}
}

// TestEmbedWithAChatModelLimits checks an input over the context (refused with truncation off, cut with it
// on), and that embedding requests share the decode loop with a generation without changing its text.
func TestEmbedWithAChatModelLimits(t *testing.T) {
	e := newCompatEnv(t)
	ctx := context.Background()
	long := strings.Repeat("word ", 600) // the test server's slots hold 512 tokens
	var out errorReply
	if code := e.post("/api/embed", `{"model":"tiny","input":"`+long+`","truncate":false}`, &out); code != 400 ||
		out.Error != "the input length exceeds the context length" {
		t.Errorf("too long, truncate off: %d %q", code, out.Error)
	}
	cut, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "tiny", Input: long})
	if err != nil || len(cut.Embeddings) != 1 || cut.PromptEvalCount > 512 || math.Abs(vecNorm(cut.Embeddings[0])-1) > 1e-5 {
		t.Fatalf("too long, truncated: %v %+v", err, cut)
	}

	gen := &api.GenerateRequest{Model: "plain", Prompt: "Once upon a time", Raw: true, Options: greedyOpts(24)}
	alone, _, err := e.generate(gen)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var together string
	var genErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		together, _, genErr = e.generate(gen)
	}()
	for range 4 {
		if _, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "plain", Input: phrases(8)}); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	if genErr != nil || together != alone {
		t.Errorf("generation beside embeddings: %q (%v), alone %q", together, genErr, alone)
	}
}
