package models

import (
	"bufio"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/llama"
)

func TestQ4KMTypesFollowLlamaQuantize(t *testing.T) {
	typeOf := q4KMType(22)
	var q6 []int
	for i := range 22 {
		v, d := typeOf("blk."+strconv.Itoa(i)+".attn_v.weight", i), typeOf("blk."+strconv.Itoa(i)+".ffn_down.weight", i)
		if v != d {
			t.Errorf("layer %d: attn_v %v but ffn_down %v", i, v, d)
		}
		if v == ggml.TensorTypeQ6_K {
			q6 = append(q6, i)
		}
		for _, other := range []string{"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"} {
			if got := typeOf("blk."+strconv.Itoa(i)+"."+other+".weight", i); got != ggml.TensorTypeQ4_K {
				t.Errorf("layer %d %s: %v, want Q4_K", i, other, got)
			}
		}
	}
	// What llama-quantize gives TinyLlama-1.1B: the first and last eighth, and every third layer between.
	if want := []int{0, 1, 4, 7, 10, 13, 16, 19, 20, 21}; !slices.Equal(q6, want) {
		t.Errorf("Q6_K layers %v, want %v", q6, want)
	}
	if got := typeOf("output.weight", -1); got != ggml.TensorTypeQ6_K {
		t.Errorf("output.weight %v, want Q6_K", got)
	}
	if got := typeOf("token_embd.weight", -1); got != ggml.TensorTypeQ4_K {
		t.Errorf("token_embd.weight %v, want Q4_K", got)
	}
}

// benchLlamaSmall is bench-llama at a size CI can generate in seconds: TinyLlama's 22 layers (so Q4_K_M's
// choice of Q6_K layers is the same), its 8:1 grouped-query attention, the Llama 2 vocabulary, with the
// smallest widths the K-quants take (rows of 256). Same builder, writer and quantizers as bench-llama.
func benchLlamaSmall() llamaModel {
	m := benchLlama
	m.embd, m.ffn, m.heads, m.kvHeads = 256, 512, 8, 1
	return m
}

// TestBenchLlamaSmall generates bench-llama's small twin and checks what bench-llama promises: TinyLlama's
// metadata and tensor types as llama-quantize writes Q4_K_M, and a model llama.cpp loads and evaluates to
// finite logits.
func TestBenchLlamaSmall(t *testing.T) {
	m := benchLlamaSmall()
	path := filepath.Join(t.TempDir(), "bench-llama-small.gguf")
	if err := m.write(t.Context(), path, recipes["bench-llama"].Seed); err != nil {
		t.Fatal(err)
	}
	checkBenchLlama(t, m, path)
}

// TestBenchLlama generates the 640 MB benchmark model itself, which takes about a minute, and checks it
// streams tensors rather than holding the model; it runs only with HEARTH_TEST_BENCH_MODEL=1
// (TestBenchLlamaSmall covers the same code in CI).
func TestBenchLlama(t *testing.T) {
	if os.Getenv("HEARTH_TEST_BENCH_MODEL") != "1" {
		t.Skip("set HEARTH_TEST_BENCH_MODEL=1 to generate the 640 MB benchmark model")
	}
	start := time.Now()
	path, err := Ensure(t.Context(), t.TempDir(), "bench-llama")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	peak := peakRSS(t)
	t.Logf("generated %.0f MB in %v; peak resident memory %d MB", float64(info.Size())/1e6, time.Since(start), peak>>20)
	if peak > 1<<30 {
		t.Errorf("generation peaked at %d MB resident; it should stream tensors, not hold the model", peak>>20)
	}
	checkBenchLlama(t, benchLlama, path)
	if params := decodeGGUF(t, path).KV().ParameterCount(); params < 1_000_000_000 || params > 1_200_000_000 {
		t.Errorf("%d parameters, want TinyLlama's 1.1 billion", params)
	}
}

// checkBenchLlama checks a generated bench-llama of m's shape at path: metadata, the Llama 2 vocabulary,
// Q4_K_M's tensor types, the parameter count of m's shape, and a prompt llama.cpp evaluates to finite
// logits.
func checkBenchLlama(t *testing.T, m llamaModel, path string) {
	t.Helper()
	g := decodeGGUF(t, path)
	kv := g.KV()
	if kv.Architecture() != "llama" || kv.ContextLength() != 2048 || kv.EmbeddingLength() != uint64(m.embd) ||
		kv.BlockCount() != 22 || kv.HeadCountMax() != uint64(m.heads) || kv.HeadCountKVMax() != uint64(m.kvHeads) ||
		kv.ChatTemplate() != chatMLTemplate || kv.FileType() != ggml.FileTypeQ4_K_M {
		t.Errorf("metadata: arch %s ctx %d embd %d layers %d heads %d/%d file type %v template %q",
			kv.Architecture(), kv.ContextLength(), kv.EmbeddingLength(), kv.BlockCount(), kv.HeadCountMax(),
			kv.HeadCountKVMax(), kv.FileType(), kv.ChatTemplate())
	}
	if n := len(kv.Strings("tokenizer.ggml.tokens")); n != 32000 {
		t.Errorf("%d tokens, want 32000", n)
	}
	counts := map[string]int{}
	var params uint64
	for _, ts := range g.Tensors().Items() {
		counts[ggml.TensorType(ts.Kind).String()]++
		params += ts.Elements()
	}
	// 22 layers x 7 matrices + token_embd + output; 10 attn_v, 10 ffn_down and output are Q6_K.
	if counts["Q6_K"] != 21 || counts["Q4_K"] != 22*7+2-21 || counts["F32"] != 22*2+1 {
		t.Errorf("tensor types %v", counts)
	}
	embd, kvDim, ffn := uint64(m.embd), uint64(m.embd/m.heads*m.kvHeads), uint64(m.ffn)
	want := 2*32000*embd + embd + 22*(2*embd+2*embd*embd+2*embd*kvDim+3*embd*ffn)
	if params != want || kv.ParameterCount() != want {
		t.Errorf("%d parameters in the tensors, %d in the metadata; want %d", params, kv.ParameterCount(), want)
	}

	model, _ := loadGenerated(t, path)
	lctx := newContext(t, model, 512, 512, 1, runtime.NumCPU())
	tokens, err := model.Tokenize("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", true, true)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := llama.NewBatch(512, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Free()
	for i, tok := range tokens {
		batch.Add(tok, nil, i, i == len(tokens)-1, 0)
	}
	if err := lctx.Decode(batch); err != nil {
		t.Fatal(err)
	}
	for _, l := range lctx.GetLogitsIth(len(tokens) - 1) {
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			t.Fatalf("logit %v", l)
		}
	}
}

// peakRSS is this process's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkTensorWriter measures generating and encoding one 2048x2048 matrix, the unit of bench-llama's
// generation time.
func BenchmarkTensorWriter(b *testing.B) {
	for _, typ := range []ggml.TensorType{ggml.TensorTypeF32, ggml.TensorTypeQ8_0, ggml.TensorTypeQ4_K, ggml.TensorTypeQ6_K} {
		b.Run(typ.String(), func(b *testing.B) {
			t := ggufTensor{name: "m", typ: typ, shape: []uint64{2048, 2048}, init: normalInit(weightStd)}
			b.SetBytes(int64(t.elements()) * 4)
			for b.Loop() {
				w := &tensorWriter{ctx: b.Context(), cancel: func(error) {}, t: t, seed: 1}
				if _, err := w.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
