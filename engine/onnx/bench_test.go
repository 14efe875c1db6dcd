package onnx

import (
	"context"
	"slices"
	"testing"
	"time"
)

// benchLatency runs one call per iteration and reports its p50 and p95 in milliseconds.
func benchLatency(b *testing.B, call func() error) {
	if err := call(); err != nil { // warm-up: ONNX Runtime plans on the first run
		b.Fatal(err)
	}
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	ms := func(q float64) float64 {
		return float64(times[min(int(q*float64(len(times))), len(times)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
}

// BenchmarkEmbedOne is one short input to the MiniLM-shaped encoder, end to end through the batcher.
func BenchmarkEmbedOne(b *testing.B) {
	m := testLoad(b, "minilm-onnx", Options{})
	benchLatency(b, func() error {
		_, _, err := m.Embed(context.Background(), []string{"why is the sky blue?"}, true)
		return err
	})
}

// BenchmarkClassifyOne is one short input to the TinyBERT-shaped classifier.
func BenchmarkClassifyOne(b *testing.B) {
	m := testLoad(b, "tinybert-cls-onnx", Options{})
	benchLatency(b, func() error {
		_, _, err := m.Classify(context.Background(), []string{"the service was terrible"}, true)
		return err
	})
}

// BenchmarkEmbedBatch32 embeds 32 short inputs per call and reports inputs per second.
func BenchmarkEmbedBatch32(b *testing.B) {
	m := testLoad(b, "minilm-onnx", Options{})
	inputs := sentences(32)
	benchThroughput(b, len(inputs), func() error {
		_, _, err := m.Embed(context.Background(), inputs, true)
		return err
	})
}

// BenchmarkClassifyBatch32 classifies 32 short inputs per call and reports inputs per second.
func BenchmarkClassifyBatch32(b *testing.B) {
	m := testLoad(b, "tinybert-cls-onnx", Options{})
	inputs := sentences(32)
	benchThroughput(b, len(inputs), func() error {
		_, _, err := m.Classify(context.Background(), inputs, true)
		return err
	})
}

// benchThroughput runs call (n inputs each) and reports inputs per second.
func benchThroughput(b *testing.B, n int, call func() error) {
	if err := call(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for b.Loop() {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "inputs/s")
}
