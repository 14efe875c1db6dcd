package onnx

import (
	"context"
	"testing"
	"time"
)

func BenchmarkTuneEmbedOne(b *testing.B) {
	for _, o := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"nowindow", Options{BatchWindow: -1}},
		{"spin-nowindow", Options{BatchWindow: -1, Spin: true}},
		{"t1-nowindow", Options{BatchWindow: -1, Threads: 1}},
		{"window200us", Options{BatchWindow: 200 * time.Microsecond}},
	} {
		b.Run(o.name, func(b *testing.B) {
			m := testLoad(b, "minilm-onnx", o.opts)
			benchLatency(b, func() error {
				_, _, err := m.Embed(context.Background(), []string{"why is the sky blue?"}, true)
				return err
			})
		})
	}
}

func BenchmarkTuneBatch(b *testing.B) {
	for _, o := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"spin", Options{Spin: true}},
		{"t1", Options{Threads: 1}},
		{"mb8", Options{MaxBatch: 8}},
	} {
		b.Run(o.name, func(b *testing.B) {
			m := testLoad(b, "minilm-onnx", o.opts)
			inputs := sentences(32)
			benchThroughput(b, len(inputs), func() error {
				_, _, err := m.Embed(context.Background(), inputs, true)
				return err
			})
		})
	}
}
