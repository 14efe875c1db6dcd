package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/models"
)

// bench is one run: the servers under test, the models they serve and what was measured.
type bench struct {
	cfg     config
	res     *results
	servers []*server
	start   time.Time

	llmName, embedName string
	llmPath, embedPath string
	llmBytes           int64

	sys   sysInfo
	seeds []seedResult
	notes []string

	// current labels the measurement in progress on the progress display.
	current string
}

// run measures everything cfg asks for and writes the report.
func run(ctx context.Context, cfg config) error {
	b := &bench{cfg: cfg, res: newResults(), start: time.Now(), llmName: "bench-chat", embedName: "bench-embed"}
	b.defineMetrics()
	specs, err := b.specs()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Out, "logs"), 0o755); err != nil {
		return err
	}

	b.progress("measuring memory bandwidth")
	b.sys = measureSystem()
	b.progress("%s, %d cores, %.1f GB/s read, %.1f GB/s copy", b.sys.CPU, b.sys.Cores, b.sys.ReadGBs, b.sys.CopyGBs)
	if err := b.ensureModels(ctx); err != nil {
		return err
	}

	defer func() {
		for _, s := range b.servers {
			s.stop()
		}
	}()
	for _, spec := range specs {
		if len(cfg.Servers) > 0 && !slices.Contains(cfg.Servers, spec.Name) {
			continue
		}
		b.progress("starting %s (%s)", spec.Name, spec.Bin)
		s, err := startServer(ctx, spec, cfg.WorkDir, filepath.Join(cfg.Out, "logs"))
		if err != nil {
			return err
		}
		s.matched = spec.Kind == "ollama" && spec.Parallel > 0
		b.servers = append(b.servers, s)
		b.progress("importing %s and %s into %s", filepath.Base(b.llmPath), filepath.Base(b.embedPath), spec.Name)
		if err := s.importModel(ctx, b.llmName, b.llmPath); err != nil {
			return fmt.Errorf("importing into %s: %w", spec.Name, err)
		}
		if err := s.importModel(ctx, b.embedName, b.embedPath); err != nil {
			return fmt.Errorf("importing into %s: %w", spec.Name, err)
		}
	}

	for _, s := range b.servers {
		b.progress("warming up %s", s.spec.Name)
		if err := b.warmLLM(ctx, s); err != nil {
			return err
		}
	}
	if err := b.measure(ctx); err != nil {
		// Keep what was measured: an interrupted or failed run still leaves a (marked) report.
		b.note("The run stopped early (%v): rows measured after that point are missing.", err)
		if werr := b.write(false); werr != nil {
			return errors.Join(err, werr)
		}
		return err
	}
	return b.write(true)
}

// measure runs the phases: the chat model's workloads, the embedding workloads, the model-management
// routes, then hearth's seed targets. It saves a partial report after each phase.
func (b *bench) measure(ctx context.Context) error {
	if err := b.phase(ctx, "chat model", b.llmWorkloads()); err != nil {
		return err
	}
	if err := b.write(false); err != nil {
		return err
	}
	for _, s := range b.servers {
		if !s.matched {
			if _, err := s.embed(ctx, b.embedName, []string{"warm up"}); err != nil {
				b.res.fail("embed_single_p50", s.spec.Name, err)
			}
		}
	}
	if err := b.phase(ctx, "embeddings", b.embedWorkloads()); err != nil {
		return err
	}
	for _, s := range b.servers {
		if !s.matched { // the matched Ollama never loads the embedding model
			b.current = fmt.Sprintf("%-27s %-11s", "memory", s.spec.Name)
			b.record(s, "rss_all_mb", float64(s.rss())/1e6, "MB")
		}
	}
	if err := b.phase(ctx, "server routes", b.serverWorkloads()); err != nil {
		return err
	}
	if len(b.cfg.Only) == 0 || slices.Contains(b.cfg.Only, "seeds") {
		b.seeds = b.measureSeeds(ctx)
	}
	return ctx.Err()
}

// specs lists the servers to start: hearth, the reference Ollama at its default and with
// OLLAMA_NUM_PARALLEL matched to hearth's slots, and with --amx-reference the reference built with the
// AMX variant beside it.
func (b *bench) specs() ([]serverSpec, error) {
	c := &b.cfg
	for _, bin := range []*string{&c.HearthBin, &c.OllamaBin, &c.OllamaAMXBin} {
		abs, err := filepath.Abs(*bin) // the servers run in their own folders
		if err != nil {
			return nil, err
		}
		*bin = abs
	}
	for _, bin := range []string{c.HearthBin, c.OllamaBin} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("%w (build hearth with `make build` and the reference with `bash scripts/bootstrap.sh ollama-cli`)", err)
		}
	}
	lib := func(bin string) string { return filepath.Join(filepath.Dir(bin), "..", "lib", "ollama") }
	specs := []serverSpec{
		{Name: "hearth", Kind: "hearth", Bin: c.HearthBin, Parallel: c.Slots, NumCtx: c.NumCtx},
		{Name: "ollama", Kind: "ollama", Bin: c.OllamaBin, LibDir: lib(c.OllamaBin), NumCtx: c.NumCtx},
		{Name: fmt.Sprintf("ollama-np%d", c.Slots), Kind: "ollama", Bin: c.OllamaBin, LibDir: lib(c.OllamaBin), Parallel: c.Slots, NumCtx: c.NumCtx},
	}
	if c.AMXReference {
		if _, err := os.Stat(c.OllamaAMXBin); err != nil {
			return nil, fmt.Errorf("--amx-reference: %w (run `bash scripts/bootstrap.sh ollama-cli`)", err)
		}
		specs = append(specs, serverSpec{Name: "ollama-amx", Kind: "ollama", Bin: c.OllamaAMXBin, LibDir: lib(c.OllamaAMXBin), NumCtx: c.NumCtx})
		if !b.sys.AMX && !cpuHasAMX() {
			b.note("--amx-reference: this CPU has no AMX, so the AMX variant never loads and ollama-amx runs the same kernels as ollama.")
		}
	}
	return specs, nil
}

// ensureModels generates (or finds cached) the chat and embedding models.
func (b *bench) ensureModels(ctx context.Context) error {
	recipe := recipeFor(b.cfg.Model)
	b.progress("generating %s and bert-embed if not cached (bench-llama: 1–3 minutes the first time)", recipe)
	var err error
	if b.llmPath, err = models.Ensure(ctx, "", recipe); err != nil {
		return err
	}
	if b.embedPath, err = models.Ensure(ctx, "", "bert-embed"); err != nil {
		return err
	}
	info, err := os.Stat(b.llmPath)
	if err != nil {
		return err
	}
	b.llmBytes = info.Size()
	return nil
}

// warmLLM loads the chat model and runs two short completions, so first-use costs stay out of the
// measurements.
func (b *bench) warmLLM(ctx context.Context, s *server) error {
	for i := range 2 {
		_, err := s.generate(ctx, &api.GenerateRequest{Model: b.llmName, Raw: true,
			Prompt: fmt.Sprintf("Warm up %d: %s", i, text(uint64(i), 16)), Options: greedy(8)})
		if err != nil {
			return fmt.Errorf("warming up %s: %w", s.spec.Name, err)
		}
	}
	return nil
}

// phase runs each workload for every repetition against every server it applies to, rotating which
// server goes first each repetition so neither always runs on a cooler (or warmer) machine.
func (b *bench) phase(ctx context.Context, name string, ws []workload) error {
	b.progress("— %s —", name)
	for rep := range b.cfg.Reps {
		order := append(b.servers[rep%len(b.servers):], b.servers[:rep%len(b.servers)]...)
		for _, w := range ws {
			if len(b.cfg.Only) > 0 && !slices.Contains(b.cfg.Only, w.Name) {
				continue
			}
			for _, s := range order {
				if !w.On(s) {
					continue
				}
				b.current = fmt.Sprintf("rep %d/%d %-17s %-11s", rep+1, b.cfg.Reps, w.Name, s.spec.Name)
				if err := w.Run(b, ctx, s, rep); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					b.progress("%s error: %v", b.current, err)
				}
			}
		}
		if rep+1 < b.cfg.Reps {
			if err := b.write(false); err != nil { // a long run cut short keeps its finished repetitions
				return err
			}
		}
	}
	return nil
}

// record adds a value and prints it on the progress display.
func (b *bench) record(s *server, id string, v float64, unit string) {
	b.res.add(id, s.spec.Name, v)
	b.progress("%s %-18s %8s %s", b.current, id, formatValue(v), unit)
}

// fail records err against every metric in ids for s and returns it.
func (b *bench) fail(err error, s *server, ids ...string) error {
	for _, id := range ids {
		b.res.fail(id, s.spec.Name, err)
	}
	return err
}

// note adds a remark to the report.
func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

// progress prints one line to stderr, prefixed with the time since the run began.
func (b *bench) progress(format string, args ...any) {
	el := time.Since(b.start).Round(time.Second)
	fmt.Fprintf(os.Stderr, "[%6s] %s\n", el, strings.TrimRight(fmt.Sprintf(format, args...), " "))
}
