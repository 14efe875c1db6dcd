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
	"github.com/hearthlink/hearth/models/hfmodels"
)

// bench is one run: the servers under test, the models they serve and what was measured.
type bench struct {
	cfg     config
	res     *results
	servers []*server
	start   time.Time

	llmName, embedName, goName string
	llmPath, embedPath, goPath string
	llmBytes, goBytes          int64
	goRecipe, goDigest         string

	sys   sysInfo
	seeds []seedResult
	notes []string
	quiet *quietMonitor

	// firsts counts, per workload, how often each server went first in a repetition.
	firsts map[string]map[string]int
	// promptTokens is each server's prompt_eval_count for each prompt-eval measurement ("metric/rep").
	promptTokens map[string]map[string]int

	// current labels the measurement in progress on the progress display.
	current string
}

// run measures everything cfg asks for and writes the report.
func run(ctx context.Context, cfg config) error {
	b := &bench{cfg: cfg, res: newResults(), start: time.Now(), llmName: "bench-chat", embedName: "bench-embed",
		goName: "bench-go", goRecipe: goRecipeFor(cfg.Model),
		firsts: map[string]map[string]int{}, promptTokens: map[string]map[string]int{}}
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
		b.servers = append(b.servers, s)
		imports := [][2]string{{b.goName, b.goPath}}
		if !spec.GoEngine {
			imports = append(imports, [2]string{b.llmName, b.llmPath}, [2]string{b.embedName, b.embedPath})
		}
		for _, im := range imports {
			b.progress("importing %s into %s", filepath.Base(im[1]), spec.Name)
			if err := s.importModel(ctx, im[0], im[1]); err != nil {
				return fmt.Errorf("importing into %s: %w", spec.Name, err)
			}
		}
	}

	for _, s := range b.servers {
		if chatServers(s) {
			b.progress("warming up %s", s.spec.Name)
			if err := b.warmLLM(ctx, s, b.llmName); err != nil {
				return err
			}
		}
	}
	b.quiet = watchQuiet()
	defer b.quiet.close()
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
		if notMatched(s) {
			if _, err := s.embed(ctx, b.embedName, []string{"warm up"}); err != nil {
				b.res.fail("embed_single_p50", s.spec.Name, err)
			}
		}
	}
	if err := b.phase(ctx, "embeddings", b.embedWorkloads()); err != nil {
		return err
	}
	if b.selected("memory") {
		for _, s := range b.servers {
			if notMatched(s) { // the matched Ollama never loads the embedding model
				b.current = fmt.Sprintf("%-27s %-11s", "memory", s.spec.Name)
				if rss, err := s.rss(); err != nil {
					b.res.fail("rss_all_mb", s.spec.Name, err)
				} else {
					_ = b.record(s, "rss_all_mb", float64(rss)/1e6, "MB")
				}
			}
		}
	}
	// After the memory rows, which the Go-engine model would add to.
	if slices.ContainsFunc(b.goWorkloads(), func(w workload) bool { return b.selected(w.Name) }) {
		for _, s := range b.servers {
			b.progress("warming up %s on %s", s.spec.Name, b.goRecipe)
			if err := b.warmLLM(ctx, s, b.goName); err != nil {
				return err
			}
		}
		if err := b.phase(ctx, "Go engine ("+b.goRecipe+")", b.goWorkloads()); err != nil {
			return err
		}
	}
	if err := b.phase(ctx, "server routes", b.serverWorkloads()); err != nil {
		return err
	}
	if b.selected("seeds") {
		b.seeds = b.measureSeeds(ctx)
	}
	return ctx.Err()
}

// specs lists the servers to start: hearth, hearth-go (hearth with OLLAMA_NEW_ENGINE=1, for the Go-engine
// rows), the reference Ollama at its default and with OLLAMA_NUM_PARALLEL matched to hearth's slots, and
// with --amx-reference the reference built with the AMX variant beside it.
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
		{Name: "hearth-go", Kind: "hearth", Bin: c.HearthBin, Parallel: c.Slots, NumCtx: c.NumCtx, GoEngine: true},
		{Name: "ollama", Kind: "ollama", Bin: c.OllamaBin, LibDir: lib(c.OllamaBin), NumCtx: c.NumCtx},
		{Name: fmt.Sprintf("ollama-np%d", c.Slots), Kind: "ollama", Bin: c.OllamaBin, LibDir: lib(c.OllamaBin), Parallel: c.Slots, NumCtx: c.NumCtx, Matched: true},
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
	b.progress("generating %s, %s and bert-embed if not cached (bench-llama: 1–3 minutes the first time)", recipe, b.goRecipe)
	var err error
	if b.llmPath, err = models.Ensure(ctx, "", recipe); err != nil {
		return err
	}
	if b.embedPath, err = models.Ensure(ctx, "", "bert-embed"); err != nil {
		return err
	}
	if b.goPath, err = hfmodels.Ensure(ctx, "", b.goRecipe); err != nil {
		return err
	}
	if b.goDigest, err = fileDigest(b.goPath); err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		size *int64
	}{{b.llmPath, &b.llmBytes}, {b.goPath, &b.goBytes}} {
		info, err := os.Stat(f.path)
		if err != nil {
			return err
		}
		*f.size = info.Size()
	}
	return nil
}

// warmLLM loads model and runs two short completions, so first-use costs stay out of the measurements.
func (b *bench) warmLLM(ctx context.Context, s *server, model string) error {
	for i := range 2 {
		_, err := s.generate(ctx, &api.GenerateRequest{Model: model, Raw: true,
			Prompt: fmt.Sprintf("Warm up %d: %s", i, text(uint64(i), 16)), Options: sampling(8)})
		if err != nil {
			return fmt.Errorf("warming up %s: %w", s.spec.Name, err)
		}
	}
	return nil
}

// selected reports whether --only lets workload name run.
func (b *bench) selected(name string) bool {
	return len(b.cfg.Only) == 0 || slices.Contains(b.cfg.Only, name)
}

// phase runs each workload for every repetition against every server it applies to. The order rotates
// over the workload's own servers every repetition, so with repetitions a multiple of their number each
// goes first (and last) equally often and none always runs on a cooler (or warmer) machine; the report
// counts who went first and says when it was not balanced.
func (b *bench) phase(ctx context.Context, name string, ws []workload) error {
	b.progress("— %s —", name)
	for rep := range b.cfg.Reps {
		for _, w := range ws {
			if !b.selected(w.Name) {
				continue
			}
			var on []*server
			for _, s := range b.servers {
				if w.On(s) {
					on = append(on, s)
				}
			}
			if len(on) == 0 {
				continue
			}
			k := rep % len(on)
			order := append(slices.Clone(on[k:]), on[:k]...)
			if b.firsts[w.Name] == nil {
				b.firsts[w.Name] = map[string]int{}
				for _, s := range on {
					b.firsts[w.Name][s.spec.Name] = 0
				}
			}
			b.firsts[w.Name][order[0].spec.Name]++
			for _, s := range order {
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

// record adds a value and prints it on the progress display; a value that is no measurement (0, NaN) is
// recorded as the failure it is, and returned as an error.
func (b *bench) record(s *server, id string, v float64, unit string) error {
	if err := b.res.add(id, s.spec.Name, v); err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	b.progress("%s %-18s %8s %s", b.current, id, formatValue(v), unit)
	return nil
}

// notePromptTokens keeps the prompt length a server reported for a prompt-eval measurement, so the report
// can say whether every server evaluated the same number of tokens.
func (b *bench) notePromptTokens(id string, rep int, s *server, n int) {
	key := fmt.Sprintf("%s/%d", id, rep)
	if b.promptTokens[key] == nil {
		b.promptTokens[key] = map[string]int{}
	}
	b.promptTokens[key][s.spec.Name] = n
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
