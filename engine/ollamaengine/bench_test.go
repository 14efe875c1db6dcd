package ollamaengine

import (
	"context"
	"runtime"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/models/hfmodels"
	"github.com/hearthlink/hearth/registry"
)

// BenchmarkGemma3Decode compares the two engines on the same GGUF, bench-gemma3 (Gemma 3 text, about 75M
// parameters, F16): one greedy request of a short prompt and 64 tokens, reported as prompt and decode
// tokens per second. Run it alone, once: go test ./engine/ollamaengine -run '^$' -bench Gemma3Decode
// -benchtime 1x.
func BenchmarkGemma3Decode(b *testing.B) {
	path, err := hfmodels.Ensure(context.Background(), "", "bench-gemma3")
	if err != nil {
		b.Fatal(err)
	}
	cfg := engine.LoadConfig{NumCtx: 2048, NumBatch: 512, NumThread: runtime.NumCPU(), Parallel: 1}
	m := &registry.Model{ModelPath: path}
	for _, e := range []struct {
		name string
		load func() (engine.Generator, error)
	}{
		{"llama.cpp", func() (engine.Generator, error) {
			r, err := llama.NewBackend("").Load(context.Background(), m, cfg)
			if err != nil {
				return nil, err
			}
			return r.(engine.Generator), nil
		}},
		{"ollamaengine", func() (engine.Generator, error) {
			r, err := (&Backend{All: true}).Load(context.Background(), m, cfg)
			if err != nil {
				return nil, err
			}
			return r.(engine.Generator), nil
		}},
	} {
		b.Run(e.name, func(b *testing.B) {
			g, err := e.load()
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			opts := enginetest.Greedy(64)
			opts.RepeatPenalty = 1
			var prompt, eval float64
			for b.Loop() {
				ch, err := g.Generate(context.Background(), engine.GenerateRequest{Prompt: "The history of the city begins with a small settlement on the river, where traders met to exchange goods and news.", Options: opts})
				if err != nil {
					b.Fatal(err)
				}
				for c := range ch {
					if c.Done {
						prompt += float64(c.PromptEvalCount) / c.PromptEvalDuration.Seconds()
						eval += float64(c.EvalCount-1) / c.EvalDuration.Seconds()
					}
				}
			}
			b.ReportMetric(prompt/float64(b.N), "prompt_tok/s")
			b.ReportMetric(eval/float64(b.N), "decode_tok/s")
		})
	}
}
