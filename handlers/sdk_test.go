package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// sdkDir is where `scripts/bootstrap.sh node-sdks` installs the openai and @anthropic-ai/sdk packages.
func sdkDir(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("HEARTH_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "hearth")
	}
	dir := filepath.Join(cache, "node", "node_modules")
	for _, pkg := range []string{"openai", "@anthropic-ai/sdk"} {
		if _, err := os.Stat(filepath.Join(dir, pkg, "package.json")); err != nil {
			t.Skipf("npm package %s is not installed in %s: run scripts/bootstrap.sh node-sdks", pkg, dir)
		}
	}
	return dir
}

// TestOfficialSDKs drives the OpenAI- and Anthropic-compatible routes with the official npm SDKs
// (testdata/sdk/compat.cjs): chat, streaming, tool calls, JSON schema output, embeddings as floats and
// base64, models, completions, responses, messages and their streams, and typed errors. Each check of
// the script is a subtest here.
func TestOfficialSDKs(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir := sdkDir(t)
	e := newCompatEnv(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "sdk", "compat.cjs"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+dir, "BASE_URL="+e.srv.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()

	checks := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var res struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			t.Errorf("script printed %q", sc.Text())
			continue
		}
		checks++
		t.Run(res.Name, func(t *testing.T) {
			if !res.OK {
				t.Error(res.Detail)
				return
			}
			t.Log(res.Detail)
		})
	}
	if checks == 0 || (runErr != nil && !t.Failed()) {
		t.Fatalf("node %v after %d checks\n%s", runErr, checks, stderr.String())
	}
}
