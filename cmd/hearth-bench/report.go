package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// report is the JSON output: everything the Markdown shows, unrounded. The Markdown is rendered from it
// alone (markdown), so `hearth-bench --render results.json` gives the same text again and a test can tell
// a hand edit of BENCHMARKS.md's generated block from the tool's output.
type report struct {
	Date        time.Time     `json:"date"`
	Command     string        `json:"command"`
	Model       string        `json:"model"`
	ModelBytes  int64         `json:"model_bytes"`
	GoModel     string        `json:"go_model"`
	GoBytes     int64         `json:"go_model_bytes"`
	BytesPerTok int64         `json:"bytes_per_token"`
	DecodeLimit float64       `json:"decode_limit_tok_s"`
	Reps        int           `json:"reps"`
	NumCtx      int           `json:"num_ctx"`
	Slots       int           `json:"slots"`
	Only        []string      `json:"only,omitempty"`
	Servers     []string      `json:"servers"`
	System      sysInfo       `json:"system"`
	LoadAvgEnd  string        `json:"load_avg_end"`
	Duration    time.Duration `json:"duration_ns"`
	Metrics     []*metric     `json:"metrics"`
	Seeds       []seedResult  `json:"seeds"`
	Notes       []string      `json:"notes"`
	// Kinds is each server's kind: "hearth" or "ollama".
	Kinds map[string]string `json:"kinds"`
	// Kernels is the ggml CPU backend each server loaded, by server.
	Kernels map[string]string `json:"kernels,omitempty"`
	// Engines is the engine each server ran the Go-engine rows' model on, from its log.
	Engines map[string]string `json:"engines,omitempty"`
	// Quiet is how much of the machine other processes used during the measurements.
	Quiet quietness `json:"quiet"`
	// Firsts counts, per workload, how often each server went first in a repetition.
	Firsts map[string]map[string]int `json:"firsts"`
	// PromptTokens is each server's prompt_eval_count for each prompt-eval measurement ("metric/rep").
	PromptTokens map[string]map[string]int `json:"prompt_tokens"`
	// Complete is false in a partial report: saved mid-run, or of a run cut short.
	Complete bool `json:"complete"`
}

// write saves results.json, results.md and throughput.svg under cfg.Out; final prints the Markdown to
// stdout too and, with --publish, writes it into the file's generated block, while partial reports
// (after each phase, or of a run cut short) are only saved.
func (b *bench) write(final bool) error {
	rep := report{
		Date: time.Now().UTC(), Command: strings.Join(os.Args, " "), Model: recipeFor(b.cfg.Model),
		ModelBytes: b.llmBytes, GoModel: b.goRecipe, GoBytes: b.goBytes, Reps: b.cfg.Reps, NumCtx: b.cfg.NumCtx,
		Slots: b.cfg.Slots, Only: b.cfg.Only, System: b.sys, Duration: time.Since(b.start), Metrics: b.res.list(),
		Seeds: b.seeds, Notes: b.notes, Complete: final, Kinds: map[string]string{}, Kernels: map[string]string{},
		Engines: map[string]string{}, Firsts: b.firsts, PromptTokens: b.promptTokens,
	}
	for _, s := range b.servers {
		rep.Servers = append(rep.Servers, s.spec.Name)
		rep.Kinds[s.spec.Name] = s.spec.Kind
		if k := loadedBackend(s.log.Name()); k != "" {
			rep.Kernels[s.spec.Name] = k
		}
		if e := engineOf(s.log.Name(), s.spec.Kind, b.goName, b.goDigest); e != "" {
			rep.Engines[s.spec.Name] = e
		}
	}
	if b.quiet != nil {
		rep.Quiet = b.quiet.result()
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
	md := markdown(rep, "")
	if err := os.WriteFile(filepath.Join(b.cfg.Out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if !final {
		b.progress("saved a partial report in %s", b.cfg.Out)
		return nil
	}
	b.progress("wrote results.md, results.json and throughput.svg in %s", b.cfg.Out)
	fmt.Print(md)
	if b.cfg.Publish != "" {
		if err := publish(b.cfg.Publish, rep, js, []byte(svg), b.cfg.GoBench); err != nil {
			return err
		}
		b.progress("wrote the results into %s's generated block and %s", b.cfg.Publish, assetDir(b.cfg.Publish))
	}
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

// goal is one target of the issues that ask for speed (14 and 17): a ratio of hearth's median to a
// reference's, or (Ref empty) hearth's own median, against a bound.
type goal struct {
	Metric  string
	Subject string // the hearth server measured
	Ref     string // the reference server divided by; "" for an absolute bound
	Bound   float64
	AtLeast bool // the value must be >= Bound (else <= Bound)
}

// goals lists the targets the report checks; np is the matched reference's name (ollama-npN).
func goals(np string) []goal {
	return []goal{
		{Metric: "decode_tps", Subject: "hearth", Ref: "ollama", Bound: 1.0, AtLeast: true},
		{Metric: "prompt_tps", Subject: "hearth", Ref: "ollama", Bound: 2.5, AtLeast: true},
		{Metric: "agg_tps_c4", Subject: "hearth", Ref: np, Bound: 1.3, AtLeast: true},
		{Metric: "agg_tps_c8", Subject: "hearth", Ref: np, Bound: 1.5, AtLeast: true},
		{Metric: "rss_over_file", Subject: "hearth", Bound: 1.25},
		{Metric: "go_decode_tps", Subject: "hearth-go", Ref: "ollama", Bound: 1.0, AtLeast: true},
		{Metric: "go_prompt_tps", Subject: "hearth-go", Ref: "ollama", Bound: 1.0, AtLeast: true},
		{Metric: "go_agg_tps_c4", Subject: "hearth-go", Ref: np, Bound: 1.3, AtLeast: true},
	}
}

// markdown renders the report as BENCHMARKS.md's generated block; assets is the folder prefix of the
// chart ("" beside results.md, "benchmarks/" in BENCHMARKS.md). It reads nothing but rep.
func markdown(rep report, assets string) string {
	var w strings.Builder
	sys := rep.System
	byID := map[string]*metric{}
	for _, m := range rep.Metrics {
		byID[m.ID] = m
	}
	fmt.Fprintf(&w, "### Results: %s, %s and %s\n\n", rep.Date.Format("2006-01-02 15:04 UTC"), rep.Model, rep.GoModel)
	if !rep.Complete {
		w.WriteString("**Partial report: the run had not finished (or was cut short); missing rows were not measured.**\n\n")
	}
	if quiet, why := rep.Quiet.Quiet(); !quiet {
		fmt.Fprintf(&w, "**Not quiet: %s while this ran — treat the numbers as unreliable.**\n\n", why)
	}
	if short := reducedBy(rep); short != "" {
		fmt.Fprintf(&w, "**Reduced run (%s): not the full comparison `make bench` makes.**\n\n", short)
	}
	fmt.Fprintf(&w, "- Command: `%s`.\n", rep.Command)
	cpu := sys.CPU
	if sys.Family != "" {
		cpu += fmt.Sprintf(" (cpu family %s, model %s)", sys.Family, sys.ModelNumber)
	}
	fmt.Fprintf(&w, "- Machine: %s, %d cores, %.1f GB RAM; AMX: %s; CPU flags: %s.\n", cpu, sys.Cores, sys.MemoryGB,
		yesNo(sys.AMX), strings.Join(sys.Features, " "))
	if ks := perServer(rep, rep.Kernels); ks != "" {
		fmt.Fprintf(&w, "- CPU backend each server loaded (from its log): %s.\n", ks)
	}
	if es := perServer(rep, rep.Engines); es != "" {
		fmt.Fprintf(&w, "- Engine that ran `%s` (from each server's log): %s.\n", rep.GoModel, es)
	}
	fmt.Fprintf(&w, "- Memory bandwidth measured by the bench: %.1f GB/s read, %.1f GB/s copy (read + write).\n", sys.ReadGBs, sys.CopyGBs)
	q := rep.Quiet
	fmt.Fprintf(&w, "- Other processes' CPU use during the measurements (/proc/stat less this process tree's own): %.2f cores on average, at most %.2f over %v; hypervisor steal %.1f%%; load average (1, 5, 15 min) at start %s, at end %s. Quiet means under %.2f cores on average, %.1f at most, %.0f%% steal.\n",
		q.OtherCores, q.PeakOtherCores, quietWindow, q.StealPct, sys.LoadAvg, rep.LoadAvgEnd, quietMeanCores, quietPeakCores, quietStealPct)
	fmt.Fprintf(&w, "- Models: `%s`, %.0f MB; `%s`, %.0f MB; embeddings: `bert-embed` (GGUF, mean pooling). OLLAMA_CONTEXT_LENGTH=%d for every server (each caps it at the model's trained context); hearth runs %d slots.\n",
		rep.Model, float64(rep.ModelBytes)/1e6, rep.GoModel, float64(rep.GoBytes)/1e6, rep.NumCtx, rep.Slots)
	fmt.Fprintf(&w, "- %s\n", rateMethod)
	if pt := promptAgreement(rep.PromptTokens); pt != "" {
		fmt.Fprintf(&w, "- %s\n", pt)
	}
	if rep.DecodeLimit > 0 {
		fmt.Fprintf(&w, "- Physical limit for single-stream decode of `%s`: %.0f MB read per token / %.1f GB/s = **%.1f tok/s**", rep.Model, float64(rep.BytesPerTok)/1e6, sys.ReadGBs, rep.DecodeLimit)
		over := false
		if m := byID["decode_tps"]; m != nil {
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
	fmt.Fprintf(&w, "- Repetitions: %d; %s in all. %s Cells: median (min–max) over repetitions; `[k of n]` marks a cell with fewer values than asked for (a repetition failed: its error follows). Ratio: hearth ÷ server; **winner** compares hearth with the best Ollama configuration measured (tie within 3%%).\n\n",
		rep.Reps, rep.Duration.Round(time.Second), orderLine(rep.Firsts))
	goalTable(&w, rep, byID)
	table(&w, rep)
	if len(rep.Seeds) > 0 {
		w.WriteString("\n#### The seed's own targets (hearth only)\n\n| Target | Measured | Budget | Met | How |\n|---|---|---|---|---|\n")
		for _, s := range rep.Seeds {
			budget, met, val := "–", "–", formatValue(s.Value)+" "+s.Unit
			if s.Target > 0 {
				budget = fmt.Sprintf("≤ %s %s", formatValue(s.Target), s.Unit)
			}
			switch {
			case s.Error != "":
				val = "error: " + strings.ReplaceAll(truncate(s.Error, 80), "|", "/")
				if s.Target > 0 {
					met = "not measured"
				}
			case s.Target > 0:
				met = yesNo(s.Value <= s.Target)
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
	fmt.Fprintf(&w, "\n![Aggregate decode throughput against concurrent clients](%sthroughput.svg)\n", assets)
	return w.String()
}

// reducedBy says how a run was smaller than `make bench`'s full one; "" when it was not.
func reducedBy(rep report) string {
	var why []string
	if rep.Reps < defaultReps {
		why = append(why, fmt.Sprintf("%d repetitions, not %d", rep.Reps, defaultReps))
	}
	if rep.Model != recipeFor("bench") {
		why = append(why, "model "+rep.Model)
	}
	if len(rep.Only) > 0 {
		why = append(why, "only "+strings.Join(rep.Only, ", "))
	}
	return strings.Join(why, "; ")
}

// perServer lists a per-server fact in the servers' order: "hearth `x`, ollama `y`".
func perServer(rep report, facts map[string]string) string {
	var out []string
	for _, name := range rep.Servers {
		if f := facts[name]; f != "" {
			out = append(out, fmt.Sprintf("%s `%s`", name, f))
		}
	}
	return strings.Join(out, ", ")
}

// orderLine says whether every server went first equally often in each workload, and where not, who did how
// often.
func orderLine(firsts map[string]map[string]int) string {
	var uneven []string
	names := slices.Sorted(maps.Keys(firsts))
	for _, w := range names {
		counts := firsts[w]
		servers := slices.Sorted(maps.Keys(counts))
		even := true
		var parts []string
		for _, s := range servers {
			even = even && counts[s] == counts[servers[0]]
			parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
		}
		if !even {
			uneven = append(uneven, fmt.Sprintf("%s (%s)", w, strings.Join(parts, ", ")))
		}
	}
	if len(uneven) == 0 {
		return "The order of the servers rotates every repetition; every server went first equally often in every workload."
	}
	return "The order of the servers rotates every repetition, but the repetitions are not a multiple of the servers in every workload, so who went first is **not balanced** in: " + strings.Join(uneven, "; ") + "."
}

// promptAgreement says whether every server evaluated the same number of prompt tokens for the same
// prompt, the count the prompt-eval rates divide.
func promptAgreement(counts map[string]map[string]int) string {
	var differ []string
	for _, key := range slices.Sorted(maps.Keys(counts)) {
		byServer := counts[key]
		seen := map[int]bool{}
		for _, n := range byServer {
			seen[n] = true
		}
		if len(seen) > 1 {
			var parts []string
			for _, s := range slices.Sorted(maps.Keys(byServer)) {
				parts = append(parts, fmt.Sprintf("%s %d", s, byServer[s]))
			}
			differ = append(differ, fmt.Sprintf("%s: %s", key, strings.Join(parts, ", ")))
		}
	}
	if len(counts) == 0 {
		return ""
	}
	if len(differ) == 0 {
		return "Prompt lengths: every server reported the same prompt_eval_count for the same prompt."
	}
	return "Prompt lengths **differ** between servers (prompt_eval_count per measurement): " + strings.Join(differ, "; ") + "."
}

// goalTable writes the issues' targets with what this run measured.
func goalTable(w *strings.Builder, rep report, byID map[string]*metric) {
	var rows []string
	for _, g := range goals(fmt.Sprintf("ollama-np%d", rep.Slots)) {
		m := byID[g.Metric]
		if m == nil || (len(m.Values) == 0 && len(m.Errors) == 0) {
			continue
		}
		h := summarize(m.Values[g.Subject])
		op := "≤"
		if g.AtLeast {
			op = "≥"
		}
		what, measured, met := m.Label+", "+g.Subject, "not measured", "not measured"
		value, ok := h.Median, h.N > 0
		if g.Ref != "" {
			what = fmt.Sprintf("%s, %s ÷ %s", m.Label, g.Subject, g.Ref)
			r := summarize(m.Values[g.Ref])
			ok = ok && r.N > 0
			if ok {
				value = h.Median / r.Median
			}
		}
		if ok {
			measured = fmt.Sprintf("%.2fx", value)
			if g.Ref == "" {
				measured = formatValue(value) + " " + m.Unit
			}
			met = yesNo(value >= g.Bound == g.AtLeast || value == g.Bound)
			if short := h.N < m.Expected; short {
				met += fmt.Sprintf(" (from %d of %d repetitions)", h.N, m.Expected)
			}
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s %.2f | %s |\n", what, measured, op, g.Bound, met))
	}
	if len(rows) == 0 {
		return
	}
	w.WriteString("#### Goals (issues 14 and 17)\n\n| Goal | Measured (medians) | Target | Met |\n|---|---|---|---|\n")
	for _, r := range rows {
		w.WriteString(r)
	}
	w.WriteString("\n")
}

// table writes the comparison tables: one per hearth server measured (hearth, and hearth-go for the Go-engine
// rows), one row per metric, grouped, with the servers that measured any of its rows.
func table(w *strings.Builder, rep report) {
	var subjects []string
	for _, m := range rep.Metrics {
		if (len(m.Values) > 0 || len(m.Errors) > 0) && !slices.Contains(subjects, m.Subject) {
			subjects = append(subjects, m.Subject)
		}
	}
	for i, subject := range subjects {
		var ms []*metric
		var servers []string
		for _, m := range rep.Metrics {
			if m.Subject != subject || (len(m.Values) == 0 && len(m.Errors) == 0) {
				continue
			}
			ms = append(ms, m)
			for _, s := range rep.Servers {
				if (len(m.Values[s]) > 0 || m.Errors[s] != "") && !slices.Contains(servers, s) {
					servers = append(servers, s)
				}
			}
		}
		slices.SortStableFunc(servers, func(a, b string) int { // the subject first, then the run's order
			return cmpBool(b == subject, a == subject)
		})
		if i > 0 {
			w.WriteString("\n")
		}
		sectionTable(w, rep, subject, servers, ms)
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// sectionTable writes one table: subject's values beside every other server's, and subject ÷ each.
func sectionTable(w *strings.Builder, rep report, subject string, servers []string, ms []*metric) {
	var others []string
	for _, s := range servers {
		if s != subject {
			others = append(others, s)
		}
	}
	w.WriteString("| Workload | Unit |")
	for _, s := range servers {
		fmt.Fprintf(w, " %s |", s)
	}
	for _, o := range others {
		fmt.Fprintf(w, " %s/%s |", subject, o)
	}
	w.WriteString(" Winner |\n|---|---|")
	w.WriteString(strings.Repeat("---|", len(servers)+len(others)+1) + "\n")
	group := ""
	for _, m := range ms {
		if m.Group != group {
			group = m.Group
			fmt.Fprintf(w, "| **%s** |%s\n", group, strings.Repeat(" |", len(servers)+len(others)+2))
		}
		fmt.Fprintf(w, "| %s | %s |", m.Label, m.Unit)
		for _, s := range servers {
			fmt.Fprintf(w, " %s |", cell(m, s))
		}
		h := summarize(m.Values[subject])
		best := math.NaN()
		for _, o := range others {
			ratio := "–"
			if ref := summarize(m.Values[o]); ref.N > 0 && h.N > 0 {
				ratio = fmt.Sprintf("%.2fx", h.Median/ref.Median)
				if rep.Kinds[o] == "ollama" && (math.IsNaN(best) || (m.HigherIsBetter == (ref.Median > best))) {
					best = ref.Median
				}
			}
			fmt.Fprintf(w, " %s |", ratio)
		}
		fmt.Fprintf(w, " %s |\n", winner(h, best, m.HigherIsBetter))
	}
}

// cell formats one server's values of a metric: median (min–max), marked when fewer than expected with
// the error that kept the others from being measured.
func cell(m *metric, server string) string {
	s := summarize(m.Values[server])
	errText := strings.ReplaceAll(truncate(m.Errors[server], 80), "|", "/")
	var out string
	switch {
	case s.N == 0 && errText != "":
		return "error: " + errText
	case s.N == 0:
		return "–"
	case s.N == 1 || s.Min == s.Max:
		out = formatValue(s.Median)
	default:
		out = fmt.Sprintf("%s (%s–%s)", formatValue(s.Median), formatValue(s.Min), formatValue(s.Max))
	}
	if s.N < m.Expected {
		out += fmt.Sprintf(" [%d of %d]", s.N, m.Expected)
		if errText != "" {
			out += " error: " + errText
		}
	}
	return out
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
