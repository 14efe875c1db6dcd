package main

import (
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/engine/ollamaengine"
)

// probeLoaders are the engines besides llama.cpp whose first loads a probe child tries.
var probeLoaders = map[string]llama.ProbeLoader{ollamaengine.EngineName: ollamaengine.ProbeLoad}

// newProber returns the prober that tries each new GGUF file in a child `hearth internal-probe-load`
// before the server loads it, keeping verdicts under cacheDir/probes. Without a path to this executable
// there is no child to start, and models load directly, as before.
func newProber(libPath, cacheDir string) llama.Prober {
	exe, err := os.Executable()
	if err != nil {
		slog.Warn("model files will load without a trial in a child process", "error", err)
		return nil
	}
	return llama.NewProcessProber(exe, libPath, filepath.Join(cacheDir, "probes"), slog.Default())
}
