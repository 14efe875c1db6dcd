package handlers_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"

	hapi "github.com/hearthlink/hearth/api"
)

// vecNorm is v's L2 norm.
func vecNorm[T float32 | float64](v []T) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// closeVecs reports whether a and b agree to tol element-wise.
func closeVecs(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

// phrases returns n short inputs of varied lengths.
func phrases(n int) []string {
	words := strings.Fields("the quick brown fox jumps over the lazy dog while a small bird sings in the old tree near the river bank")
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%d %s", i, strings.Join(words[i%7:i%7+3+i%11], " "))
	}
	return out
}

func TestEmbedONNXWithGoClient(t *testing.T) {
	e := newEncoderEnv(t)
	e.importONNX("minilm", "minilm-onnx")
	ctx := context.Background()

	resp, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "minilm", Input: []string{"hello world", "why is the sky blue?"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "minilm" || len(resp.Embeddings) != 2 || len(resp.Embeddings[0]) != 384 || resp.PromptEvalCount != 12 ||
		resp.TotalDuration <= 0 || resp.LoadDuration <= 0 {
		t.Fatalf("response %s %d×%d, %d tokens, total %v, load %v", resp.Model, len(resp.Embeddings), len(resp.Embeddings[0]),
			resp.PromptEvalCount, resp.TotalDuration, resp.LoadDuration)
	}
	for i, v := range resp.Embeddings {
		if n := vecNorm(v); math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d has norm %v", i, n)
		}
	}

	// dimensions cuts and re-normalises; a string input is one input.
	short, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "minilm", Input: "hello world", Dimensions: 64})
	if err != nil {
		t.Fatal(err)
	}
	if len(short.Embeddings) != 1 || len(short.Embeddings[0]) != 64 || math.Abs(vecNorm(short.Embeddings[0])-1) > 1e-5 {
		t.Fatalf("dimensions 64: %d vectors of %d", len(short.Embeddings), len(short.Embeddings[0]))
	}
	scale := vecNorm(resp.Embeddings[0][:64])
	for i, x := range short.Embeddings[0] {
		if math.Abs(float64(x)-float64(resp.Embeddings[0][i])/scale) > 1e-5 {
			t.Fatalf("dimensions 64 is not the re-normalised prefix of the full vector (element %d)", i)
		}
	}

	// The same input gives the same vector alone, in a batch, and from concurrent requests.
	inputs := phrases(24)
	batched, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "minilm", Input: inputs})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Go(func() {
			one, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "minilm", Input: in})
			if err != nil {
				t.Error(err)
				return
			}
			if !closeVecs(one.Embeddings[0], batched.Embeddings[i], 1e-5) {
				t.Errorf("input %d: a concurrent request's vector differs from the batched one", i)
			}
		})
	}
	wg.Wait()

	// The legacy route returns the model's own vector as float64; minilm normalises itself.
	legacy, err := e.client.Embeddings(ctx, &api.EmbeddingRequest{Model: "minilm", Prompt: "hello world"})
	if err != nil {
		t.Fatal(err)
	}
	if len(legacy.Embedding) != 384 || math.Abs(float64(legacy.Embedding[0])-float64(resp.Embeddings[0][0])) > 1e-5 {
		t.Errorf("legacy embedding of %d", len(legacy.Embedding))
	}
}

func TestEmbedEmptyInputLoads(t *testing.T) {
	e := newEncoderEnv(t)
	e.importONNX("minilm", "minilm-onnx")
	for _, body := range []string{`{"model":"minilm"}`, `{"model":"minilm","input":""}`, `{"model":"minilm","input":[]}`} {
		var out api.EmbedResponse
		if code := e.post("/api/embed", body, &out); code != http.StatusOK || out.Embeddings == nil || len(out.Embeddings) != 0 {
			t.Errorf("%s: %d %+v", body, code, out)
		}
	}
	if names := e.ps(); len(names) != 1 || names[0] != "minilm:latest" {
		t.Errorf("/api/ps lists %v after an empty embed, want minilm loaded", names)
	}
	var legacy map[string]any
	if code := e.post("/api/embeddings", `{"model":"minilm"}`, &legacy); code != http.StatusOK || fmt.Sprint(legacy["embedding"]) != "[]" {
		t.Errorf("legacy empty prompt: %d %v", code, legacy)
	}
}

func TestEncoderErrors(t *testing.T) {
	e := newEncoderEnv(t)
	e.importONNX("minilm", "minilm-onnx")
	e.importONNX("cls", "tinybert-cls-onnx")
	e.importTiny("tiny", "tiny-llama")
	long := strings.Repeat("word ", 400)
	for _, tc := range []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"missing body", "/api/embed", ``, 400, "missing request body"},
		{"bad JSON", "/api/embed", `{"model":`, 400, "unexpected EOF"},
		{"non-string item", "/api/embed", `{"model":"minilm","input":["a",1]}`, 400, "invalid input type"},
		{"input of wrong type", "/api/embed", `{"model":"minilm","input":{"a":1}}`, 400, "invalid input type"},
		{"unknown model", "/api/embed", `{"model":"nope","input":"a"}`, 404, "model 'nope' not found"},
		{"no model", "/api/embed", `{"input":"a"}`, 404, "model '' not found"},
		{"too long, truncate off", "/api/embed", `{"model":"minilm","input":"` + long + `","truncate":false}`, 400, "the input length exceeds the context length"},
		{"classifier asked to embed", "/api/embed", `{"model":"cls","input":"a"}`, 400, `"cls" does not support embedding`},
		{"legacy, no model", "/api/embeddings", `{"prompt":"a"}`, 400, "model is required"},
		{"legacy, classifier", "/api/embeddings", `{"model":"cls","prompt":"a"}`, 400, `"cls" does not support embedding`},
		{"embedder asked to classify", "/api/classify", `{"model":"minilm","input":"a"}`, 400, `"minilm" does not support classification`},
		{"generator asked to classify", "/api/classify", `{"model":"tiny","input":"a"}`, 400, `"tiny" does not support classification`},
		{"classify, non-string item", "/api/classify", `{"model":"cls","input":[null]}`, 400, "invalid input type"},
		{"classify, negative top_k", "/api/classify", `{"model":"cls","input":"a","top_k":-1}`, 400, "top_k must not be negative"},
		{"classify, too long", "/api/classify", `{"model":"cls","input":"` + strings.Repeat("word ", 600) + `","truncate":false}`, 400, "the input length exceeds the context length"},
		{"classify, no model", "/api/classify", `{"input":"a"}`, 400, "model is required"},
		{"classifier asked to rerank", "/api/rerank", `{"model":"cls","query":"q","documents":["a"]}`, 400, `"cls" does not support rerank`},
		{"rerank, no query", "/v1/rerank", `{"model":"cls","documents":["a"]}`, 400, "query is required"},
		{"rerank, documents not strings", "/v1/rerank", `{"model":"cls","query":"q","documents":[1]}`, 400, "cannot unmarshal number"},
		{"rerank, unknown model", "/v1/rerank", `{"model":"nope","query":"q","documents":["a"]}`, 404, "model 'nope' not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out errorReply
			code := e.post(tc.path, tc.body, &out)
			if code != tc.code || !strings.Contains(out.Error, tc.want) {
				t.Errorf("%d %q, want %d with %q", code, out.Error, tc.code, tc.want)
			}
		})
	}
	// Capability errors were answered before loading anything.
	for _, name := range e.ps() {
		if name == "tiny:latest" {
			t.Errorf("%s was loaded for a request it cannot serve", name)
		}
	}
	// The server still serves after every error.
	if _, err := e.client.Embed(context.Background(), &api.EmbedRequest{Model: "minilm", Input: "still here"}); err != nil {
		t.Fatal(err)
	}
}

func TestBrokenONNXModels(t *testing.T) {
	e := newEncoderEnv(t)
	e.importONNX("minilm", "minilm-onnx")
	dir := t.TempDir()
	if err := writeFiles(dir, map[string]string{
		"model.onnx":     "this is not an ONNX graph",
		"vocab.txt":      "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n",
		"hearth.json":    `{"task":"embedding","output":"last_hidden_state","pooling":"mean","max_length":16}`,
		"config.json":    `{"architectures":["BertModel"]}`,
		"tokenizer.json": `{"model":{"type":"WordPiece","vocab":{"[UNK]":0},"unk_token":"[UNK]"}}`,
	}); err != nil {
		t.Fatal(err)
	}
	e.importONNXDir("corrupt", dir)

	src, err := modelsEnsure("tinybert-cls-onnx")
	if err != nil {
		t.Fatal(err)
	}
	noTok := t.TempDir()
	if err := copyExcept(src, noTok, "tokenizer.json", "vocab.txt"); err != nil {
		t.Fatal(err)
	}
	e.importONNXDir("notokenizer", noTok)

	for _, tc := range []struct{ model, want string }{
		{"corrupt", "corrupt or unsupported ONNX file"},
		{"notokenizer", "the model has no tokenizer"},
	} {
		var out errorReply
		path, body := "/api/embed", `{"model":"`+tc.model+`","input":"hello"}`
		if tc.model == "notokenizer" {
			path, body = "/api/classify", `{"model":"notokenizer","input":"hello"}`
		}
		code := e.post(path, body, &out)
		if code != http.StatusInternalServerError || !strings.Contains(out.Error, tc.want) {
			t.Errorf("%s: %d %q, want 500 with %q", tc.model, code, out.Error, tc.want)
		}
		// A model that failed to load is not listed, and the server keeps serving others.
		for _, n := range e.ps() {
			if strings.HasPrefix(n, tc.model) {
				t.Errorf("%s is listed as loaded", n)
			}
		}
		if _, err := e.client.Embed(context.Background(), &api.EmbedRequest{Model: "minilm", Input: "still here"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClassify(t *testing.T) {
	e := newEncoderEnv(t)
	e.importONNX("cls", "tinybert-cls-onnx")
	var out hapi.ClassifyResponse
	if code := e.post("/api/classify", hapi.ClassifyRequest{Model: "cls", Input: []string{"I love it", "awful", "meh"}}, &out); code != 200 {
		t.Fatalf("status %d", code)
	}
	if out.Model != "cls" || len(out.Results) != 3 || out.PromptEvalCount == 0 || out.TotalDuration <= 0 || out.LoadDuration <= 0 {
		t.Fatalf("response %+v", out)
	}
	for i, labels := range out.Results {
		sum := 0.0
		for k, l := range labels {
			sum += l.Score
			if k > 0 && l.Score > labels[k-1].Score {
				t.Errorf("input %d: labels not sorted: %+v", i, labels)
			}
		}
		if len(labels) != 3 || math.Abs(sum-1) > 1e-5 {
			t.Errorf("input %d: %d labels summing to %v", i, len(labels), sum)
		}
	}
	var top hapi.ClassifyResponse
	if code := e.post("/api/classify", hapi.ClassifyRequest{Model: "cls", Input: "I love it", TopK: 1}, &top); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(top.Results) != 1 || len(top.Results[0]) != 1 || top.Results[0][0] != out.Results[0][0] {
		t.Errorf("top_k 1: %+v, want %+v", top.Results, out.Results[0][0])
	}
	var empty hapi.ClassifyResponse
	if code := e.post("/api/classify", `{"model":"cls","input":[]}`, &empty); code != 200 || empty.Results == nil || len(empty.Results) != 0 {
		t.Errorf("empty input: %d %+v", code, empty)
	}
}

func TestRerank(t *testing.T) {
	e := newEncoderEnv(t)
	e.importONNX("xenc", "tinybert-rerank-onnx")
	e.importTiny("bge", "bert-rerank")
	docs := phrases(9)
	for _, model := range []string{"xenc", "bge"} {
		for _, path := range []string{"/api/rerank", "/v1/rerank"} {
			var all hapi.RerankResponse
			if code := e.post(path, hapi.RerankRequest{Model: model, Query: "where does the bird sing?", Documents: docs}, &all); code != 200 {
				t.Fatalf("%s %s: status %d", model, path, code)
			}
			if len(all.Results) != len(docs) || all.Usage == nil || all.Usage.TotalTokens == 0 {
				t.Fatalf("%s %s: %+v", model, path, all)
			}
			seen := map[int]bool{}
			for k, r := range all.Results {
				if k > 0 && r.RelevanceScore > all.Results[k-1].RelevanceScore {
					t.Errorf("%s: results not sorted by relevance: %+v", model, all.Results)
				}
				if r.Document != nil || r.RelevanceScore <= 0 || r.RelevanceScore >= 1 {
					t.Errorf("%s: result %+v", model, r)
				}
				seen[r.Index] = true
			}
			if len(seen) != len(docs) {
				t.Errorf("%s: indexes %v do not cover the documents", model, seen)
			}
			// Scores follow the documents, not their position in the request.
			var top hapi.RerankResponse
			if code := e.post(path, hapi.RerankRequest{Model: model, Query: "where does the bird sing?", Documents: docs, TopN: 3, ReturnDocuments: true}, &top); code != 200 {
				t.Fatalf("status %d", code)
			}
			if len(top.Results) != 3 {
				t.Fatalf("%s: top_n 3 gave %d", model, len(top.Results))
			}
			for k, r := range top.Results {
				if r.Index != all.Results[k].Index || math.Abs(r.RelevanceScore-all.Results[k].RelevanceScore) > 1e-4 ||
					r.Document == nil || r.Document.Text != docs[r.Index] {
					t.Errorf("%s: top %d is %+v, want index %d with its text", model, k, r, all.Results[k].Index)
				}
			}
		}
	}
	var out errorReply
	if code := e.post("/api/embed", `{"model":"bge","input":"a"}`, &out); code != 400 || out.Error != `"bge" does not support embedding` {
		t.Errorf("a GGUF reranker asked to embed: %d %q", code, out.Error)
	}
}

func TestEmbedGGUF(t *testing.T) {
	e := newEncoderEnv(t)
	e.importTiny("bert", "bert-embed")
	ctx := context.Background()
	inputs := phrases(16)
	batched, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "bert", Input: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if len(batched.Embeddings) != len(inputs) || len(batched.Embeddings[0]) != 384 || batched.PromptEvalCount == 0 {
		t.Fatalf("%d vectors of %d", len(batched.Embeddings), len(batched.Embeddings[0]))
	}
	for i, in := range inputs {
		one, err := e.client.Embed(ctx, &api.EmbedRequest{Model: "bert", Input: in})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(vecNorm(one.Embeddings[0])-1) > 1e-5 || !closeVecs(one.Embeddings[0], batched.Embeddings[i], 1e-3) {
			t.Errorf("input %d: alone and batched differ", i)
		}
	}
	// The legacy route is not normalised.
	legacy, err := e.client.Embeddings(ctx, &api.EmbeddingRequest{Model: "bert", Prompt: inputs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(legacy.Embedding) != 384 || math.Abs(vecNorm(legacy.Embedding)-1) < 1e-3 {
		t.Errorf("legacy embedding of %d with norm %v, want the raw pooled vector", len(legacy.Embedding), vecNorm(legacy.Embedding))
	}
	var out errorReply
	if code := e.post("/api/embed", `{"model":"bert","input":"`+strings.Repeat("word ", 600)+`","truncate":false}`, &out); code != 400 ||
		out.Error != "the input length exceeds the context length" {
		t.Errorf("too long: %d %q", code, out.Error)
	}
}
