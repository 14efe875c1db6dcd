package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	hearthapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/models"
)

// diffRequest is one request sent to both servers.
type diffRequest struct {
	name, method, path, body string
}

// diffRequests are the native, OpenAI and Anthropic requests whose answers are compared. Sampling is
// greedy and short, so both servers take the same paths (values still differ: the engines differ).
var diffRequests = []diffRequest{
	{"version", "GET", "/api/version", ""},
	{"tags", "GET", "/api/tags", ""},
	{"show", "POST", "/api/show", `{"model":"m"}`},
	{"generate", "POST", "/api/generate", `{"model":"m","prompt":"Hello","stream":false,"options":{"num_predict":4,"temperature":0}}`},
	{"generate stream", "POST", "/api/generate", `{"model":"m","prompt":"Hello","options":{"num_predict":4,"temperature":0}}`},
	{"generate load", "POST", "/api/generate", `{"model":"m"}`},
	{"chat", "POST", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":4,"temperature":0}}`},
	{"chat stream", "POST", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":4,"temperature":0}}`},
	{"ps", "GET", "/api/ps", ""},
	{"embed", "POST", "/api/embed", `{"model":"e","input":["a","b"]}`},
	{"embeddings", "POST", "/api/embeddings", `{"model":"e","prompt":"a"}`},
	{"generate unknown model", "POST", "/api/generate", `{"model":"nope","prompt":"x"}`},
	{"chat without model", "POST", "/api/chat", `{"messages":[]}`},
	{"show unknown model", "POST", "/api/show", `{"model":"nope"}`},
	{"malformed json", "POST", "/api/generate", `{"model":`},
	{"empty body", "POST", "/api/chat", ``},
	{"bad top_logprobs", "POST", "/api/generate", `{"model":"m","prompt":"x","top_logprobs":50}`},
	{"option of the wrong type", "POST", "/api/generate", `{"model":"m","prompt":"x","options":{"top_k":"many"}}`},
	{"delete unknown", "DELETE", "/api/delete", `{"model":"nope"}`},
	{"copy unknown", "POST", "/api/copy", `{"source":"nope","destination":"x"}`},
	{"blob head missing", "HEAD", "/api/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000", ""},
	{"unknown route", "GET", "/api/nope", ""},
	{"wrong method", "GET", "/api/generate", ""},
	{"openai chat", "POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"temperature":0}`},
	{"openai chat stream", "POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`},
	{"openai chat no messages", "POST", "/v1/chat/completions", `{"model":"m","messages":[]}`},
	{"openai completions", "POST", "/v1/completions", `{"model":"m","prompt":"Hello","max_tokens":4,"temperature":0}`},
	{"openai embeddings", "POST", "/v1/embeddings", `{"model":"e","input":["a","b"]}`},
	{"openai embeddings bad format", "POST", "/v1/embeddings", `{"model":"e","input":"a","encoding_format":"int8"}`},
	{"openai models", "GET", "/v1/models", ""},
	{"openai model", "GET", "/v1/models/m", ""},
	{"openai model unknown", "GET", "/v1/models/nope", ""},
	{"anthropic messages", "POST", "/v1/messages", `{"model":"m","max_tokens":4,"messages":[{"role":"user","content":"hi"}],"temperature":0}`},
	{"anthropic messages stream", "POST", "/v1/messages", `{"model":"m","max_tokens":4,"messages":[{"role":"user","content":"hi"}],"temperature":0,"stream":true}`},
	{"anthropic bad max_tokens", "POST", "/v1/messages", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`},
	{"responses", "POST", "/v1/responses", `{"model":"m","input":"hi","max_output_tokens":4,"temperature":0}`},
}

// knownDifferences are deliberate departures from Ollama, each documented where it is made.
var knownDifferences = map[string]string{
	"option of the wrong type": "a client's mistake is a 400 in hearth; Ollama answers 500",
}

// answer is what a server sent back: status and the shapes of its JSON bodies (one per NDJSON line or SSE
// event; first and last only, since the count of text chunks depends on the engine).
type answer struct {
	status int
	shapes []string
}

func fetch(t *testing.T, base string, r diffRequest) answer {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	defer resp.Body.Close()
	var docs []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "data: ")
		if line == "" || line == "[DONE]" || strings.HasPrefix(line, "event:") {
			continue
		}
		docs = append(docs, line)
	}
	a := answer{status: resp.StatusCode}
	if len(docs) > 2 {
		docs = []string{docs[0], docs[len(docs)-1]}
	}
	for _, d := range docs {
		var v any
		if err := json.Unmarshal([]byte(d), &v); err != nil {
			a.shapes = append(a.shapes, "text")
			continue
		}
		a.shapes = append(a.shapes, shapeOf(v))
	}
	return a
}

// shapeOf describes a JSON value's structure without its values: object keys with their shapes, the
// shape of an array's first element, and scalar types.
func shapeOf(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%s:%s", k, shapeOf(x[k]))
		}
		b.WriteString("}")
		return b.String()
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + shapeOf(x[0]) + "]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// importBoth creates the same generated models in hearth and in the reference Ollama.
func importBoth(t *testing.T, hosts ...string) {
	t.Helper()
	ctx := context.Background()
	for recipe, name := range map[string]string{"tiny-llama": "m", "bert-embed": "e"} {
		path, err := models.Ensure(ctx, "", recipe)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			u, _ := url.Parse(h)
			if err := hearthapi.CreateFromPath(ctx, api.NewClient(u, http.DefaultClient), name, path); err != nil {
				t.Fatalf("create %s on %s: %v", name, h, err)
			}
		}
	}
}

// TestDifferentialAgainstOllama sends the same requests to hearth and to the reference Ollama 0.17.4,
// each serving the same generated models, and compares status codes and the field names and types of
// every answer (values excepted: the engines sample differently). Every difference is reported; the test
// fails on those not listed in knownDifferences.
func TestDifferentialAgainstOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference Ollama")
	}
	bin := ollamaCLI(t)
	ollamaHost, _, _ := startOllamaServe(t, bin)
	ref := "http://" + ollamaHost
	h := startHearth(t)
	importBoth(t, h.URL, ref)

	var report bytes.Buffer
	for _, r := range diffRequests {
		want := fetch(t, ref, r)
		got := fetch(t, h.URL, r)
		var diffs []string
		if want.status != got.status {
			diffs = append(diffs, fmt.Sprintf("status: ollama %d, hearth %d", want.status, got.status))
		}
		if len(want.shapes) != len(got.shapes) {
			diffs = append(diffs, fmt.Sprintf("documents: ollama %d, hearth %d", len(want.shapes), len(got.shapes)))
		} else {
			for i := range want.shapes {
				if want.shapes[i] != got.shapes[i] {
					diffs = append(diffs, fmt.Sprintf("document %d:\n      ollama %s\n      hearth %s", i, want.shapes[i], got.shapes[i]))
				}
			}
		}
		if len(diffs) == 0 {
			fmt.Fprintf(&report, "same   %d %s %s (%s)\n", got.status, r.method, r.path, r.name)
			if testing.Verbose() && len(got.shapes) > 0 {
				fmt.Fprintf(&report, "       %.300s\n", got.shapes[len(got.shapes)-1])
			}
			continue
		}
		fmt.Fprintf(&report, "DIFF   %s %s (%s)\n    %s\n", r.method, r.path, r.name, strings.Join(diffs, "\n    "))
		if why, ok := knownDifferences[r.name]; ok {
			fmt.Fprintf(&report, "    known: %s\n", why)
			continue
		}
		t.Errorf("%s: hearth differs from Ollama:\n    %s", r.name, strings.Join(diffs, "\n    "))
	}
	t.Logf("differential report:\n%s", report.String())
}
