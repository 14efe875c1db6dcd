// Package enginetest holds the test helpers every engine's tests share, as net/http/httptest does for
// handlers: greedy options, a Generate run to its end with the Generator's promises checked, the engine
// metrics /metrics reports, and header-only GGUF files. Only _test.go files import it.
package enginetest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hearthlink/hearth/engine"
)

// Greedy returns options for deterministic decoding of n tokens.
func Greedy(n int) api.Options {
	o := api.DefaultOptions()
	o.Temperature = 0
	o.NumPredict = n
	return o
}

// Collect runs a request to the end and returns its text and final chunk. It fails the test when a chunk
// is not valid UTF-8, when the stream ends without a final chunk or when generation fails.
func Collect(t testing.TB, g engine.Generator, ctx context.Context, req engine.GenerateRequest) (string, engine.Chunk) {
	t.Helper()
	ch, err := g.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var last engine.Chunk
	for c := range ch {
		if !utf8.ValidString(c.Text) {
			t.Errorf("chunk %q is not valid UTF-8", c.Text)
		}
		b.WriteString(c.Text)
		last = c
	}
	if !last.Done {
		t.Fatalf("stream ended without a final chunk")
	}
	if last.Err != nil {
		t.Fatalf("generation failed: %v", last.Err)
	}
	return b.String(), last
}

// metric reads the engine metric name as /metrics reports it, over every runner in the test binary.
func metric(t testing.TB, name string) *dto.Metric {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(engine.MetricsCollectors(nil)...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0]
		}
	}
	t.Fatalf("no %s metric", name)
	return nil
}

// Cancellations reads the counters of sequences ended because their request ended: all of them, those
// that had been in a decode step completing after the request ended, and the decode steps stopped in
// flight (hearth_cancelled_sequences_total, hearth_decode_steps_after_cancel_total,
// hearth_aborted_decode_steps_total).
func Cancellations(t testing.TB) (cancelled, afterStep, abortedSteps int) {
	t.Helper()
	count := func(name string) int { return int(metric(t, name).GetCounter().GetValue()) }
	return count("hearth_cancelled_sequences_total"), count("hearth_decode_steps_after_cancel_total"),
		count("hearth_aborted_decode_steps_total")
}

// ReusedTokens reads hearth_prefix_cache_reused_tokens_total: the prompt tokens whose KV came from a slot's
// cache instead of being evaluated.
func ReusedTokens(t testing.TB) int {
	t.Helper()
	return int(metric(t, "hearth_prefix_cache_reused_tokens_total").GetCounter().GetValue())
}

// Preemptions reads hearth_kv_preemptions_total: the sequences preempted because a model's KV pool was
// full.
func Preemptions(t testing.TB) int {
	t.Helper()
	return int(metric(t, "hearth_kv_preemptions_total").GetCounter().GetValue())
}

// MultiSequencePasses reads hearth_batch_sequences: the number of forward passes that advanced more than
// one sequence.
func MultiSequencePasses(t testing.TB) uint64 {
	t.Helper()
	h := metric(t, "hearth_batch_sequences").GetHistogram()
	return h.GetSampleCount() - h.GetBucket()[0].GetCumulativeCount() // the first bucket is le=1
}

// HeaderOnlyGGUF writes a GGUF file with the metadata kv and one small F32 tensor per name, enough for
// the engines' header checks and nothing more, and returns its path.
func HeaderOnlyGGUF(t testing.TB, kv ggml.KV, tensors ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), kv.String("general.architecture", "model")+".gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []*ggml.Tensor
	for _, name := range tensors {
		ts = append(ts, &ggml.Tensor{Name: name, Kind: uint32(ggml.TensorTypeF32), Shape: []uint64{4},
			WriterTo: bytes.NewReader(make([]byte, 16))})
	}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		t.Fatal(err)
	}
	return path
}
