package compat_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOllamaCLIRunsModels drives a real `hearth serve` with the real ollama CLI's inference commands: run
// with a prompt argument, with piped stdin and with --verbose timings, ps, and stop.
func TestOllamaCLIRunsModels(t *testing.T) {
	cliRunsModels(t, ollamaCLI(t))
}

// cliRunsModels is TestOllamaCLIRunsModels with the CLI binary bin: the reference ollama, or hearth.
func cliRunsModels(t *testing.T, bin string) {
	p := startHearth(t, "HEARTH_DEFAULT_MODELS=true")
	waitForDefaultModels(t, p.URL, []string{"hearth/tiny-llama:latest"})
	c := cli{t: t, bin: bin, host: strings.TrimPrefix(p.URL, "http://"), home: t.TempDir()}

	// The generated model writes random tokens until num_predict: bound it in a derived model, created
	// from a Modelfile by the CLI as a user would.
	mf := filepath.Join(t.TempDir(), "Modelfile")
	if err := os.WriteFile(mf, []byte("FROM hearth/tiny-llama\nPARAMETER num_predict 12\nPARAMETER seed 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok("create", "short", "-f", mf)

	out, _ := c.ok("run", "short", "Why is the sky blue?")
	if strings.TrimSpace(out) == "" {
		t.Error("ollama run printed no response")
	}
	again, _ := c.ok("run", "short", "Why is the sky blue?")
	if again != out {
		t.Errorf("same seed, different output:\n%q\n%q", out, again)
	}

	_, stderr := c.ok("run", "--verbose", "short", "hello")
	wants(t, "ollama run --verbose", stderr, "total duration:", "load duration:", "prompt eval count:",
		"eval count:", "eval rate:")

	code, piped, errOut := runWithStdin(t, c, "tell me a story\n", "run", "short")
	if code != 0 || strings.TrimSpace(piped) == "" {
		t.Errorf("piped stdin: exit %d, stdout %q, stderr %q", code, piped, errOut)
	}

	ps, _ := c.ok("ps")
	wants(t, "ollama ps", ps, "NAME", "short:latest", "100% CPU")

	c.ok("stop", "short")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ps, _ = c.ok("ps")
		if !strings.Contains(ps, "short:latest") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("model still loaded after ollama stop:\n%s", ps)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runWithStdin runs `ollama args...` with stdin as its standard input.
func runWithStdin(t *testing.T, c cli, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "OLLAMA_HOST="+c.host, "HOME="+c.home, "TERM=dumb", "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}
