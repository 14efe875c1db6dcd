package compat_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// readmeExample is one command of a shell block of the README, with the sample answer printed under it in
// comments, if any.
type readmeExample struct {
	cmd    string
	sample string
}

// readmeExamples returns the commands of the shell blocks from the README's "Try it" section to its end
// (the section says every example below it is run): curl commands (a quoted body may span lines) and
// `OLLAMA_HOST=... ollama` and `OLLAMA_HOST=... hearth` commands. A sample answer is a comment starting with "# {" right under a
// command, continued by comments indented further ("#  ..."). Any other command fails the test: it would
// be an example nobody runs.
func readmeExamples(t *testing.T) []readmeExample {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []readmeExample
	inScope, inBlock, inSample := false, false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		last := len(out) - 1
		switch {
		case line == "## Try it":
			inScope = true
		case !inScope:
		case strings.HasPrefix(line, "```"):
			inBlock, inSample = !inBlock, false
		case !inBlock:
		case last >= 0 && strings.Count(out[last].cmd, "'")%2 == 1:
			out[last].cmd += "\n" + line // inside a quoted body
		case strings.HasPrefix(line, "curl ") || strings.HasPrefix(line, "OLLAMA_HOST="):
			out = append(out, readmeExample{cmd: line})
			inSample = false
		case last >= 0 && out[last].sample == "" && strings.HasPrefix(line, "# {"):
			out[last].sample, inSample = strings.TrimPrefix(line, "# "), true
		case inSample && strings.HasPrefix(line, "#  "):
			out[last].sample += strings.TrimPrefix(line, "#  ")
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
			inSample = false
		default:
			t.Errorf("README example %q is not run by this test", line)
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d examples in the README from its Try it section on", len(out))
	}
	return out
}

// sampleJSON turns a README sample answer into JSON: "..." after array elements means "more of the same"
// and is dropped; "..." as a value means "any value" and becomes null.
func sampleJSON(sample string) (any, error) {
	s := strings.ReplaceAll(sample, ",...]", "]")
	s = strings.ReplaceAll(s, ":...", ":null")
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("sample %s is not JSON with ... placeholders: %v", sample, err)
	}
	return v, nil
}

// matchShape lists where got does not have sample's shape: the same object keys, scalars of the same
// type (null in the sample matches anything), and every array element shaped like the sample's first.
func matchShape(path string, sample, got any) []string {
	switch s := sample.(type) {
	case nil:
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", path, got)}
		}
		var diffs []string
		for k := range g {
			if _, ok := s[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: in the answer, not in the sample", path, k))
			}
		}
		for k, sv := range s {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: in the sample, not in the answer", path, k))
				continue
			}
			diffs = append(diffs, matchShape(path+"."+k, sv, gv)...)
		}
		sort.Strings(diffs)
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an array", path, got)}
		}
		if len(s) == 0 {
			return nil
		}
		if len(g) == 0 {
			return []string{path + ": empty, the sample has elements"}
		}
		var diffs []string
		for i, gv := range g {
			diffs = append(diffs, matchShape(fmt.Sprintf("%s[%d]", path, i), s[0], gv)...)
		}
		return diffs
	default:
		if fmt.Sprintf("%T", sample) != fmt.Sprintf("%T", got) {
			return []string{fmt.Sprintf("%s: %T, want %T like the sample's %v", path, got, sample, sample)}
		}
		return nil
	}
}

var curlBody = regexp.MustCompile(`(?s) -d '(.*)'`)

// checkReadmeClaims checks what the README says of the answers of its own routes beyond their shape:
// classify gives one list per input, top_k labels each, highest score first, probabilities; rerank gives
// top_n results (all documents without it), most relevant first, scores in (0, 1), indexes into documents
// and, with return_documents, their text.
func checkReadmeClaims(t *testing.T, cmd string, answer []byte) {
	t.Helper()
	m := curlBody.FindStringSubmatch(cmd)
	switch {
	case strings.Contains(cmd, "/api/classify"):
		var req struct {
			Input any `json:"input"`
			TopK  int `json:"top_k"`
		}
		var resp struct {
			Results [][]struct {
				Label string
				Score float64
			}
		}
		if m == nil || json.Unmarshal([]byte(m[1]), &req) != nil || json.Unmarshal(answer, &resp) != nil {
			t.Fatalf("cannot read the classify example or its answer: %s", answer)
		}
		inputs := 1
		if l, ok := req.Input.([]any); ok {
			inputs = len(l)
		}
		if len(resp.Results) != inputs {
			t.Errorf("%d result lists for %d inputs", len(resp.Results), inputs)
		}
		for i, labels := range resp.Results {
			if req.TopK > 0 && len(labels) != req.TopK {
				t.Errorf("input %d: %d labels, top_k %d", i, len(labels), req.TopK)
			}
			for j, l := range labels {
				if l.Label == "" || l.Score < 0 || l.Score > 1 || j > 0 && l.Score > labels[j-1].Score {
					t.Errorf("input %d: labels not probabilities, highest first: %+v", i, labels)
					break
				}
			}
		}
	case strings.Contains(cmd, "/api/rerank"):
		var req struct {
			Documents       []string `json:"documents"`
			TopN            int      `json:"top_n"`
			ReturnDocuments bool     `json:"return_documents"`
		}
		var resp struct {
			Results []struct {
				Index          int      `json:"index"`
				RelevanceScore *float64 `json:"relevance_score"`
				Document       *struct{ Text string }
			}
		}
		if m == nil || json.Unmarshal([]byte(m[1]), &req) != nil || json.Unmarshal(answer, &resp) != nil {
			t.Fatalf("cannot read the rerank example or its answer: %s", answer)
		}
		want := len(req.Documents)
		if req.TopN > 0 {
			want = min(want, req.TopN)
		}
		if len(resp.Results) != want {
			t.Errorf("%d results for %d documents and top_n %d", len(resp.Results), len(req.Documents), req.TopN)
		}
		prev := math.Inf(1)
		for _, r := range resp.Results {
			switch {
			case r.Index < 0 || r.Index >= len(req.Documents):
				t.Errorf("index %d is not one of the %d documents", r.Index, len(req.Documents))
			case r.RelevanceScore == nil || *r.RelevanceScore <= 0 || *r.RelevanceScore >= 1 || *r.RelevanceScore > prev:
				t.Errorf("relevance_score not in (0, 1), most relevant first: %s", answer)
			case req.ReturnDocuments != (r.Document != nil) || r.Document != nil && r.Document.Text != req.Documents[r.Index]:
				t.Errorf("document %+v for index %d with return_documents %v", r.Document, r.Index, req.ReturnDocuments)
			default:
				prev = *r.RelevanceScore
			}
		}
	}
}

// allDefaultModels are every model hearth serve registers on start (HEARTH_DEFAULT_MODELS).
var allDefaultModels = []string{
	"hearth/tiny-llama:latest", "hearth/bert-embed:latest", "hearth/bert-rerank:latest",
	"hearth/minilm-onnx:latest", "hearth/tinybert-cls-onnx:latest", "hearth/tinybert-rerank-onnx:latest",
}

// waitForDefaultModels polls /api/tags until the generated default models are registered.
func waitForDefaultModels(t *testing.T, url string, want []string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/api/tags")
		if err == nil {
			var tags struct{ Models []struct{ Name string } }
			_ = json.NewDecoder(resp.Body).Decode(&tags)
			resp.Body.Close()
			have := map[string]bool{}
			for _, m := range tags.Models {
				have[m.Name] = true
			}
			missing := 0
			for _, w := range want {
				if !have[w] {
					missing++
				}
			}
			if missing == 0 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("default models %v not registered within 3 minutes", want)
}

// TestReadmeExamples runs every example of the README from its "Try it" section on against a real server
// with the default models, so the README never promises what hearth does not do: each curl command must
// succeed, answers printed under a command must have the answer's shape, and classify and rerank answers
// must be what the README says they are. The `ollama` CLI examples run with the reference CLI when it is
// built, the `hearth` ones with hearth's own CLI.
func TestReadmeExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	examples := readmeExamples(t)
	p := startHearth(t, "HEARTH_DEFAULT_MODELS=true")
	waitForDefaultModels(t, p.URL, allDefaultModels)
	host := strings.TrimPrefix(p.URL, "http://")
	for _, ex := range examples {
		t.Run(strings.SplitN(ex.cmd, " -d", 2)[0], func(t *testing.T) {
			if rest, ok := strings.CutPrefix(ex.cmd, "OLLAMA_HOST=127.0.0.1:11434 ollama "); ok {
				stdout, _ := cli{t: t, bin: ollamaCLI(t), host: host, home: t.TempDir()}.ok(strings.Fields(rest)...)
				wants(t, ex.cmd, stdout, "NAME", "hearth/tiny-llama:latest")
				return
			}
			if rest, ok := strings.CutPrefix(ex.cmd, "OLLAMA_HOST=127.0.0.1:11434 hearth "); ok {
				stdout, _ := cli{t: t, bin: hearthBinary(t), host: host, home: t.TempDir()}.ok(strings.Fields(rest)...)
				wants(t, ex.cmd, stdout, "NAME", "hearth/tiny-llama:latest")
				return
			}
			c, ok := strings.CutPrefix(ex.cmd, "curl localhost:11434")
			if !ok {
				t.Fatalf("example %q does not address localhost:11434", ex.cmd)
			}
			out, err := exec.Command("bash", "-c", "curl -sS --fail-with-body "+host+c).CombinedOutput()
			if err != nil {
				t.Fatalf("%s\nfailed: %v\n%s", ex.cmd, err, out)
			}
			if len(out) == 0 || strings.Contains(string(out), `"error"`) {
				t.Fatalf("%s\nanswered: %.500s", ex.cmd, out)
			}
			if ex.sample != "" {
				want, err := sampleJSON(ex.sample)
				if err != nil {
					t.Fatal(err)
				}
				var got any
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("answer is not one JSON document: %v\n%.500s", err, out)
				}
				if diffs := matchShape("answer", want, got); len(diffs) > 0 {
					t.Errorf("the README's sample %s does not match the answer %s:\n  %s", ex.sample, out, strings.Join(diffs, "\n  "))
				}
			}
			checkReadmeClaims(t, ex.cmd, out)
		})
	}
}

// TestReadmeSampleShapes pins how README samples are read and compared, so the shape check can fail.
func TestReadmeSampleShapes(t *testing.T) {
	sample, err := sampleJSON(`{"model":"...","results":[[{"label":"positive","score":0.61},...],...],"total_duration":...}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		answer string
		diffs  int
	}{
		{`{"model":"m","results":[[{"label":"a","score":0.5},{"label":"b","score":0.2}],[{"label":"a","score":1}]],"total_duration":5}`, 0},
		{`{"model":"m","results":[[{"label":"a","score":0.5}]]}`, 1},                                    // a key missing
		{`{"model":"m","results":[[{"label":"a","score":0.5}]],"total_duration":5,"extra":1}`, 1},       // a key not in the sample
		{`{"model":"m","results":[[{"label":"a","score":"high"}]],"total_duration":5}`, 1},              // a type
		{`{"model":"m","results":[[{"label":"a","score":0.5}],[{"label":"b"}]],"total_duration":5}`, 1}, // a later element
		{`{"model":"m","results":[],"total_duration":5}`, 1},                                            // no elements
		{`{"model":"m","results":[[{"label":"a","score":0.5}]],"total_duration":{"nanoseconds":5}}`, 0}, // "..." is any value
	} {
		var got any
		if err := json.Unmarshal([]byte(c.answer), &got); err != nil {
			t.Fatal(err)
		}
		if diffs := matchShape("answer", sample, got); len(diffs) != c.diffs {
			t.Errorf("%s: %v, want %d differences", c.answer, diffs, c.diffs)
		}
	}
}
