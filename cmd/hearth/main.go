// Command hearth is a local inference server that speaks Ollama's API: GGUF models through llama.cpp
// and ONNX models through ONNX Runtime, from one Ollama-compatible model store.
//
//	hearth serve                 run the server (configured by OLLAMA_* variables, as Ollama is)
//	hearth models list           list the generated test-model recipes
//	hearth models generate ...   write generated models to a folder
//	hearth version               print hearth's version
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
	case "version", "--version", "-v":
		fmt.Println("hearth", version)
		return nil
	case "help", "--help", "-h":
		fmt.Println("usage: hearth [serve | models list | models generate [-out DIR] [NAME...] | version]")
		return nil
	default:
		return fmt.Errorf("unknown command %q (try `hearth help`)", cmd)
	}
}
