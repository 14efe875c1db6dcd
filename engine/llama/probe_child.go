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

// ProbeMain is a probe child's whole life: it loads the model its arguments name the way Backend.Load
// does (weights, vocabulary, context, adapters), closes it, and returns the exit code: 0 when the model
// loaded, 1 with the reason on stderr when it did not. A file that crashes llama.cpp ends the process
// before ProbeMain returns, which is the point.
func ProbeMain(ctx context.Context, args []string) int {
	if err := runProbe(ctx, args); err != nil {
		fmt.Fprintln(os.Stderr, probeErrorPrefix+err.Error())
		return 1
	}
	return 0
}

// runProbe parses the arguments ProcessProber.runChild writes and loads the model.
func runProbe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet(ProbeCommand, flag.ContinueOnError)
	lib := fs.String("library", "", "folders holding ggml's backends")
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
	b := &Backend{LibraryPath: *lib}
	r, err := b.Load(ctx, &registry.Model{ModelPath: fs.Arg(0), AdapterPaths: fs.Args()[1:]}, cfg)
	if err != nil {
		return err
	}
	return r.Close()
}
