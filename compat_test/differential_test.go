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
	"slices"
	"sort"
	"strconv"
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
	{"embed with a chat model", "POST", "/api/embed", `{"model":"m","input":["a","b"]}`},
	{"embeddings with a chat model", "POST", "/api/embeddings", `{"model":"m","prompt":"a"}`},
	{"chat with an image on a text model", "POST", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi","images":["` + onePixelPNG + `"]}],"stream":false,"options":{"num_predict":4,"temperature":0}}`},
	{"generate with an image on a text model", "POST", "/api/generate", `{"model":"m","prompt":"hi","images":["` + onePixelPNG + `"],"stream":false,"options":{"num_predict":4,"temperature":0}}`},
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
	{"openai embeddings with a chat model", "POST", "/v1/embeddings", `{"model":"m","input":"a"}`},
	{"openai chat with an image on a text model", "POST", "/v1/chat/completions", `{"model":"m","max_tokens":4,"temperature":0,"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + onePixelPNG + `"}}]}]}`},
	{"openai embeddings bad format", "POST", "/v1/embeddings", `{"model":"e","input":"a","encoding_format":"int8"}`},
	{"openai models", "GET", "/v1/models", ""},
	{"openai model", "GET", "/v1/models/m", ""},
	{"openai model unknown", "GET", "/v1/models/nope", ""},
	{"anthropic messages", "POST", "/v1/messages", `{"model":"m","max_tokens":4,"messages":[{"role":"user","content":"hi"}],"temperature":0}`},
	{"anthropic messages stream", "POST", "/v1/messages", `{"model":"m","max_tokens":4,"messages":[{"role":"user","content":"hi"}],"temperature":0,"stream":true}`},
	{"anthropic bad max_tokens", "POST", "/v1/messages", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`},
	{"responses", "POST", "/v1/responses", `{"model":"m","input":"hi","max_output_tokens":4,"temperature":0}`},
}

// onePixelPNG is a valid 1x1 PNG, base64-encoded, for the image requests.
const onePixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

// knownDifference is one deliberate departure from Ollama in one field of one request's answer: the
// field ("status", or "document N" for the Nth JSON body) and what each server answers there. It hides that
// field alone: every other field of the request is still compared.
type knownDifference struct {
	field, ollama, hearth, why string
}

// knownDifferences are deliberate departures from Ollama by request name, each documented where it is made.
var knownDifferences = map[string][]knownDifference{
	"option of the wrong type": {{field: "status", ollama: "500", hearth: "400",
		why: "a client's mistake is a 400 in hearth; Ollama answers 500"}},
}

// fieldDiff is one field where the two answers differ.
type fieldDiff struct {
	field, ollama, hearth string
}

func (d fieldDiff) String() string {
	if strings.HasPrefix(d.field, "document") {
		return fmt.Sprintf("%s:\n      ollama %s\n      hearth %s", d.field, d.ollama, d.hearth)
	}
	return fmt.Sprintf("%s: ollama %s, hearth %s", d.field, d.ollama, d.hearth)
}

// compareAnswers lists the fields where hearth's answer differs from Ollama's.
func compareAnswers(want, got answer) []fieldDiff {
	var diffs []fieldDiff
	if want.status != got.status {
		diffs = append(diffs, fieldDiff{"status", strconv.Itoa(want.status), strconv.Itoa(got.status)})
	}
	if len(want.shapes) != len(got.shapes) {
		return append(diffs, fieldDiff{"documents", strconv.Itoa(len(want.shapes)), strconv.Itoa(len(got.shapes))})
	}
	for i := range want.shapes {
		if want.shapes[i] != got.shapes[i] {
			diffs = append(diffs, fieldDiff{fmt.Sprintf("document %d", i), want.shapes[i], got.shapes[i]})
		}
	}
	return diffs
}

// unexplained returns the differences that no known difference of the request accounts for (same field,
// same values on both sides), and the explanations of those that are.
func unexplained(diffs []fieldDiff, known []knownDifference) (rest []fieldDiff, whys []string) {
	for _, d := range diffs {
		i := slices.IndexFunc(known, func(k knownDifference) bool {
			return k.field == d.field && k.ollama == d.ollama && k.hearth == d.hearth
		})
		if i < 0 {
			rest = append(rest, d)
			continue
		}
		whys = append(whys, known[i].why)
	}
	return rest, whys
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

// startBoth starts the reference Ollama and hearth, each serving the generated models importBoth creates,
// and returns their base URLs.
func startBoth(t *testing.T) (ref, hearth string) {
	t.Helper()
	ollamaHost, _, _ := startOllamaServe(t, ollamaCLI(t))
	h := startHearth(t)
	ref = "http://" + ollamaHost
	importBoth(t, h.URL, ref)
	return ref, h.URL
}

// TestDifferentialAgainstOllama sends the same requests to hearth and to the reference Ollama 0.17.4,
// each serving the same generated models, and compares status codes and the field names and types of
// every answer (values excepted: the engines sample differently). Every difference is reported; the test
// fails on each one that knownDifferences does not list field by field.
func TestDifferentialAgainstOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference Ollama")
	}
	ref, hearthURL := startBoth(t)

	var report bytes.Buffer
	seen := map[string]bool{} // request name + "\x00" + field of every difference found
	for _, r := range diffRequests {
		want := fetch(t, ref, r)
		got := fetch(t, hearthURL, r)
		diffs := compareAnswers(want, got)
		if len(diffs) == 0 {
			fmt.Fprintf(&report, "same   %d %s %s (%s)\n", got.status, r.method, r.path, r.name)
			if testing.Verbose() && len(got.shapes) > 0 {
				fmt.Fprintf(&report, "       %.300s\n", got.shapes[len(got.shapes)-1])
			}
			continue
		}
		fmt.Fprintf(&report, "DIFF   %s %s (%s)\n", r.method, r.path, r.name)
		for _, d := range diffs {
			fmt.Fprintf(&report, "    %s\n", d)
		}
		for _, d := range diffs {
			seen[r.name+"\x00"+d.field] = true
		}
		rest, whys := unexplained(diffs, knownDifferences[r.name])
		for _, why := range whys {
			fmt.Fprintf(&report, "    known: %s\n", why)
		}
		for _, d := range rest {
			t.Errorf("%s: hearth differs from Ollama in %s", r.name, d)
		}
	}
	// A listed difference that no longer shows is a stale claim (the README counts them): drop it.
	for _, r := range diffRequests {
		for _, k := range knownDifferences[r.name] {
			if !seen[r.name+"\x00"+k.field] {
				t.Errorf("%s: known difference in %s (ollama %s, hearth %s) did not occur", r.name, k.field, k.ollama, k.hearth)
			}
		}
	}
	t.Logf("differential report:\n%s", report.String())
}

// TestKnownDifferenceHidesOneField pins the rule the differential test applies: a known difference excuses
// its own field with its own values, and nothing else of the same request.
func TestKnownDifferenceHidesOneField(t *testing.T) {
	known := knownDifferences["option of the wrong type"]
	errBody := `{error:string}`
	for _, c := range []struct {
		name      string
		want, got answer
		rest      int
	}{
		{"the known status alone", answer{500, []string{errBody}}, answer{400, []string{errBody}}, 0},
		{"the known status and a body shape", answer{500, []string{errBody}}, answer{400, []string{`{detail:string}`}}, 1},
		{"another status", answer{500, []string{errBody}}, answer{404, []string{errBody}}, 1},
		{"a missing body", answer{500, []string{errBody}}, answer{400, nil}, 1},
	} {
		rest, _ := unexplained(compareAnswers(c.want, c.got), known)
		if len(rest) != c.rest {
			t.Errorf("%s: unexplained %v, want %d", c.name, rest, c.rest)
		}
	}
}
