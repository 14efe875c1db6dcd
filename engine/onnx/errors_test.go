package onnx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/onnxspec"
)

func TestBatchingCutsModelCalls(t *testing.T) {
	m := testLoad(t, "minilm-onnx", Options{})
	ctx := context.Background()
	before := m.calls.Load()
	if _, _, err := m.Embed(ctx, sentences(64), true); err != nil {
		t.Fatal(err)
	}
	if calls := m.calls.Load() - before; calls > 4 {
		t.Errorf("64 short inputs took %d model calls, want at most 4", calls)
	}

	// 16 concurrent single-input requests share calls too.
	before = m.calls.Load()
	done := make(chan error)
	for _, in := range sentences(16) {
		go func() {
			_, _, err := m.Embed(ctx, []string{in}, true)
			done <- err
		}()
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if calls := m.calls.Load() - before; calls >= 16 {
		t.Errorf("16 concurrent requests took %d model calls, want fewer", calls)
	}
}

func TestInputErrors(t *testing.T) {
	m := testLoad(t, "minilm-onnx", Options{})
	ctx := context.Background()
	long := strings.Repeat("word ", 300)
	if _, _, err := m.Embed(ctx, []string{"short", long}, false); !errors.Is(err, engine.ErrInputTooLong) {
		t.Errorf("too long with truncate off: %v", err)
	} else if err.Error() != "the input length exceeds the context length" {
		t.Errorf("message %q", err)
	}
	v, tokens, err := m.Embed(ctx, []string{long}, true)
	if err != nil || len(v) != 1 || tokens != 256 {
		t.Errorf("too long with truncation: %d vectors, %d tokens, %v; want 1 of 256 tokens", len(v), tokens, err)
	}
	// An empty string is [CLS] [SEP]: a vector, as sentence-transformers gives.
	if v, _, err := m.Embed(ctx, []string{""}, true); err != nil || len(v) != 1 {
		t.Errorf("empty string: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := m.Embed(canceled, []string{"x"}, true); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled request: %v", err)
	}
	// The model still serves after every failure above.
	if _, _, err := m.Embed(ctx, []string{"still here"}, true); err != nil {
		t.Errorf("after the errors: %v", err)
	}
}

func TestClosedModel(t *testing.T) {
	testInit(t)
	m, err := LoadDir(testModelDir(t, "minilm-onnx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := m.Embed(context.Background(), []string{"x"}, true); !errors.Is(err, ErrModelClosed) {
		t.Errorf("Embed after Close: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	testInit(t)
	write := func(dir, name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.Remove(p)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		model string
		skip  []string
		edit  func(dir string)
		want  string
	}{
		{name: "corrupt graph", model: "minilm-onnx", edit: func(d string) { write(d, "model.onnx", "not a protobuf at all") }, want: "corrupt or unsupported ONNX file"},
		{name: "truncated graph", model: "tinybert-cls-onnx", edit: func(d string) {
			data, err := os.ReadFile(filepath.Join(d, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			write(d, "model.onnx", string(data[:len(data)/2]))
		}, want: "corrupt or unsupported ONNX file"},
		{name: "no graph", model: "minilm-onnx", skip: []string{"model.onnx"}, want: "no .onnx file"},
		{name: "no tokenizer", model: "minilm-onnx", skip: []string{"tokenizer.json", "vocab.txt"}, want: "has no tokenizer"},
		{name: "tokenizer not JSON", model: "minilm-onnx", edit: func(d string) { write(d, "tokenizer.json", "{oops") }, want: "tokenizer.json is not valid JSON"},
		{name: "tokenizer without model", model: "minilm-onnx", edit: func(d string) { write(d, "tokenizer.json", `{"version":"1.0"}`) }, want: "tokenizer.json has no model section"},
		{name: "tokenizer of wrong shape", model: "minilm-onnx", edit: func(d string) { write(d, "tokenizer.json", `{"model":{"type":7}}`) }, want: "tokenizer.json could not be read"},
		{name: "unknown task", model: "minilm-onnx", edit: func(d string) { write(d, onnxspec.ConfigFile, `{"task":"dance"}`) }, want: `unknown task "dance"`},
		{name: "unknown pooling", model: "minilm-onnx", edit: func(d string) { write(d, onnxspec.ConfigFile, `{"task":"embedding","pooling":"max"}`) }, want: `unknown pooling "max"`},
		{name: "missing output", model: "minilm-onnx", edit: func(d string) { write(d, onnxspec.ConfigFile, `{"task":"embedding","output":"pooler_output"}`) }, want: `no float output "pooler_output"`},
		{name: "classifier without labels", model: "tinybert-cls-onnx", edit: func(d string) { write(d, "config.json", `{"architectures":["BertForSequenceClassification"]}`) }, want: "has no id2label"},
		{name: "bad config.json", model: "tinybert-cls-onnx", edit: func(d string) { write(d, "config.json", `[`) }, want: "config.json is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyModel(t, tc.model, tc.skip...)
			if tc.edit != nil {
				tc.edit(dir)
			}
			m, err := LoadDir(dir, Options{})
			if err == nil {
				m.Close()
				t.Fatalf("loaded; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestVocabOnlyAndInferredConfig(t *testing.T) {
	testInit(t)
	// No tokenizer.json and no hearth.json: vocab.txt and config.json's architecture describe the model.
	dir := copyModel(t, "minilm-onnx", "tokenizer.json", onnxspec.ConfigFile)
	m, err := LoadDir(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.ContextLength() != 512 {
		t.Errorf("context length %d, want tokenizer_config.json's 512", m.ContextLength())
	}
	ref := testLoad(t, "minilm-onnx", Options{})
	got, _, err := m.Embed(context.Background(), []string{"hello world"}, true)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := ref.Embed(context.Background(), []string{"hello world"}, true)
	if err != nil {
		t.Fatal(err)
	}
	// Not normalised without hearth.json or a Normalize module; the same direction.
	Normalize(got[0])
	if d := maxDiff(got[0], want[0]); d > 1e-5 {
		t.Errorf("inferred config embeds differently (max diff %g)", d)
	}
}

func TestBatchWindowOff(t *testing.T) {
	m := testLoad(t, "minilm-onnx", Options{MaxBatch: 4})
	if _, _, err := m.Embed(context.Background(), sentences(10), true); err != nil {
		t.Fatal(err)
	}
	if calls := m.calls.Load(); calls < 3 {
		t.Errorf("10 inputs with batches of 4 took %d calls, want at least 3", calls)
	}
}
