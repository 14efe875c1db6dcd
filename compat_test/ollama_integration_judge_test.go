package compat_test

import (
	"fmt"
	"strings"
	"testing"
)

// Output of `go test -v` (Go 1.26) for tests that log content misses: one on text made of newlines, one on
// an empty text, and the chat form (written out: the trailing spaces matter).
const contentMissOutput = "" +
	"=== RUN   TestGen\n" +
	"=== RUN   TestGen/stream\n" +
	"    x_test.go:11: none of [rayleigh scatter] found in \n" +
	"        \n" +
	"        \n" +
	"=== RUN   TestGen/no_stream\n" +
	"    x_test.go:14: none of [rayleigh scatter] found in \n" +
	"--- FAIL: TestGen (0.00s)\n" +
	"    --- FAIL: TestGen/stream (0.00s)\n" +
	"    --- FAIL: TestGen/no_stream (0.00s)\n" +
	"=== RUN   TestChat\n" +
	"    x_test.go:19: m: none of [a b] found in \"x\n" +
	"        y\" -- request was:[hi]\n" +
	"--- FAIL: TestChat (0.00s)\n" +
	"FAIL\n"

// Output of `go test -v` for a subtest that calls Error on a nil error, after a passing subtest of its own.
const panicOutput = `=== RUN   TestPanics
=== RUN   TestPanics/sub
=== RUN   TestPanics/sub/deeper
    x_test.go:28: ok
--- FAIL: TestPanics (0.00s)
    --- FAIL: TestPanics/sub (0.00s)
        --- PASS: TestPanics/sub/deeper (0.00s)
panic: runtime error: invalid memory address or nil pointer dereference [recovered, repanicked]
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x52e8a1]

goroutine 20 [running]:
testing.tRunner.func1.2({0x55b7c0, 0x6cbc70})
	/usr/local/go/src/testing/testing.go:1974 +0x232
testing.tRunner.func1()
	/usr/local/go/src/testing/testing.go:1977 +0x349
panic({0x55b7c0?, 0x6cbc70?})
	/usr/local/go/src/runtime/panic.go:860 +0x13a
github.com/ollama/ollama/integration.TestPanics.func1(0x31a4d5e62488?)
	/root/go/pkg/mod/github.com/ollama/ollama@v0.17.4/integration/x_test.go:29 +0x41
testing.tRunner(0x31a4d5e62488, 0x31a4d5e200c0)
	/usr/local/go/src/testing/testing.go:2036 +0xea
created by testing.(*T).Run in goroutine 19
	/usr/local/go/src/testing/testing.go:2101 +0x4c5
`

// judge parses output and reports, per test, whether it meets its expectation.
func judge(t *testing.T, output string, expect map[string]expectation) map[string]bool {
	t.Helper()
	results := parseGoTestV(output)
	got := map[string]bool{}
	for _, r := range results {
		got[r.name] = expectationFor(expect, r.name).meets(r, results)
	}
	return got
}

// TestIntegrationJudgement pins how TestOllamaIntegrationSuite files results: a content miss needs
// generated text (an empty answer is its own failure), an expected failure must fail with its own message,
// and an expected panic must be that panic at that place.
func TestIntegrationJudgement(t *testing.T) {
	got := judge(t, contentMissOutput, map[string]expectation{"TestGen": content, "TestChat": content})
	for name, want := range map[string]bool{"TestGen": true, "TestGen/stream": true, "TestGen/no_stream": false, "TestChat": true} {
		if got[name] != want {
			t.Errorf("content expected: %s judged %v, want %v", name, got[name], want)
		}
	}
	results := parseGoTestV(contentMissOutput)
	for _, r := range results {
		if r.name == "TestGen/stream" && (len(r.msgs) != 1 || !strings.HasSuffix(r.msgs[0], "found in \n\n")) {
			t.Errorf("multi-line message read as %q", r.msgs)
		}
	}

	at := `^panic: runtime error: invalid memory address or nil pointer dereference( \[recovered[^\]]*\])?\nat TestPanics\.func1 \(x_test\.go:%d\)$`
	for _, c := range []struct {
		name string
		sub  expectation
		want bool
	}{
		{"the expected panic", panics(fmt.Sprintf(at, 29)), true},
		{"a panic elsewhere", panics(fmt.Sprintf(at, 30)), false},
		{"a content miss", content, false},
		{"a pass", pass, false},
	} {
		got := judge(t, panicOutput, map[string]expectation{"TestPanics": failsInSubtests, "TestPanics/sub": c.sub,
			"TestPanics/sub/deeper": pass})
		if got["TestPanics/sub"] != c.want || !got["TestPanics"] || !got["TestPanics/sub/deeper"] {
			t.Errorf("%s: judged %v", c.name, got)
		}
	}

	var logprobs map[string]expectation
	for _, u := range integrationUnits {
		if u.run == "^TestAPIGenerateLogprobs$" {
			logprobs = u.expect
		}
	}
	const top5 = "=== RUN   TestAPIGenerateLogprobs\n=== RUN   TestAPIGenerateLogprobs/logprobs_with_top_5\n%s" +
		"--- FAIL: TestAPIGenerateLogprobs (0.21s)\n    --- FAIL: TestAPIGenerateLogprobs/logprobs_with_top_5 (0.21s)\n"
	byteMiss := "    api_test.go:22: generate logprob[2].top[3] expected 3 bytes for token \"\uFFFD\", got 1 ([201])\n"
	for _, c := range []struct {
		name, msgs string
		want       bool
	}{
		{"the documented byte token", byteMiss, true},
		{"an ASCII byte", strings.Replace(byteMiss, "201", "65", 1), false},
		{"another failure", "    api_test.go:481: logprob[0] has empty token\n", false},
		{"the documented one and another", byteMiss + "    api_test.go:481: logprob[0] has empty token\n", false},
		{"no message", "", false},
	} {
		got := judge(t, fmt.Sprintf(top5, c.msgs), logprobs)
		// The parent only fails through its subtest, whichever way that fails.
		if got["TestAPIGenerateLogprobs/logprobs_with_top_5"] != c.want || !got["TestAPIGenerateLogprobs"] {
			t.Errorf("%s: judged %v, want %v", c.name, got, c.want)
		}
	}
}
