package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	ollamacmd "github.com/ollama/ollama/cmd"
	ollamaversion "github.com/ollama/ollama/version"

	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/handlers"
)

// ollamaName is the program name under which the binary is Ollama's CLI and nothing else, so that
// `ln -s hearth ollama` replaces Ollama for the scripts and tools that call it by name.
const ollamaName = "ollama"

// ownCommands are hearth's own subcommands; every other command line is Ollama's. serve is here so that
// `hearth serve` keeps hearth's flag-free behaviour (and Ollama's `serve` runs the same server anyway).
var ownCommands = map[string]bool{
	"serve":            true,
	"models":           true,
	"version":          true,
	llama.ProbeCommand: true,
}

// isOllamaCommandLine reports whether argv goes to Ollama's CLI: under the name ollama always, under any
// other name when the first argument is not one of hearth's own commands. A bare `hearth` still serves,
// as it always has (the container image and the systemd unit start it that way), and `hearth serve` with
// arguments (`serve --help`) is Ollama's serve, which runs the same server. The probe child is hearth's
// under any name: the server starts it from its own executable, which may have been copied to ollama.
func isOllamaCommandLine(argv []string) bool {
	if len(argv) > 1 && argv[1] == llama.ProbeCommand {
		return false
	}
	if len(argv) == 0 {
		return false
	}
	if strings.TrimSuffix(filepath.Base(argv[0]), ".exe") == ollamaName {
		return true
	}
	if len(argv) > 2 && argv[1] == "serve" {
		return true
	}
	return len(argv) > 1 && !ownCommands[argv[1]]
}

// ollamaCLI runs Ollama's own command line (github.com/ollama/ollama/cmd) with args and exits as Ollama's
// main does: "Error: ..." on stderr and status 1 on failure. Its serve command runs hearth's server.
//
// The CLI gets a plain context, as in Ollama's main: `run` handles SIGINT itself (it cancels the answer
// being generated and keeps the session), which a context cancelled on the first signal would break.
func ollamaCLI(argv []string) {
	// The version the CLI compares with the server's, as Ollama's release build sets it by -ldflags:
	// without it `--version` warns that the client is 0.0.0.
	ollamaversion.Version = handlers.OllamaVersion
	root := ollamaCLICommand(filepath.Base(argv[0]) == ollamaName)
	root.SetArgs(argv[1:])
	cobra.CheckErr(root.ExecuteContext(context.Background()))
}

// ollamaCLICommand returns Ollama's command tree with serve running hearth's server. Under hearth's own
// name the tree also lists hearth's models command and is named hearth in help; under ollama it is
// Ollama's tree unchanged apart from what serve runs.
func ollamaCLICommand(asOllama bool) *cobra.Command {
	root := ollamacmd.NewCLI()
	for _, c := range root.Commands() {
		if c.Name() == "serve" {
			c.RunE = func(c *cobra.Command, args []string) error {
				ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return serve(ctx, args)
			}
			if !asOllama {
				c.Short = "Start hearth"
			}
		}
	}
	if asOllama {
		return root
	}
	root.Use = "hearth"
	root.Short = "Local inference server that speaks Ollama's API, and Ollama's command line"
	root.AddCommand(&cobra.Command{
		Use:                "models",
		Short:              "List or generate hearth's test models (models list | models generate [-out DIR] [NAME...])",
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			return modelsCmd(c.Context(), args)
		},
	}, &cobra.Command{
		Use:   "version",
		Short: "Print hearth's own version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			printVersion()
		},
	})
	return root
}
