package engine

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of the engine's settings (Ollama's, or hearth's where noted). This is the one place they are
// written: hearth serve's configuration starts from them, and the Scheduler and Pipeline take the values
// they are given.
const (
	DefaultKeepAlive       = 5 * time.Minute
	DefaultMaxLoadedModels = 3
	DefaultMaxQueue        = 512
	DefaultNumCtx          = 4096
	DefaultLoadTimeout     = 5 * time.Minute
	// DefaultParallel is the number of sequences decoded together per model (continuous batching); Ollama's
	// default is 1. Measured in process with the bench-llama model on the 2-core machine of BENCHMARKS.md
	// (engine/llama BenchmarkDecodeAggregate), 1 / 2 / 4 / 8 slots decode 13.0 / 14.3 / 23.4 / 24.4 tokens/s
	// in all: 4 is where the aggregate stops growing, and 8 adds 4% for twice the KV memory. Over HTTP with 4
	// clients, each new request starts within about 1.6 s instead of queueing behind the others, while each
	// stream decodes slower than a lone one would.
	DefaultParallel = 4
)

// DefaultMemoryLimit is the memory loaded models may use together by default: 90% of the machine's.
func DefaultMemoryLimit() int64 { return systemMemory() / 10 * 9 }

// DefaultConfig returns the Scheduler's settings at their defaults, without backends.
func DefaultConfig() Config {
	return Config{
		MaxLoadedModels: DefaultMaxLoadedModels,
		MaxQueue:        DefaultMaxQueue,
		MemoryLimit:     DefaultMemoryLimit(),
		LoadTimeout:     DefaultLoadTimeout,
	}
}

// DefaultPipelineConfig returns the Pipeline's settings at their defaults.
func DefaultPipelineConfig() PipelineConfig {
	return PipelineConfig{KeepAlive: DefaultKeepAlive, NumParallel: DefaultParallel, NumCtx: DefaultNumCtx}
}

// systemMemory reads MemTotal from /proc/meminfo; 16 GiB when it cannot.
func systemMemory() int64 {
	const fallback = 16 << 30
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return fallback
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return fallback
}
