package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShortSoak runs a 20-second soak against a freshly built hearth so the soak itself cannot rot: the
// server starts with its default models, every kind of request in the mix is answered without a failure,
// the deliberate disconnects happen, and memory and goroutines are sampled and judged. The growth verdict
// is logged, not asserted: 20 seconds is mostly warm-up, and `make soak` runs the minutes that judge it.
func TestShortSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hearth and runs inference: skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "hearth")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hearthlink/hearth/cmd/hearth").CombinedOutput(); err != nil {
		t.Skipf("bin/hearth cannot be built here: %v\n%s", err, out)
	}
	cfg, err := parseFlags([]string{"-hearth", bin, "-duration", "20s", "-concurrency", "4"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := soak(t.Context(), cfg, testWriter{t})
	if res == nil {
		t.Fatal(err)
	}
	var table strings.Builder
	res.print(&table)
	t.Logf("soak:\n%s", table.String())
	if err := res.requestFailures(); err != nil {
		t.Errorf("requests failed: %v", err)
	}
	seen := map[string]bool{}
	for _, st := range res.routes {
		seen[st.Label] = true
		if st.Label == "disconnect mid-stream" && st.HungUp == 0 {
			t.Error("no client disconnected mid-stream")
		}
	}
	for _, s := range mix {
		if !seen[s.label] {
			t.Errorf("%q never ran", s.label)
		}
	}
	if len(res.samples) < 15 || res.samples[len(res.samples)-1].At < 15*time.Second {
		t.Errorf("%d samples over %v: the sampler did not run the whole soak", len(res.samples), res.samples[len(res.samples)-1].At)
	}
	if res.samples[0].GoHeap <= 0 {
		t.Errorf("the Go heap was not read from /metrics: %v", res.samples[0].GoHeap)
	}
	if len(res.growth) != 2 || res.growth[0].First <= 0 || res.growth[1].First <= 0 {
		t.Errorf("memory and goroutines were not read: %+v", res.growth)
	}
}

// TestGrowthRule checks the rule on series shaped like a plateau after warm-up, noise, and a leak.
func TestGrowthRule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		series []float64
		want   bool
	}{
		{"warm-up then plateau", []float64{100, 300, 500, 600, 610, 600, 605, 610, 600}, false},
		{"noise", []float64{600, 640, 590, 620, 600, 630, 610, 590, 640}, false},
		{"leak", []float64{100, 200, 300, 400, 500, 600, 700, 800, 900}, true},
	} {
		if g := judge(tc.name, "MiB", tc.series, 0.10, 16); g.Growing != tc.want {
			t.Errorf("%s: growing = %v, want %v (%+v)", tc.name, g.Growing, tc.want, g)
		}
	}
	if v := parseGauge(strings.NewReader("# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 42\n"), "go_goroutines"); v != 42 {
		t.Errorf("parseGauge = %v", v)
	}
}

// testWriter sends the soak's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestOnly checks that -only keeps the labelled routes and refuses a label the mix lacks.
func TestOnly(t *testing.T) {
	tr, err := newTraffic("http://127.0.0.1:1", "embed, classify")
	if err != nil {
		t.Fatalf("-only embed,classify: %v", err)
	}
	if len(tr.steps) != 2 {
		t.Errorf("-only embed,classify kept %d steps, want 2", len(tr.steps))
	}
	if _, err := newTraffic("http://127.0.0.1:1", "embed,nope"); err == nil {
		t.Error("-only with an unknown label was accepted")
	}
}
