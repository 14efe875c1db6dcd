package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hearthlink/hearth/models"
)

// seedResult is one of the seed's own targets for hearth, measured beside the comparison.
type seedResult struct {
	// Name says what was measured.
	Name string `json:"name"`
	// Value is the measurement, in Unit.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Target is the seed's budget, in Unit (lower is better for every seed target); 0 when it sets none.
	Target float64 `json:"target,omitempty"`
	// Note explains how it was measured.
	Note string `json:"note,omitempty"`
	// Error says why it could not be measured; Value is then meaningless and the target not met.
	Error string `json:"error,omitempty"`
}

// measureSeeds measures the seed's targets that need a running hearth: one-input classification and
// embedding latency with the ONNX models, resident memory over model file size, and the request-path
// benchmarks from --gobench.
func (b *bench) measureSeeds(ctx context.Context) []seedResult {
	var out []seedResult
	var h *server
	for _, s := range b.servers {
		if s.spec.Kind == "hearth" {
			h = s
		}
	}
	if m := b.res.get("rss_over_file"); m != nil && h != nil && (len(m.Values[h.spec.Name]) > 0 || m.Errors[h.spec.Name] != "") {
		r := seedResult{Name: "resident memory / model file size (chat model loaded)", Unit: "x", Target: 1.35,
			Note: fmt.Sprintf("OLLAMA_CONTEXT_LENGTH %d (capped at the model's trained context), %d slots; the reference at the same settings is in the Memory rows", b.cfg.NumCtx, b.cfg.Slots)}
		if v := m.Values[h.spec.Name]; len(v) > 0 {
			r.Value = summarize(v).Median
		} else {
			r.Error = m.Errors[h.spec.Name]
		}
		out = append(out, r)
	}
	if h != nil {
		out = append(out, b.onnxSeed(ctx, h, "minilm-onnx", "/api/embed", 10)...)
		out = append(out, b.onnxSeed(ctx, h, "tinybert-cls-onnx", "/api/classify", 20)...)
	}
	if b.cfg.GoBench != "" {
		rs, err := parseGoBench(b.cfg.GoBench)
		if err != nil {
			out = append(out, seedResult{Name: "request path", Error: err.Error()})
		}
		out = append(out, rs...)
	}
	return out
}

// onnxSeed imports a generated ONNX model into hearth and times one-input requests to route, reporting
// p50 and p95 against the seed's p95 budget (ms).
func (b *bench) onnxSeed(ctx context.Context, h *server, recipe, route string, budget float64) []seedResult {
	name := "seed-" + recipe
	what := strings.TrimPrefix(route, "/api/")
	fail := func(err error) []seedResult {
		b.progress("seed %s: %v", recipe, err)
		return []seedResult{{Name: what + " p95, one input (" + recipe + ")", Target: budget, Unit: "ms", Error: err.Error()}}
	}
	dir, err := models.Ensure(ctx, "", recipe)
	if err != nil {
		return fail(err)
	}
	if err := h.importModel(ctx, name, dir); err != nil {
		return fail(err)
	}
	n := max(20, b.cfg.EmbedSingles*2)
	var lat []float64
	for i := range n + 3 {
		d, err := h.post(ctx, route, map[string]any{"model": name, "input": text(uint64(20_000+i), 12)})
		if err != nil {
			return fail(err)
		}
		if i >= 3 { // the first requests load the model and warm ONNX Runtime up
			lat = append(lat, ms(d))
		}
	}
	p50, p95 := percentile(lat, 50), percentile(lat, 95)
	b.progress("seed %-18s %s p50 %s ms, p95 %s ms", recipe, what, formatValue(p50), formatValue(p95))
	note := fmt.Sprintf("%d sequential requests of about 12 words, over loopback HTTP", n)
	return []seedResult{
		{Name: what + " p50, one input (" + recipe + ")", Value: p50, Unit: "ms", Note: note},
		{Name: what + " p95, one input (" + recipe + ")", Value: p95, Unit: "ms", Target: budget, Note: note},
	}
}

// parseGoBench reads `go test -bench` output and keeps the BenchmarkRequestPath lines: ns/op as µs per
// request, and the ns/token metric of the streaming benchmark.
func parseGoBench(path string) ([]seedResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []seedResult
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "BenchmarkRequestPath") {
			continue
		}
		name := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch unit := fields[i+1]; unit {
			case "ns/op":
				us := v / float64(time.Microsecond)
				r := seedResult{Name: name + " (over loopback HTTP, client included)", Value: us, Unit: "µs/request"}
				inProcess := strings.HasSuffix(name, "InProcess")
				switch {
				case strings.Contains(name, "Floor"):
					r.Name = name + " (GET /api/version over loopback: the round trip alone)"
				case strings.Contains(name, "Stream"):
					r.Name = name + " (256 streamed tokens)"
				case inProcess:
					r.Name = name + " (in process: middleware, route, decode, schedule, encode)"
					r.Target = 20
				}
				out = append(out, r)
			case "ns/token":
				out = append(out, seedResult{Name: name + " (per streamed token)", Value: v / 1000, Unit: "µs/token"})
			case "allocs/op":
				out = append(out, seedResult{Name: name + " allocations", Value: v, Unit: "allocs/request"})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no BenchmarkRequestPath results in %s", path)
	}
	return out, sc.Err()
}
