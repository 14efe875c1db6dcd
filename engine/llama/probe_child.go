package llama

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/registry"
)

// ProbeCommand is the hidden hearth subcommand that runs a probe's child side (ProbeMain). It is not for
// people: ProcessProber writes its arguments.
const ProbeCommand = "internal-probe-load"

// probeErrorPrefix starts the line on which a probe child reports a load that failed without a crash,
// so the parent can tell the child's message from llama.cpp's log.
const probeErrorPrefix = "probe-error: "

// ProbeLoader loads a model the way one engine's Backend.Load does, with ggml's backends from
// libraryPath, and closes it.
type ProbeLoader func(ctx context.Context, libraryPath string, m *registry.Model, cfg engine.LoadConfig) error

// EngineNames are the engines a probe can try files in besides llama.cpp, by the name ProbeRequest.Engine
// and ProbeMain's loaders use, with the name their errors give them.
var EngineNames = map[string]string{"ollamaengine": "Ollama's Go engine"}

// ProbeMain is a probe child's whole life: it loads the model its arguments name the way the engine's
// Backend.Load does (llama.cpp's: weights, vocabulary, context, adapters; another engine's through
// loaders), closes it, and returns the exit code: 0 when the model loaded, 1 with the reason on stderr
// when it did not. A file that crashes the engine ends the process before ProbeMain returns, which is the
// point.
func ProbeMain(ctx context.Context, args []string, loaders map[string]ProbeLoader) int {
	if err := runProbe(ctx, args, loaders); err != nil {
		fmt.Fprintln(os.Stderr, probeErrorPrefix+err.Error())
		return 1
	}
	return 0
}

// runProbe parses the arguments ProcessProber.runChild writes and loads the model.
func runProbe(ctx context.Context, args []string, loaders map[string]ProbeLoader) error {
	fs := flag.NewFlagSet(ProbeCommand, flag.ContinueOnError)
	lib := fs.String("library", "", "folders holding ggml's backends")
	engineName := fs.String("engine", "", "the engine to load with (\"\": llama.cpp)")
	var cfg engine.LoadConfig
	fs.IntVar(&cfg.NumCtx, "ctx", probeNumCtx, "context per sequence")
	fs.IntVar(&cfg.NumBatch, "batch", probeNumCtx, "batch size")
	fs.IntVar(&cfg.Parallel, "parallel", 1, "sequences")
	fs.IntVar(&cfg.UseMMap, "mmap", 0, "map the weights: 0 automatic, 1 on, -1 off")
	fs.StringVar(&cfg.KVCacheType, "kv", "", "KV cache type")
	fs.BoolVar(&cfg.FlashAttention, "fa", false, "flash attention")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return fmt.Errorf("usage: hearth %s [flags] -- MODEL [ADAPTER...]", ProbeCommand)
	}
	// One thread: the probe builds the model and its graph, it computes nothing.
	cfg.NumThread = 1
	m := &registry.Model{ModelPath: fs.Arg(0), AdapterPaths: fs.Args()[1:]}
	if *engineName != "" {
		load, ok := loaders[*engineName]
		if !ok {
			return fmt.Errorf("no loader for engine %q", *engineName)
		}
		return load(ctx, *lib, m, cfg)
	}
	b := &Backend{LibraryPath: *lib}
	r, err := b.Load(ctx, m, cfg)
	if err != nil {
		return err
	}
	return r.Close()
}
