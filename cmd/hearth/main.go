// Command hearth is a local inference server that speaks Ollama's API: GGUF models through llama.cpp
// and ONNX models through ONNX Runtime, from one Ollama-compatible model store. It is Ollama's command
// line too (cli.go): every command that is not hearth's own is Ollama's, against the server at OLLAMA_HOST,
// and under the name ollama (a symlink) the binary is Ollama's CLI alone.
//
//	hearth serve                 run the server (configured by OLLAMA_* variables, as Ollama is)
//	hearth models list           list the generated test-model recipes
//	hearth models generate ...   write generated models to a folder
//	hearth version               print hearth's version
//	hearth run|pull|list|...     Ollama's CLI (hearth help lists its commands)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hearthlink/hearth/engine/llama"
)

// version is hearth's own version; the API reports the Ollama version it is compatible with.
var version = "0.1.0-dev"

func main() {
	if isOllamaCommandLine(os.Args) {
		ollamaCLI(os.Args)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hearth:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args)
	case "models":
		return modelsCmd(ctx, args)
	case llama.ProbeCommand: // hidden: the child process in which serve tries a new model file first
		os.Exit(llama.ProbeMain(ctx, args, probeLoaders))
		return nil
	case "version":
		printVersion()
		return nil
	default:
		return fmt.Errorf("unknown command %q (try `hearth help`)", cmd)
	}
}

// printVersion prints hearth's own version (`hearth --version` is Ollama's, which asks the server).
func printVersion() { fmt.Println("hearth", version) }
