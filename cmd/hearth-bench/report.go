package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// report is the JSON output: everything the Markdown shows, unrounded.
type report struct {
	Date         time.Time     `json:"date"`
	Command      string        `json:"command"`
	Model        string        `json:"model"`
	ModelBytes   int64         `json:"model_bytes"`
	BytesPerTok  int64         `json:"bytes_per_token"`
	DecodeLimit  float64       `json:"decode_limit_tok_s"`
	Reps         int           `json:"reps"`
	NumCtx       int           `json:"num_ctx"`
	Slots        int           `json:"slots"`
	Servers      []string      `json:"servers"`
	System       sysInfo       `json:"system"`
	LoadAvgEnd   string        `json:"load_avg_end"`
	Duration     time.Duration `json:"duration_ns"`
	Metrics      []*metric     `json:"metrics"`
	Seeds        []seedResult  `json:"seeds"`
	Notes        []string      `json:"notes"`
	ServerLogDir string        `json:"server_log_dir"`
	// Kernels is the ggml CPU backend each server loaded, by server.
	Kernels map[string]string `json:"kernels,omitempty"`
	// Complete is false in a partial report: saved mid-run, or of a run cut short.
	Complete bool `json:"complete"`
}

// write saves results.json, results.md and throughput.svg under cfg.Out; final prints the Markdown to
// stdout too, while partial reports (after each phase, or of a run cut short) are only saved.
func (b *bench) write(final bool) error {
	rep := report{
		Date: time.Now().UTC(), Command: strings.Join(os.Args, " "), Model: recipeFor(b.cfg.Model),
		ModelBytes: b.llmBytes, Reps: b.cfg.Reps, NumCtx: b.cfg.NumCtx, Slots: b.cfg.Slots, System: b.sys,
		Duration: time.Since(b.start), Metrics: b.res.list(), Seeds: b.seeds, Notes: b.notes, Complete: final,
		ServerLogDir: filepath.Join(b.cfg.Out, "logs"),
	}
	rep.Kernels = map[string]string{}
	for _, s := range b.servers {
		rep.Servers = append(rep.Servers, s.spec.Name)
		if k := loadedBackend(s.log.Name()); k != "" {
			rep.Kernels[s.spec.Name] = k
		}
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(la)); len(f) >= 3 {
			rep.LoadAvgEnd = strings.Join(f[:3], " ")
		}
	}
	if final {
		read, cp := bandwidth(256 << 20)
		b.sys.ReadGBs, b.sys.CopyGBs = max(b.sys.ReadGBs, read), max(b.sys.CopyGBs, cp)
		rep.System = b.sys
	}
	if n, err := bytesPerToken(b.llmPath); err == nil && n > 0 {
		rep.BytesPerTok = n
		rep.DecodeLimit = b.sys.ReadGBs * 1e9 / float64(n)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.cfg.Out, "results.json"), js, 0o644); err != nil {
		return err
	}
	svg := throughputChart(fmt.Sprintf("Aggregate decode throughput, %s, %s", rep.Model, shortCPU(b.sys.CPU)), b.cfg.Clients, b.chartSeries())
	if err := os.WriteFile(filepath.Join(b.cfg.Out, "throughput.svg"), []byte(svg), 0o644); err != nil {
		return err
	}
	md := b.markdown(rep)
	if err := os.WriteFile(filepath.Join(b.cfg.Out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if !final {
		b.progress("saved a partial report in %s", b.cfg.Out)
		return nil
	}
	b.progress("wrote results.md, results.json and throughput.svg in %s", b.cfg.Out)
	fmt.Print(md)
	return nil
}

// chartSeries gathers the concurrency medians of every server.
func (b *bench) chartSeries() []chartSeries {
	var out []chartSeries
	for i, s := range b.servers {
		cs := chartSeries{Name: s.spec.Name, Color: seriesColors[i%len(seriesColors)]}
		for _, n := range b.cfg.Clients {
			sum := summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
			if m := b.res.get(fmt.Sprintf("agg_tps_c%d", n)); m != nil {
				if v := m.Values[s.spec.Name]; len(v) > 0 {
					sum = summarize(v)
				}
			}
			cs.Med, cs.Lo, cs.Hi = append(cs.Med, sum.Median), append(cs.Lo, sum.Min), append(cs.Hi, sum.Max)
		}
		out = append(out, cs)
	}
	return out
}

// markdown renders the report as a BENCHMARKS.md-ready section.
func (b *bench) markdown(rep report) string {
	var w strings.Builder
	sys := rep.System
	fmt.Fprintf(&w, "### Results: %s, %s\n\n", rep.Date.Format("2006-01-02 15:04 UTC"), rep.Model)
	if !rep.Complete {
		w.WriteString("**Partial report: the run had not finished (or was cut short); missing rows were not measured.**\n\n")
	}
	fmt.Fprintf(&w, "- Machine: %s, %d cores, %.1f GB RAM; AMX: %s; CPU features: %s.\n", sys.CPU, sys.Cores, sys.MemoryGB,
		yesNo(sys.AMX), strings.Join(sys.Features, " "))
	if len(rep.Kernels) > 0 {
		var ks []string
		for _, name := range rep.Servers {
			if k := rep.Kernels[name]; k != "" {
				ks = append(ks, fmt.Sprintf("%s `%s`", name, k))
			}
		}
		fmt.Fprintf(&w, "- CPU backend each server loaded (from its log): %s.\n", strings.Join(ks, ", "))
	}
	fmt.Fprintf(&w, "- Memory bandwidth measured by the bench: %.1f GB/s read, %.1f GB/s copy (read + write).\n", sys.ReadGBs, sys.CopyGBs)
	fmt.Fprintf(&w, "- Load average (1, 5, 15 min) at start: %s; at end: %s.", sys.LoadAvg, rep.LoadAvgEnd)
	if la := firstFloat(sys.LoadAvg); la >= 1.0 {
		w.WriteString(" **The machine was not quiet (load ≥ 1): treat the numbers as unreliable.**")
	}
	w.WriteString("\n")
	fmt.Fprintf(&w, "- Chat model: `%s`, %.0f MB file; embeddings: `bert-embed` (GGUF, mean pooling). OLLAMA_CONTEXT_LENGTH=%d for every server (each caps it at the model's trained context); hearth runs %d slots.\n",
		rep.Model, float64(rep.ModelBytes)/1e6, rep.NumCtx, rep.Slots)
	if rep.DecodeLimit > 0 {
		fmt.Fprintf(&w, "- Physical limit for single-stream decode: %.0f MB read per token / %.1f GB/s = **%.1f tok/s**", float64(rep.BytesPerTok)/1e6, sys.ReadGBs, rep.DecodeLimit)
		over := false
		if m := b.res.get("decode_tps"); m != nil {
			for _, name := range rep.Servers {
				if v := m.Values[name]; len(v) > 0 {
					med := summarize(v).Median
					fmt.Fprintf(&w, "; %s reached %s (%.0f%%)", name, formatValue(med), 100*med/rep.DecodeLimit)
					over = over || med > rep.DecodeLimit
				}
			}
		}
		w.WriteString(".")
		if over {
			w.WriteString(" A server went past the limit, so the bandwidth measured here is an underestimate (other processes were using memory bandwidth while it was measured).")
		}
		w.WriteString("\n")
	}
	fmt.Fprintf(&w, "- Repetitions: %d, servers alternating; %s in all. Cells: median (min–max). Ratio: hearth ÷ server; **winner** compares hearth with the best Ollama configuration measured (tie within 3%%).\n\n",
		rep.Reps, rep.Duration.Round(time.Second))
	b.table(&w, rep.Servers)
	if len(rep.Seeds) > 0 {
		w.WriteString("\n#### The seed's own targets (hearth only)\n\n| Target | Measured | Budget | Met | How |\n|---|---|---|---|---|\n")
		for _, s := range rep.Seeds {
			budget, met := "–", "–"
			if s.Target > 0 {
				budget = fmt.Sprintf("≤ %s %s", formatValue(s.Target), s.Unit)
				met = yesNo(s.Met)
			}
			val := formatValue(s.Value) + " " + s.Unit
			if s.Value == 0 && s.Note != "" && !s.Met {
				val = "not measured"
			}
			fmt.Fprintf(&w, "| %s | %s | %s | %s | %s |\n", s.Name, val, budget, met, s.Note)
		}
	}
	if len(rep.Notes) > 0 {
		w.WriteString("\nNotes:\n\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&w, "- %s\n", n)
		}
	}
	w.WriteString("\n![Aggregate decode throughput against concurrent clients](throughput.svg)\n")
	return w.String()
}

// table writes the comparison table, one row per metric, grouped.
func (b *bench) table(w *strings.Builder, servers []string) {
	var others []string
	for _, s := range servers {
		if s != "hearth" {
			others = append(others, s)
		}
	}
	w.WriteString("| Workload | Unit |")
	for _, s := range servers {
		fmt.Fprintf(w, " %s |", s)
	}
	for _, o := range others {
		fmt.Fprintf(w, " hearth/%s |", o)
	}
	w.WriteString(" Winner |\n|---|---|")
	w.WriteString(strings.Repeat("---|", len(servers)+len(others)+1) + "\n")
	group := ""
	for _, m := range b.res.list() {
		if len(m.Values) == 0 && len(m.Errors) == 0 {
			continue
		}
		if m.Group != group {
			group = m.Group
			fmt.Fprintf(w, "| **%s** |%s\n", group, strings.Repeat(" |", len(servers)+len(others)+2))
		}
		fmt.Fprintf(w, "| %s | %s |", m.Label, m.Unit)
		for _, s := range servers {
			fmt.Fprintf(w, " %s |", cell(m, s))
		}
		h := summarize(m.Values["hearth"])
		best := math.NaN()
		for _, o := range others {
			ratio := "–"
			if ref := summarize(m.Values[o]); ref.N > 0 && h.N > 0 && ref.Median != 0 {
				ratio = fmt.Sprintf("%.2fx", h.Median/ref.Median)
				if math.IsNaN(best) || (m.HigherIsBetter == (ref.Median > best)) {
					best = ref.Median
				}
			}
			fmt.Fprintf(w, " %s |", ratio)
		}
		fmt.Fprintf(w, " %s |\n", winner(h, best, m.HigherIsBetter))
	}
}

// cell formats one server's values of a metric: median (min–max), or the error that stopped it.
func cell(m *metric, server string) string {
	s := summarize(m.Values[server])
	switch {
	case s.N == 0 && m.Errors[server] != "":
		return "error: " + strings.ReplaceAll(truncate(m.Errors[server], 80), "|", "/")
	case s.N == 0:
		return "–"
	case s.N == 1 || s.Min == s.Max:
		return formatValue(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", formatValue(s.Median), formatValue(s.Min), formatValue(s.Max))
}

// winner names who did better, hearth's median against the best Ollama median.
func winner(h summary, best float64, higher bool) string {
	if h.N == 0 || math.IsNaN(best) || best == 0 {
		return "–"
	}
	r := h.Median / best
	switch {
	case math.Abs(r-1) <= 0.03:
		return "tie"
	case (r > 1) == higher:
		return "**hearth**"
	default:
		return "Ollama"
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// firstFloat parses the first field of s (the 1-minute load average); 0 when it does not parse.
func firstFloat(s string) float64 {
	var v float64
	fmt.Sscanf(s, "%g", &v)
	return v
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// loadedBackend finds, in a server's log, the last ggml CPU backend it loaded ("libggml-cpu-skylakex.so"),
// with " + repack" when llama.cpp repacked weights for that backend's GEMM kernels (its load log then
// names a CPU_REPACK buffer).
func loadedBackend(logPath string) string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	const marker = "loaded CPU backend from "
	i := strings.LastIndex(string(b), marker)
	if i < 0 {
		return ""
	}
	line, _, _ := strings.Cut(string(b[i+len(marker):]), "\n")
	name := filepath.Base(strings.TrimSpace(line))
	if strings.Contains(string(b), "CPU_REPACK model buffer") {
		name += " + repack"
	}
	return name
}

// shortCPU drops the marketing words of a CPU model name.
func shortCPU(s string) string {
	for _, w := range []string{"(R)", "(TM)", " CPU", " Processor"} {
		s = strings.ReplaceAll(s, w, "")
	}
	return strings.TrimSpace(s)
}
