package compat_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/models"
)

// Ollama's own black-box integration tests (github.com/ollama/ollama/integration, build tag integration,
// the version go.mod pins) run against a real `hearth serve`. The generated models are registered under
// the names the tests ask for; the results are in INTEGRATION.md. With random weights no test that
// checks the generated text for keywords can pass, so each test is expected to pass, to skip, to fail
// only on such content checks (on text the server did generate: an empty answer is no content miss), or
// to fail the one documented way listed for it: anything else, a crash included, fails this test.

// integrationPkg is the package under test.
const integrationPkg = "github.com/ollama/ollama/integration"

// testModelPredict caps generation for the generation models registered here: a model with random weights
// never stops by itself, and Ollama's tests leave num_predict unset (tests that set it still win).
const testModelPredict = 8

// integrationModel is one name an integration test asks for, registered from a generated model.
type integrationModel struct {
	name, from string
	license    string
	params     map[string]any
}

// integrationModels registers every model name the run units below reach. Generation models come from
// tiny-llama, except qwen3:0.6b from tiny-gpt2, so that the multi-model stress test loads two distinct
// runners (models sharing one weights file share one runner, in Ollama as in hearth); embedding models
// come from bert-embed (384 dims, 512 tokens, MEAN pooling: the shape of all-minilm).
func integrationModels() []integrationModel {
	gen := map[string]any{"num_predict": testModelPredict}
	var out []integrationModel
	for _, n := range []string{"llama3.2:1b", "gemma2:2b", "deepseek-r1:1.5b", "gemma3:270m", "gpt-oss:20b",
		"deepseek-coder-v2:16b-lite-instruct-q2_K"} {
		out = append(out, integrationModel{name: n, from: "hearth/tiny-llama", params: gen})
	}
	out = append(out,
		integrationModel{name: "qwen3:0.6b", from: "tiny-gpt2", params: gen},
		// TestAPIShowModel wants a license and parameters, as the real llama3.2 has.
		integrationModel{name: "llama3.2", from: "hearth/tiny-llama", params: gen,
			license: "Generated test model with random weights; no license terms."})
	for _, n := range []string{"qwen3-embedding", "embeddinggemma", "nomic-embed-text", "all-minilm", "bge-large",
		"bge-m3", "granite-embedding", "mxbai-embed-large", "paraphrase-multilingual", "snowflake-arctic-embed",
		"snowflake-arctic-embed2"} {
		out = append(out, integrationModel{name: n, from: "hearth/bert-embed"})
	}
	return out
}

// expectation is what a test or subtest is expected to do.
type expectation struct {
	want string
	// failure, for expectFail, matches every message the test logs (one at least): the specific, documented
	// way it fails.
	failure *regexp.Regexp
	// crash says the expected failure is a panic that ends the test process.
	crash bool
}

// Kinds of expectation.
const (
	expectPass    = "pass"
	expectSkip    = "skip"
	expectContent = "content"  // fails, but only on checks of generated (non-empty) text or of reference vectors
	expectFail    = "fail"     // a known, documented difference, failing with its own message
	expectInSubs  = "sub-fail" // fails only because subtests with their own expectations fail
)

var (
	pass            = expectation{want: expectPass}
	skip            = expectation{want: expectSkip}
	content         = expectation{want: expectContent}
	failsInSubtests = expectation{want: expectInSubs}
)

// fails expects a test to fail with messages that all match pattern.
func fails(pattern string) expectation {
	return expectation{want: expectFail, failure: regexp.MustCompile(pattern)}
}

// panics expects a test to end its process with a panic whose message and first frame in Ollama's
// integration package match pattern (see parseGoTestV).
func panics(pattern string) expectation {
	return expectation{want: expectFail, failure: regexp.MustCompile(pattern), crash: true}
}

// integrationUnit is one process of the integration test binary: a -test.run pattern and what is expected
// of the tests it runs (by full test name; names not listed inherit their parent's expectation).
type integrationUnit struct {
	run    string
	expect map[string]expectation
}

// All top-level tests of integration/ that the units run; tool calling, vision, image generation and the
// model/library/perf-tagged files need models that cannot be mimicked and are not run (INTEGRATION.md).
var integrationUnits = []integrationUnit{
	{"^TestAPIListModels$", map[string]expectation{"TestAPIListModels": pass}},
	{"^TestAPIShowModel$", map[string]expectation{"TestAPIShowModel": pass}},
	{"^TestAPIGenerate$", map[string]expectation{"TestAPIGenerate": content}},
	{"^TestAPIChat$", map[string]expectation{"TestAPIChat": content}},
	{"^TestAPIGenerateLogprobs$", map[string]expectation{
		"TestAPIGenerateLogprobs":               failsInSubtests,
		"TestAPIGenerateLogprobs/no_logprobs":   pass,
		"TestAPIGenerateLogprobs/logprobs_only": pass,
		// A lone byte token among the top 5 (INTEGRATION.md): U+FFFD in token, the raw byte (>= 0x80) in bytes.
		"TestAPIGenerateLogprobs/logprobs_with_top_5": fails(
			`^generate logprob\[\d+\]\.top\[\d+\] expected 3 bytes for token "\x{FFFD}", got 1 \(\[(1[2-9][0-9]|2[0-5][0-9])\]\)$`),
	}},
	{"^TestAPIChatLogprobs$", map[string]expectation{"TestAPIChatLogprobs": pass}},
	{"^TestNumPredict$", map[string]expectation{"TestNumPredict": pass}},
	{"^TestBlueSky$", map[string]expectation{"TestBlueSky": content}},
	{"^TestUnicode$", map[string]expectation{"TestUnicode": skip}},
	{"^TestUnicodeModelDir$", map[string]expectation{"TestUnicodeModelDir": skip}},
	{"^TestExtendedUnicodeOutput$", map[string]expectation{"TestExtendedUnicodeOutput": content}},
	{"^TestLongInputContext$", map[string]expectation{"TestLongInputContext": content}},
	{"^TestContextExhaustion$", map[string]expectation{"TestContextExhaustion": content}},
	{"^TestGenerateWithHistory$", map[string]expectation{"TestGenerateWithHistory": content}},
	{"^TestChatWithHistory$", map[string]expectation{"TestChatWithHistory": content}},
	{"^TestParallelGenerateWithHistory$", map[string]expectation{"TestParallelGenerateWithHistory": content}},
	{"^TestParallelChatWithHistory$", map[string]expectation{"TestParallelChatWithHistory": content}},
	{"^TestConcurrentChat$", map[string]expectation{"TestConcurrentChat": content}},
	{"^TestMultiModelStress$", map[string]expectation{"TestMultiModelStress": content}},
	{"^TestMaxQueue$", map[string]expectation{"TestMaxQueue": skip}},
	{"^TestAllMiniLMEmbeddings$", map[string]expectation{"TestAllMiniLMEmbeddings": content}},
	{"^TestAllMiniLMEmbed$", map[string]expectation{"TestAllMiniLMEmbed": content}},
	{"^TestAllMiniLMBatchEmbed$", map[string]expectation{"TestAllMiniLMBatchEmbed": content}},
	// The num_ctx 0 case dereferences a nil error when the request succeeds, which ends the process: it
	// runs alone, after the others.
	{"^TestAllMiniLMEmbedTruncate$/^(target_truncation|default_truncate|explicit_truncate|truncate_error|input_after_truncate_error_with_context_length_of_1|boundary_truncation)$",
		map[string]expectation{"TestAllMiniLMEmbedTruncate": pass}},
	{"^TestAllMiniLMEmbedTruncate$/^input_after_truncate_error$", map[string]expectation{
		"TestAllMiniLMEmbedTruncate": failsInSubtests,
		// hearth answers num_ctx 0 with an embedding (INTEGRATION.md); the check calls err.Error() on nil.
		"TestAllMiniLMEmbedTruncate/input_after_truncate_error": panics(
			`^panic: runtime error: invalid memory address or nil pointer dereference( \[recovered[^\]]*\])?\n` +
				`at TestAllMiniLMEmbedTruncate\.func\d+ \(embed_test\.go:370\)$`),
	}},
	{"^TestEmbedCosineDistanceCorrelation$", map[string]expectation{"TestEmbedCosineDistanceCorrelation": content}},
	{"^TestEmbedTruncation$", map[string]expectation{"TestEmbedTruncation": pass}},
	{"^TestEmbedLargeInput$", map[string]expectation{"TestEmbedLargeInput": pass}},
	{"^TestEmbedStatusCode$", map[string]expectation{"TestEmbedStatusCode": pass}},
}

// Failure messages of checks on generated text (the text is captured) and on reference vectors.
var (
	textMissPlain = regexp.MustCompile(`(?s)^(?:\S+: )?none of \[[^\]]*\] found in (.*)$`)
	textMissChat  = regexp.MustCompile(`(?s)^\S+: none of \[[^\]]*\] found in "(.*)" -- request was:`)
	vectorMiss    = regexp.MustCompile(`^Cosine Similarity inconsistency |^expected \[.+\], got \[.+\] \(similarity: -?[0-9.]+\)$`)
)

// Categories of a failure message.
const (
	msgContent = "content" // a check of non-empty generated text, or of a vector against the real model's
	msgEmpty   = "empty"   // a check of generated text that found no text at all: the server answered nothing
	msgOther   = "other"
)

// messageCategory files one failure message.
func messageCategory(msg string) string {
	if m := textMissChat.FindStringSubmatch(msg); m != nil {
		return textCategory(m[1])
	}
	if m := textMissPlain.FindStringSubmatch(msg); m != nil {
		return textCategory(m[1])
	}
	if vectorMiss.MatchString(msg) {
		return msgContent
	}
	return msgOther
}

func textCategory(text string) string {
	if text == "" {
		return msgEmpty
	}
	return msgContent
}

// integrationResult is one test's outcome and the failure messages it printed.
type integrationResult struct {
	name    string
	outcome string // PASS, FAIL, SKIP, or NORESULT (the process ended before the test did)
	msgs    []string
}

var (
	resultLine = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(`)
	headerLine = regexp.MustCompile(`^=== (RUN|NAME|CONT|PAUSE)\s+(\S+)`)
	msgLine    = regexp.MustCompile(`^(\s+)\S+_test\.go:\d+: (.*)`)
	// A frame of the integration package in a panic's goroutine trace: the function line, then its file.
	panicFunc = regexp.MustCompile(`^github\.com/ollama/ollama/integration\.(\S+?)(?:\(.*\))?$`)
	panicFile = regexp.MustCompile(`^\s+\S*/integration/(\S+_test\.go:\d+)`)
)

// parseGoTestV reads `go test -v` output: each test's result and the messages logged under it, a message
// spanning lines as testing indents them. A panic ends the process after testing has reported the tests
// it ends as failed: it becomes a message of the last failed test none of whose subtests failed, "panic:
// ..." and, on a second line, "at <function> (<file:line>)" of the first integration frame of its trace.
func parseGoTestV(out string) []*integrationResult {
	byName := map[string]*integrationResult{}
	var order []string
	get := func(name string) *integrationResult {
		r := byName[name]
		if r == nil {
			r = &integrationResult{name: name, outcome: "NORESULT"}
			byName[name] = r
			order = append(order, name)
		}
		return r
	}
	current := ""
	contIndent := "" // indentation of the continuation lines of the last message; "" when none
	panicMsg, panicFn := "", ""
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if panicMsg != "" {
			if m := panicFunc.FindStringSubmatch(line); m != nil && panicFn == "" {
				panicFn = m[1]
			} else if m := panicFile.FindStringSubmatch(line); m != nil && panicFn != "" && !strings.Contains(panicMsg, "\n") {
				panicMsg += fmt.Sprintf("\nat %s (%s)", panicFn, m[1])
			}
			continue
		}
		if m := headerLine.FindStringSubmatch(line); m != nil {
			current, contIndent = m[2], ""
			get(current)
			continue
		}
		if m := resultLine.FindStringSubmatch(line); m != nil {
			get(m[2]).outcome = m[1]
			contIndent = ""
			continue
		}
		if contIndent != "" {
			if rest, ok := strings.CutPrefix(line, contIndent); ok {
				msgs := get(current).msgs
				msgs[len(msgs)-1] += "\n" + rest
				continue
			}
			contIndent = ""
		}
		if m := msgLine.FindStringSubmatch(line); m != nil && current != "" {
			get(current).msgs = append(get(current).msgs, m[2])
			contIndent = m[1] + "    "
			continue
		}
		if strings.HasPrefix(line, "panic: ") {
			panicMsg = line
		}
	}
	results := make([]*integrationResult, 0, len(order))
	for _, n := range order {
		results = append(results, byName[n])
	}
	if panicMsg != "" {
		var target *integrationResult
		for _, r := range results {
			if r.outcome == "FAIL" && !failedSubtest(results, r.name) {
				target = r
			}
		}
		if target == nil && current != "" {
			target = get(current)
		}
		if target != nil {
			target.msgs = append(target.msgs, panicMsg)
		}
	}
	return results
}

// expectationFor finds the expectation of a test, or of its nearest listed parent.
func expectationFor(expect map[string]expectation, name string) expectation {
	for n := name; ; {
		if e, ok := expect[n]; ok {
			return e
		}
		i := strings.LastIndex(n, "/")
		if i < 0 {
			return expectation{want: "unlisted"}
		}
		n = n[:i]
	}
}

// meets reports whether r, one of a unit's results, is what e expects.
func (e expectation) meets(r *integrationResult, results []*integrationResult) bool {
	switch e.want {
	case expectPass:
		return r.outcome == "PASS"
	case expectSkip:
		return r.outcome == "SKIP"
	case expectFail:
		return r.outcome == "FAIL" && len(r.msgs) > 0 && !slices.ContainsFunc(r.msgs, func(m string) bool {
			return !e.failure.MatchString(m)
		})
	case expectInSubs:
		return r.outcome == "FAIL" && len(r.msgs) == 0 && failedSubtest(results, r.name)
	case expectContent:
		// A parent failing only because of its subtests logs nothing itself; they are judged on their own.
		return r.outcome == "PASS" || r.outcome == "SKIP" ||
			r.outcome == "FAIL" && (onlyContent(r.msgs) || len(r.msgs) == 0 && failedSubtest(results, r.name))
	}
	return false
}

// buildIntegrationTests compiles the integration package into a test binary, or skips the test when the
// toolchain cannot (no module source, missing go.sum entries offline).
func buildIntegrationTests(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "integration.test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-tags=integration", "-o", bin, integrationPkg)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build Ollama's integration tests (%v):\n%s", err, out)
	}
	return bin
}

// registerIntegrationModels creates every model of integrationModels on the server.
func registerIntegrationModels(t *testing.T, client *api.Client) {
	t.Helper()
	ctx := context.Background()
	gpt2, err := models.Ensure(ctx, "", "tiny-gpt2")
	if err != nil {
		t.Fatal(err)
	}
	digest := fileDigest(t, gpt2)
	f, err := os.Open(gpt2)
	if err != nil {
		t.Fatal(err)
	}
	err = client.CreateBlob(ctx, digest, f)
	f.Close()
	if err != nil {
		t.Fatalf("upload tiny-gpt2: %v", err)
	}
	for _, m := range integrationModels() {
		req := &api.CreateRequest{Model: m.name, License: m.license, Parameters: m.params}
		if m.from == "tiny-gpt2" {
			req.Files = map[string]string{"tiny-gpt2.gguf": digest}
		} else {
			req.From = m.from
		}
		if err := client.Create(ctx, req, func(api.ProgressResponse) error { return nil }); err != nil {
			t.Fatalf("create %s from %s: %v", m.name, m.from, err)
		}
	}
}

// fileDigest is a file's "sha256:<hex>".
func fileDigest(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

// unloadAll unloads every running model, so each unit starts as on a fresh server: a model is listed by
// /api/ps under the name that loaded it, and models registered from one file share one runner.
func unloadAll(t *testing.T, client *api.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ps, err := client.ListRunning(ctx)
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	zero := &api.Duration{Duration: 0}
	for _, m := range ps.Models {
		err := client.Generate(ctx, &api.GenerateRequest{Model: m.Name, KeepAlive: zero}, func(api.GenerateResponse) error { return nil })
		if err != nil {
			_, err = client.Embed(ctx, &api.EmbedRequest{Model: m.Name, KeepAlive: zero})
		}
		if err != nil {
			t.Logf("unload %s: %v", m.Name, err)
		}
	}
}

// TestOllamaIntegrationSuite runs Ollama's integration tests against hearth, unit by unit (one process
// each, so a panicking test takes only its own unit down), and fails on every test that does not meet its
// expectation.
func TestOllamaIntegrationSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Ollama's integration tests against a real server (several minutes)")
	}
	bin := buildIntegrationTests(t)
	// Outgoing requests go to a closed port: a test asking for a model not registered here fails at once
	// instead of pulling gigabytes from registry.ollama.ai.
	p := startHearth(t, "HEARTH_DEFAULT_MODELS=true", "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9",
		"NO_PROXY=", "OLLAMA_KEEP_ALIVE=5m")
	// Every default model first: the suite's models must be the newest ones listed (TestAPIListModels
	// checks the first model's details, which a default ONNX model registered late would lack).
	waitForDefaultModels(t, p.URL, allDefaultModels)
	client := apiClient(t, p.URL)
	registerIntegrationModels(t, client)

	deadline := time.Now().Add(12 * time.Minute)
	if d, ok := t.Deadline(); ok && d.Add(-time.Minute).Before(deadline) {
		deadline = d.Add(-time.Minute)
	}
	tally := map[string]int{}
	var lines []string
	for _, unit := range integrationUnits {
		left := time.Until(deadline)
		if left < 30*time.Second {
			t.Errorf("out of time before %s", unit.run)
			break
		}
		unloadAll(t, client)
		ctx, cancel := context.WithTimeout(context.Background(), min(left, 5*time.Minute))
		cmd := exec.CommandContext(ctx, bin, "-test.run", unit.run, "-test.v", "-test.count=1",
			"-test.timeout", (min(left, 5*time.Minute) - 10*time.Second).String())
		cmd.Env = append(os.Environ(), "OLLAMA_TEST_EXISTING=1", "OLLAMA_HOST="+strings.TrimPrefix(p.URL, "http://"))
		cmd.Dir = t.TempDir()
		out, runErr := cmd.CombinedOutput()
		cancel()
		results := parseGoTestV(string(out))
		if len(results) == 0 {
			t.Errorf("%s: no test ran:\n%s", unit.run, tail(string(out), 3000))
			continue
		}
		checkExit(t, unit, runErr, string(out))
		for _, r := range results {
			tally[r.outcome]++
			want := expectationFor(unit.expect, r.name)
			note := ""
			if len(r.msgs) > 0 {
				note = " — " + clip(strings.ReplaceAll(r.msgs[0], "\n", `\n`), 200)
			}
			lines = append(lines, fmt.Sprintf("%-8s %-9s %s%s", r.outcome, want.want, r.name, note))
			if !want.meets(r, results) {
				t.Errorf("%s: %s, expected %s%s; messages:\n  %s", r.name, r.outcome, want.want, describe(want),
					strings.Join(categorized(r.msgs), "\n  "))
			}
		}
	}
	keys := make([]string, 0, len(tally))
	for k := range tally {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sum []string
	for _, k := range keys {
		sum = append(sum, fmt.Sprintf("%s %d", k, tally[k]))
	}
	t.Logf("Ollama integration tests against hearth (%s):\n%s", strings.Join(sum, ", "), strings.Join(lines, "\n"))
}

// checkExit fails the test when a unit's process ended otherwise than its expectations allow: with tests
// passing or failing (exit status 0 or 1) unless a panic is expected, and with a panic's exit status 2 when
// one is.
func checkExit(t *testing.T, unit integrationUnit, err error, out string) {
	t.Helper()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Errorf("%s: %v", unit.run, err)
			return
		}
		code = ee.ExitCode() // -1 when a signal ended it
	}
	crash := slices.ContainsFunc(slices.Collect(maps.Values(unit.expect)), func(e expectation) bool { return e.crash })
	if crash && code != 2 || !crash && code != 0 && code != 1 {
		t.Errorf("%s: the test process ended with exit status %d (a panic expected: %v):\n%s", unit.run, code, crash,
			tail(out, 3000))
	}
}

// failedSubtest reports whether results hold a failed subtest of name.
func failedSubtest(results []*integrationResult, name string) bool {
	return slices.ContainsFunc(results, func(r *integrationResult) bool {
		return strings.HasPrefix(r.name, name+"/") && r.outcome == "FAIL"
	})
}

// onlyContent reports whether a failed test's messages are all content checks (and there is one at least).
func onlyContent(msgs []string) bool {
	return len(msgs) > 0 && !slices.ContainsFunc(msgs, func(m string) bool { return messageCategory(m) != msgContent })
}

// describe says what else an expectation asks for.
func describe(e expectation) string {
	if e.failure != nil {
		return fmt.Sprintf(" with messages matching %q", e.failure)
	}
	return ""
}

// categorized prefixes each message with its category.
func categorized(msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = "[" + messageCategory(m) + "] " + m
	}
	return out
}

// clip cuts s to n bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
