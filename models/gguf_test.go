package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/template"
)

// testRecipes are the GGUF recipes small enough to generate in every test run.
var testRecipes = []string{"tiny-llama", "tiny-gpt2", "bert-embed", "bert-rerank"}

var backendOnce sync.Once

// loadModel generates recipe name into a fresh folder and loads it with llama.cpp.
func loadModel(t *testing.T, name string) (*llama.Model, string) {
	t.Helper()
	path, err := Ensure(t.Context(), t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	return loadGenerated(t, path)
}

// loadGenerated loads the GGUF file at path with llama.cpp.
func loadGenerated(t *testing.T, path string) (*llama.Model, string) {
	t.Helper()
	backendOnce.Do(llama.BackendInit)
	m, err := llama.LoadModelFromFile(path, llama.ModelParams{UseMmap: true})
	if err != nil {
		t.Fatalf("llama.cpp cannot load %s: %v", filepath.Base(path), err)
	}
	t.Cleanup(func() { llama.FreeModel(m) })
	return m, path
}

// newContext makes a llama.cpp context for m. The test models are too small to gain from threads, and
// ggml's spinning thread barriers make a multi-threaded decode crawl on a machine busy with other work.
func newContext(t *testing.T, m *llama.Model, numCtx, batch, seqs, threads int) *llama.Context {
	t.Helper()
	c, err := llama.NewContextWithModel(m, llama.NewContextParams(numCtx, batch, seqs, threads, ml.FlashAttentionDisabled, ""))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// decodeGGUF reads the metadata and tensor table of the GGUF file at path, arrays included.
func decodeGGUF(t *testing.T, path string) *ggml.GGML {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatalf("ggml.Decode(%s): %v", path, err)
	}
	return g
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestChatMLTemplateIsOllamas(t *testing.T) {
	named, err := template.Named(chatMLTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if named.Name != "chatml" {
		t.Fatalf("Ollama maps the embedded template to %q, want chatml", named.Name)
	}
}

func TestGGUFRecipesAreDeterministic(t *testing.T) {
	for _, name := range testRecipes {
		t.Run(name, func(t *testing.T) {
			r, err := Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			b := ggufBuilders[name]
			dir := t.TempDir()
			write := func(file string, seed int64) string {
				path := filepath.Join(dir, file)
				if err := b.write(t.Context(), path, seed); err != nil {
					t.Fatal(err)
				}
				return fileSHA256(t, path)
			}
			start := time.Now()
			first := write("a.gguf", r.Seed)
			t.Logf("%s generated in %v", name, time.Since(start))
			if again := write("b.gguf", r.Seed); again != first {
				t.Errorf("seed %d gave %s, then %s", r.Seed, first, again)
			}
			if other := write("c.gguf", r.Seed+1); other == first {
				t.Errorf("seeds %d and %d gave the same file", r.Seed, r.Seed+1)
			}
		})
	}
}

func TestGGUFMetadata(t *testing.T) {
	tests := []struct {
		name, arch   string
		ctxLen       uint64
		vocab        int
		chatTemplate string
		pooling      uint32
	}{
		{"tiny-llama", "llama", 4096, 32002, chatMLTemplate, 0},
		{"tiny-gpt2", "llama", 4096, 50259, chatMLTemplate, 0},
		{"bert-embed", "bert", 512, 30522, "", poolingMean},
		{"bert-rerank", "bert", 512, 30522, "", poolingRank},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := Ensure(t.Context(), t.TempDir(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %.1f MB", filepath.Base(path), float64(info.Size())/1e6)
			kv := decodeGGUF(t, path).KV()
			if got := kv.Architecture(); got != tt.arch {
				t.Errorf("architecture %q, want %q", got, tt.arch)
			}
			if got := kv.ContextLength(); got != tt.ctxLen {
				t.Errorf("context length %d, want %d", got, tt.ctxLen)
			}
			if got := kv.ChatTemplate(); got != tt.chatTemplate {
				t.Errorf("chat template %q, want %q", got, tt.chatTemplate)
			}
			if got := len(kv.Strings("tokenizer.ggml.tokens")); got != tt.vocab {
				t.Errorf("%d tokens, want %d", got, tt.vocab)
			}
			if got := kv.Uint("pooling_type"); got != tt.pooling {
				t.Errorf("pooling type %d, want %d", got, tt.pooling)
			}
			if got := kv.FileType(); got != ggml.FileTypeQ8_0 {
				t.Errorf("file type %v, want Q8_0", got)
			}
		})
	}
}

func TestEnsureUnknownRecipe(t *testing.T) {
	dir := t.TempDir()
	if _, err := Ensure(t.Context(), dir, "no-such-model"); err == nil {
		t.Fatal("Ensure of an unknown recipe succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %d entries in %s", len(entries), dir)
	}
}

// TestEnsureCanceled cancels the generation of the 640 MB benchmark model shortly after it starts: it must
// stop with the context's error and leave nothing in the folder.
func TestEnsureCanceled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, err := Ensure(ctx, dir, "bench-llama")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Ensure returned %v, want context.Canceled", err)
	}
	t.Logf("stopped %v after the start", time.Since(start))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left %s behind", e.Name())
	}
}

func TestEnsureUnwritableDestination(t *testing.T) {
	// A regular file where the folder should be: unwritable even for root.
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(t.Context(), filepath.Join(file, "models"), "tiny-llama"); err == nil {
		t.Fatal("Ensure under a regular file succeeded")
	}
}

func TestGenerateRefusesExistingOrUnreachableDestination(t *testing.T) {
	r, err := Lookup("tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.gguf")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Generate(t.Context(), existing); err == nil {
		t.Error("Generate overwrote an existing file")
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Errorf("existing file now holds %q", data)
	}
	if err := r.Generate(t.Context(), filepath.Join(dir, "missing", "m.gguf")); err == nil {
		t.Error("Generate into a missing folder succeeded")
	}
}

func TestGGUFTensorCheck(t *testing.T) {
	bad := ggufTensor{name: "x", typ: ggml.TensorTypeQ4_K, shape: []uint64{100, 4}}
	err := writeGGUF(t.Context(), filepath.Join(t.TempDir(), "x.gguf"), ggml.KV{"general.architecture": "llama"}, []ggufTensor{bad}, 1)
	if err == nil {
		t.Fatal("wrote a Q4_K tensor whose rows are not whole blocks")
	}
}

// failingWriter fails every write, like a full disk.
type failingWriter struct{}

var errDiskFull = errors.New("no space left on device")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestTensorWriterFailureStopsTheOthers(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	tensor := ggufTensor{name: "m", typ: ggml.TensorTypeQ8_0, shape: []uint64{64, 64}, init: normalInit(weightStd)}
	if _, err := (&tensorWriter{ctx: ctx, cancel: cancel, t: tensor, seed: 1}).WriteTo(failingWriter{}); !errors.Is(err, errDiskFull) {
		t.Fatalf("WriteTo returned %v, want the write error", err)
	}
	// Another tensor of the same file must stop with the first failure, not a bare "context canceled".
	var sink strings.Builder
	_, err := (&tensorWriter{ctx: ctx, cancel: cancel, t: tensor, seed: 1}).WriteTo(&sink)
	if !errors.Is(err, errDiskFull) || sink.Len() != 0 {
		t.Fatalf("second writer wrote %d bytes and returned %v, want nothing and the first failure", sink.Len(), err)
	}
}
