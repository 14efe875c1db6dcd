package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

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
	check := func(servers []string, ids ...string) {
		for _, id := range ids {
			m := byID[id]
			if m == nil {
				t.Errorf("%s missing from results.json", id)
				continue
			}
			for _, server := range servers {
				if v := m.Values[server]; len(v) == 0 || v[0] <= 0 {
					t.Errorf("%s for %s: %v (error %q)", id, server, v, m.Errors[server])
				}
			}
		}
	}
	check([]string{"hearth", "ollama"}, "decode_tps", "prompt_tps", "agg_tps_c1", "agg_tps_c2", "ttft_prefix_warm", "ttft_prefix_alt",
		"cold_load_ttft", "embed_batch64_ms", "embed_conc16_ms", "embed_single_p95", "tags_p50", "show_p50", "rss_llm_mb",
		"busy_tps_h1")
	check([]string{"hearth", "hearth-go", "ollama"}, "go_decode_tps", "go_prompt_tps", "go_agg_tps_c4")
	check([]string{"ollama-np4"}, "agg_tps_c2", "go_agg_tps_c4")
	// The Go-engine rows compare the engines they say they do.
	for server, want := range map[string]string{"hearth": "llama", "hearth-go": "ollamaengine", "ollama": "Go engine runner (--ollama-engine)"} {
		if got := rep.Engines[server]; got != want {
			t.Errorf("%s ran %s on %q, want %q", server, rep.GoModel, got, want)
		}
	}
	if quiet := rep.Quiet; quiet.Seconds <= 0 || quiet.Error != "" {
		t.Errorf("the other processes' CPU use was not measured: %+v", quiet)
	}
	md, err := os.ReadFile(filepath.Join(outDir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Workload | Unit | hearth | ollama |", "| Workload | Unit | hearth-go |", "single-stream decode",
		"Physical limit", "CPU backend each server loaded", "throughput.svg", "Reduced run", "Other processes' CPU use", "Goals"} {
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

// TestBenchmarksMDIsGenerated: BENCHMARKS.md's results are exactly what hearth-bench renders from the run's
// benchmarks/results.json (`make bench` writes both): no figure in the block was edited by hand. After a
// change to the report's wording, `go run ./cmd/hearth-bench --render benchmarks/results.json --publish
// BENCHMARKS.md` renders it again.
func TestBenchmarksMDIsGenerated(t *testing.T) {
	md, err := os.ReadFile("../../BENCHMARKS.md")
	if err != nil {
		t.Fatal(err)
	}
	block, err := generatedBlock(string(md))
	if err != nil {
		t.Fatalf("BENCHMARKS.md: %v", err)
	}
	if strings.Count(string(md), blockBegin) != 1 || strings.Count(string(md), blockEnd) != 1 {
		t.Fatal("BENCHMARKS.md must have exactly one generated block")
	}
	js, err := os.ReadFile("../../benchmarks/results.json")
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	if want := markdown(rep, "benchmarks/"); block != want {
		t.Errorf("BENCHMARKS.md's generated block is not what hearth-bench renders from benchmarks/results.json; "+
			"re-run `make bench`, or `go run ./cmd/hearth-bench --render benchmarks/results.json --publish BENCHMARKS.md`.\n--- got\n%s\n--- want\n%s", block, want)
	}
}

// TestFailedMeasurementIsAnError: a value that is no measurement (0 MB, 0 tok/s, NaN) is recorded as a
// failure, so a cell shows the error and a target is never "met" by a 0.
func TestFailedMeasurementIsAnError(t *testing.T) {
	r := newResults()
	r.define(metric{ID: "rss_over_file", Label: "rss / file", Unit: "x", Expected: 3})
	for _, v := range []float64{0, math.NaN(), -1, math.Inf(1)} {
		if err := r.add("rss_over_file", "hearth", v); err == nil {
			t.Errorf("add(%v) took it as a measurement", v)
		}
	}
	m := r.get("rss_over_file")
	if len(m.Values["hearth"]) != 0 || !strings.HasPrefix(cell(m, "hearth"), "error: ") {
		t.Errorf("values %v, cell %q", m.Values["hearth"], cell(m, "hearth"))
	}
	rep := report{Metrics: r.list(), Servers: []string{"hearth"}, Slots: 4}
	if md := markdown(rep, ""); !strings.Contains(md, "| not measured |") || strings.Contains(md, "| yes |") {
		t.Errorf("the memory goal of an unmeasured value:\n%s", md)
	}
	if _, err := perSecond(0, time.Second); err == nil {
		t.Error("perSecond of 0 tokens gave a rate")
	}
	if _, err := perSecond(5, 0); err == nil {
		t.Error("perSecond over no time gave a rate")
	}
}

// TestShortCellsSaySo: a cell built from fewer repetitions than asked for says how many, with the error.
func TestShortCellsSaySo(t *testing.T) {
	r := newResults()
	r.define(metric{ID: "decode_tps", Unit: "tok/s", Expected: 3})
	_ = r.add("decode_tps", "hearth", 10)
	_ = r.add("decode_tps", "hearth", 12)
	r.fail("decode_tps", "hearth", errors.New("connection reset"))
	if c := cell(r.get("decode_tps"), "hearth"); !strings.Contains(c, "[2 of 3]") || !strings.Contains(c, "connection reset") {
		t.Errorf("cell = %q", c)
	}
	_ = r.add("decode_tps", "ollama", 9)
	_ = r.add("decode_tps", "ollama", 9)
	_ = r.add("decode_tps", "ollama", 9)
	if c := cell(r.get("decode_tps"), "ollama"); strings.Contains(c, " of ") {
		t.Errorf("a full cell = %q", c)
	}
}

// TestOrderBalanced: each workload's own servers take turns going first, and the report says when the
// repetitions could not balance them.
func TestOrderBalanced(t *testing.T) {
	dir := t.TempDir()
	var servers []*server
	for _, spec := range []serverSpec{{Name: "hearth"}, {Name: "hearth-go", GoEngine: true}, {Name: "ollama"}, {Name: "ollama-np4", Matched: true}} {
		f, err := os.Create(filepath.Join(dir, spec.Name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		servers = append(servers, &server{spec: spec, log: f})
	}
	for _, reps := range []int{6, 3} {
		b := &bench{cfg: config{Reps: reps, Out: dir}, res: newResults(), start: time.Now(), servers: servers,
			firsts: map[string]map[string]int{}, promptTokens: map[string]map[string]int{}}
		var order []string
		run := func(b *bench, _ context.Context, s *server, _ int) error {
			order = append(order, s.spec.Name)
			return nil
		}
		ws := []workload{{Name: "two", On: notMatched, Run: run}, {Name: "three", On: chatServers, Run: run}}
		if err := b.phase(t.Context(), "test", ws); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(order[:5], []string{"hearth", "ollama", "hearth", "ollama", "ollama-np4"}) ||
			!slices.Equal(order[5:10], []string{"ollama", "hearth", "ollama", "ollama-np4", "hearth"}) {
			t.Errorf("%d reps: order %v", reps, order)
		}
		line := orderLine(b.firsts)
		if balanced := !strings.Contains(line, "not balanced"); balanced != (reps == 6) {
			t.Errorf("%d reps: %s (firsts %v)", reps, line, b.firsts)
		}
	}
}

// TestQuietness: others' CPU is what the machine used less what this tree used.
func TestQuietness(t *testing.T) {
	a := cpuSample{total: 0, busy: 0}
	b := cpuSample{total: 1000, busy: 600, own: 400}
	want := 0.2 * float64(runtime.NumCPU())
	if got := others(a, b); math.Abs(got-want) > 1e-9 {
		t.Errorf("others = %v, want %v", got, want)
	}
	if quiet, _ := (quietness{Seconds: 60, OtherCores: 0.5, PeakOtherCores: 0.9}).Quiet(); quiet {
		t.Error("a machine with half a core used by others counted as quiet")
	}
	if quiet, why := (quietness{Seconds: 60, OtherCores: 0.01, PeakOtherCores: 0.05}).Quiet(); !quiet {
		t.Errorf("an idle machine counted as not quiet: %s", why)
	}
	m := watchQuiet()
	time.Sleep(1100 * time.Millisecond)
	m.close()
	if q := m.result(); q.Error != "" || q.Seconds <= 0 {
		t.Errorf("monitor: %+v", q)
	}
}

// TestPublishReplacesOnlyTheBlock: publishing rewrites what lies between the markers and nothing else, and
// the block reads back as the rendered report.
func TestPublishReplacesOnlyTheBlock(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "BENCHMARKS.md")
	hand := "# Hand-written\n\nMethod.\n\n" + blockBegin + "\n\nold figures\n\n" + blockEnd + "\n\nAfter.\n"
	if err := os.WriteFile(md, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newResults()
	r.define(metric{ID: "decode_tps", Group: "Generation", Label: "decode", Unit: "tok/s", HigherIsBetter: true, Expected: 1})
	_ = r.add("decode_tps", "hearth", 12)
	_ = r.add("decode_tps", "ollama", 10)
	rep := report{Metrics: r.list(), Servers: []string{"hearth", "ollama"}, Kinds: map[string]string{"hearth": "hearth", "ollama": "ollama"}, Reps: 1, Complete: true}
	js, _ := json.Marshal(rep)
	if err := publish(md, rep, js, []byte("<svg/>"), ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "# Hand-written\n\nMethod.\n\n") || !strings.HasSuffix(text, blockEnd+"\n\nAfter.\n") || strings.Contains(text, "old figures") {
		t.Errorf("published file:\n%s", text)
	}
	block, err := generatedBlock(text)
	if err != nil || block != markdown(rep, "benchmarks/") || !strings.Contains(block, "| 1.20x |") {
		t.Errorf("block (%v):\n%s", err, block)
	}
	if _, err := os.Stat(filepath.Join(dir, "benchmarks", "results.json")); err != nil {
		t.Error(err)
	}
}
