package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthlink/hearth/models"
)

// TestShort runs `hearth-bench --short` end to end against a freshly built hearth and the reference
// Ollama, so the tool cannot rot: both servers start, models import through the API, every workload
// produces a value for both, and the three outputs are written. It asserts no timing.
func TestShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers and runs inference: skipped with -short")
	}
	ollama := filepath.Join(models.CacheDir(), "reference", "bin", "ollama")
	if _, err := os.Stat(ollama); err != nil {
		t.Skipf("reference Ollama not built (%v): run `bash scripts/bootstrap.sh ollama-cli` (make test does)", err)
	}
	hearth := filepath.Join(t.TempDir(), "hearth")
	if out, err := exec.Command("go", "build", "-o", hearth, "github.com/hearthlink/hearth/cmd/hearth").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	outDir := t.TempDir()
	cfg, err := parseFlags([]string{"--short", "--hearth", hearth, "--ollama", ollama, "--out", outDir, "--workdir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}

	var rep report
	js, err := os.ReadFile(filepath.Join(outDir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	byID := map[string]*metric{}
	for _, m := range rep.Metrics {
		byID[m.ID] = m
	}
	for _, id := range []string{"decode_tps", "prompt_tps", "agg_tps_c1", "agg_tps_c2", "ttft_prefix_warm", "ttft_prefix_alt",
		"cold_load_ttft", "embed_batch64_ms", "embed_conc16_ms", "embed_single_p95", "tags_p50", "show_p50", "rss_llm_mb",
		"busy_tps_h1"} {
		m := byID[id]
		if m == nil {
			t.Errorf("%s missing from results.json", id)
			continue
		}
		for _, server := range []string{"hearth", "ollama"} {
			if v := m.Values[server]; len(v) == 0 || v[0] <= 0 {
				t.Errorf("%s for %s: %v (error %q)", id, server, v, m.Errors[server])
			}
		}
	}
	if v := byID["agg_tps_c2"].Values["ollama-np4"]; len(v) == 0 {
		t.Errorf("the Ollama with OLLAMA_NUM_PARALLEL matched to hearth's slots did not run: %q", byID["agg_tps_c2"].Errors["ollama-np4"])
	}
	md, err := os.ReadFile(filepath.Join(outDir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Workload | Unit | hearth | ollama |", "single-stream decode", "Physical limit", "CPU backend each server loaded", "throughput.svg"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
	svg, err := os.ReadFile(filepath.Join(outDir, "throughput.svg"))
	if err != nil || !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), "<polyline") {
		t.Errorf("throughput.svg is not a chart with lines: %v", err)
	}
	if t.Failed() {
		t.Logf("results.md:\n%s", md)
	}
}

// TestSummaries checks the statistics the report is built from.
func TestSummaries(t *testing.T) {
	s := summarize([]float64{5, 1, 3, 2})
	if s.Median != 2.5 || s.Min != 1 || s.Max != 5 || s.N != 4 {
		t.Errorf("summarize = %+v", s)
	}
	vs := make([]float64, 100)
	for i := range vs {
		vs[i] = float64(i + 1)
	}
	if p := percentile(vs, 95); p != 95 {
		t.Errorf("p95 of 1..100 = %v", p)
	}
	if w := winner(summary{Median: 10, N: 1}, 5, true); w != "**hearth**" {
		t.Errorf("winner higher-is-better = %q", w)
	}
	if w := winner(summary{Median: 10, N: 1}, 5, false); w != "Ollama" {
		t.Errorf("winner lower-is-better = %q", w)
	}
	if w := winner(summary{Median: 10, N: 1}, 10.2, true); w != "tie" {
		t.Errorf("winner within 3%% = %q", w)
	}
}
