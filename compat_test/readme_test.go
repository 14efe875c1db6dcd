package compat_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// readmeCurlExamples returns the curl commands of the README's "Try it" section.
func readmeCurlExamples(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	inSection, inBlock := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			inSection = line == "## Try it"
		case inSection && strings.HasPrefix(line, "```"):
			inBlock = !inBlock
		case inSection && inBlock && strings.HasPrefix(line, "curl "):
			cmds = append(cmds, line)
		}
	}
	if len(cmds) < 5 {
		t.Fatalf("found %d curl examples in the README's Try it section", len(cmds))
	}
	return cmds
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

// TestReadmeExamples runs every curl example of the README against a real server with the default models,
// so the README never promises what hearth does not do.
func TestReadmeExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	cmds := readmeCurlExamples(t)
	p := startHearth(t, "HEARTH_DEFAULT_MODELS=true")
	waitForDefaultModels(t, p.URL, []string{
		"hearth/tiny-llama:latest", "hearth/bert-embed:latest", "hearth/bert-rerank:latest",
		"hearth/minilm-onnx:latest", "hearth/tinybert-cls-onnx:latest",
	})
	host := strings.TrimPrefix(p.URL, "http://")
	for _, c := range cmds {
		c = strings.Replace(c, "curl localhost:11434", "curl -sS --fail-with-body "+host, 1)
		out, err := exec.Command("bash", "-c", c).CombinedOutput()
		if err != nil {
			t.Errorf("%s\nfailed: %v\n%s", c, err, out)
			continue
		}
		if len(out) == 0 || strings.Contains(string(out), `"error"`) {
			t.Errorf("%s\nanswered: %.500s", c, out)
		}
	}
}
