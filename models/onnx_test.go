package models

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"
)

// onnxTestRecipes pairs each ONNX recipe's name with the shape and settings it is generated from.
var onnxTestRecipes = []struct {
	name   string
	recipe onnxBERTRecipe
}{
	{"minilm-onnx", onnxMiniLM},
	{"tinybert-cls-onnx", onnxTinyBERTClassifier},
	{"tinybert-rerank-onnx", onnxTinyBERTReranker},
}

func TestONNXRecipesRegistered(t *testing.T) {
	for _, tc := range onnxTestRecipes {
		r, err := Lookup(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if r.Format != FormatONNX || !r.Default || r.Version < 1 || r.Description == "" {
			t.Errorf("%s: recipe %+v, want a default ONNX recipe with a version and a description", tc.name, r)
		}
	}
}

func TestONNXGenerateDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates each model three times")
	}
	ctx := context.Background()
	for _, tc := range onnxTestRecipes {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			gen := func(name string, seed int64) []byte {
				t.Helper()
				dst := filepath.Join(dir, name)
				start := time.Now()
				if err := generateONNXBERT(ctx, dst, tc.recipe, seed); err != nil {
					t.Fatal(err)
				}
				elapsed := time.Since(start)
				data, err := os.ReadFile(filepath.Join(dst, "model.onnx"))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("seed %d: generated in %v, model.onnx %.1f MiB", seed, elapsed.Round(time.Millisecond), float64(len(data))/(1<<20))
				return data
			}
			a, b, c := gen("a", 1), gen("b", 1), gen("c", 2)
			if !bytes.Equal(a, b) {
				t.Error("the same seed gave different model.onnx bytes")
			}
			if bytes.Equal(a, c) {
				t.Error("different seeds gave identical model.onnx bytes")
			}
			if len(a) != len(c) {
				t.Errorf("model.onnx is %d bytes with seed 1 but %d with seed 2; only the weights should differ", len(a), len(c))
			}
			for _, f := range []string{"config.json", ONNXConfigFile, "vocab.txt", "tokenizer.json", "tokenizer_config.json"} {
				x, err1 := os.ReadFile(filepath.Join(dir, "a", f))
				y, err2 := os.ReadFile(filepath.Join(dir, "b", f))
				if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
					t.Errorf("%s differs between two generations with the same seed (%v, %v)", f, err1, err2)
				}
			}
		})
	}
}

// onnxTestModel returns the folder of the named model, generated once into the shared cache.
func onnxTestModel(t testing.TB, name string) string {
	t.Helper()
	dir, err := Ensure(context.Background(), "", name)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

var onnxRuntimeInit struct {
	once sync.Once
	err  error
}

// onnxTestRuntime loads ONNX Runtime from $HEARTH_ORT_LIBRARY (or the cache's lib/), once per process.
func onnxTestRuntime(t testing.TB) {
	t.Helper()
	onnxRuntimeInit.once.Do(func() {
		if ort.IsInitialized() {
			return
		}
		lib := os.Getenv("HEARTH_ORT_LIBRARY")
		if lib == "" {
			lib = filepath.Join(CacheDir(), "lib", "libonnxruntime.so")
		}
		if _, err := os.Stat(lib); err != nil {
			onnxRuntimeInit.err = errors.New("ONNX Runtime not found (run `make bootstrap`): " + err.Error())
			return
		}
		ort.SetSharedLibraryPath(lib)
		onnxRuntimeInit.err = ort.InitializeEnvironment()
	})
	if onnxRuntimeInit.err != nil {
		t.Fatal(onnxRuntimeInit.err)
	}
}

// onnxTestSession opens the model's graph with intra-op threads = 2.
func onnxTestSession(t testing.TB, dir, output string) *ort.DynamicAdvancedSession {
	t.Helper()
	onnxTestRuntime(t)
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(2); err != nil {
		t.Fatal(err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, "model.onnx"),
		[]string{onnxInputIDs, onnxAttentionMask, onnxTokenTypeIDs}, []string{output}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Destroy() })
	return s
}

// onnxTestTokenize looks each lower-case word of text up in vocab and wraps the ids in [CLS] ... [SEP]:
// enough for words that are whole vocabulary entries.
func onnxTestTokenize(t testing.TB, vocab []string, text string) []int64 {
	t.Helper()
	ids := map[string]int64{}
	for i, tok := range vocab {
		ids[tok] = int64(i)
	}
	out := []int64{ids["[CLS]"]}
	for _, w := range strings.Fields(strings.ToLower(text)) {
		id, ok := ids[w]
		if !ok {
			t.Fatalf("%q is not a vocabulary entry", w)
		}
		out = append(out, id)
	}
	return append(out, ids["[SEP]"])
}

// onnxTestRun runs a batch of token sequences, padded with [PAD] (id 0) to the longest, and returns the
// output's shape and data.
func onnxTestRun(t testing.TB, s *ort.DynamicAdvancedSession, seqs ...[]int64) (ort.Shape, []float32) {
	t.Helper()
	seqLen := 0
	for _, q := range seqs {
		seqLen = max(seqLen, len(q))
	}
	shape := ort.NewShape(int64(len(seqs)), int64(seqLen))
	ids := make([]int64, len(seqs)*seqLen)
	mask := make([]int64, len(seqs)*seqLen)
	types := make([]int64, len(seqs)*seqLen)
	for i, q := range seqs {
		copy(ids[i*seqLen:], q)
		for j := range q {
			mask[i*seqLen+j] = 1
		}
	}
	var inputs []ort.Value
	for _, data := range [][]int64{ids, mask, types} {
		tensor, err := ort.NewTensor(shape, data)
		if err != nil {
			t.Fatal(err)
		}
		defer tensor.Destroy()
		inputs = append(inputs, tensor)
	}
	outputs := []ort.Value{nil}
	if err := s.Run(inputs, outputs); err != nil {
		t.Fatal(err)
	}
	defer outputs[0].Destroy()
	out, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("output is %T, want a float32 tensor", outputs[0])
	}
	return out.GetShape(), slices.Clone(out.GetData())
}

func TestONNXModelInputsOutputs(t *testing.T) {
	onnxTestRuntime(t)
	for _, tc := range onnxTestRecipes {
		t.Run(tc.name, func(t *testing.T) {
			ins, outs, err := ort.GetInputOutputInfo(filepath.Join(onnxTestModel(t, tc.name), "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, in := range ins {
				names = append(names, in.Name)
				if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeInt64 ||
					!slices.Equal(in.Dimensions, ort.NewShape(-1, -1)) {
					t.Errorf("input %s, want an int64 tensor [batch, seq] with dynamic dims", in.String())
				}
			}
			sort.Strings(names)
			if want := []string{onnxAttentionMask, onnxInputIDs, onnxTokenTypeIDs}; !slices.Equal(names, want) {
				t.Errorf("inputs %v, want %v", names, want)
			}
			want := ort.NewShape(-1, -1, int64(tc.recipe.shape.HiddenSize))
			if n := len(tc.recipe.shape.Labels); n > 0 {
				want = ort.NewShape(-1, int64(n))
			}
			if len(outs) != 1 || outs[0].Name != tc.recipe.hearth.Output || outs[0].DataType != ort.TensorElementDataTypeFloat ||
				!slices.Equal(outs[0].Dimensions, want) {
				t.Errorf("outputs %v, want one float tensor %s %v", outs, tc.recipe.hearth.Output, want)
			}
		})
	}
}

func TestONNXBatchPadding(t *testing.T) {
	vocab, err := BertWordPieceVocab()
	if err != nil {
		t.Fatal(err)
	}
	short := onnxTestTokenize(t, vocab, "hello world")
	if want := []int64{101, 7592, 2088, 102}; !slices.Equal(short, want) {
		t.Fatalf(`"hello world" tokenized to %v, want %v`, short, want)
	}
	long := onnxTestTokenize(t, vocab, "the quick brown fox jumps over the lazy dog")

	for _, tc := range onnxTestRecipes {
		t.Run(tc.name, func(t *testing.T) {
			s := onnxTestSession(t, onnxTestModel(t, tc.name), tc.recipe.hearth.Output)
			shape, batch := onnxTestRun(t, s, short, long)
			// Rows of the output: one per token for the encoder, one per sequence for the classifier.
			width := int64(len(tc.recipe.shape.Labels))
			want := ort.NewShape(2, width)
			if width == 0 {
				width = int64(tc.recipe.shape.HiddenSize)
				want = ort.NewShape(2, int64(len(long)), width)
			}
			if !slices.Equal(shape, want) {
				t.Fatalf("batch output shape %v, want %v", shape, want)
			}
			onnxCheckFinite(t, batch)

			// The short sequence alone, and in the batch padded to the long one's length, must agree on
			// every real position: the attention mask keeps padding out.
			_, alone := onnxTestRun(t, s, short)
			row := len(batch) / 2
			if len(tc.recipe.shape.Labels) == 0 {
				alone = alone[:len(short)*int(width)]
			}
			if d := onnxMaxDiff(alone, batch[:len(alone)]); d > 1e-4 {
				t.Errorf("the short sequence's output moved by %g when padded in a batch", d)
			}
			_, longAlone := onnxTestRun(t, s, long)
			if d := onnxMaxDiff(longAlone, batch[row:]); d > 1e-4 {
				t.Errorf("the long sequence's output moved by %g when batched", d)
			}
			if d := onnxMaxDiff(alone, longAlone[:len(alone)]); d < 1e-3 {
				t.Errorf("two different inputs gave outputs within %g of each other", d)
			}
			t.Logf("output sample %v", batch[:min(4, len(batch))])
		})
	}
}

func onnxCheckFinite(t *testing.T, xs []float32) {
	t.Helper()
	for i, x := range xs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("output[%d] = %v", i, x)
		}
	}
}

func onnxMaxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func TestONNXFolderFiles(t *testing.T) {
	vocab, err := BertWordPieceVocab()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range onnxTestRecipes {
		t.Run(tc.name, func(t *testing.T) {
			dir := onnxTestModel(t, tc.name)
			readJSON := func(name string, v any) {
				t.Helper()
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, v); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}

			var tok struct {
				AddedTokens []struct {
					ID      int    `json:"id"`
					Content string `json:"content"`
					Special bool   `json:"special"`
				} `json:"added_tokens"`
				Normalizer    struct{ Type string } `json:"normalizer"`
				PreTokenizer  struct{ Type string } `json:"pre_tokenizer"`
				PostProcessor struct{ Type string } `json:"post_processor"`
				Model         struct {
					Type                    string         `json:"type"`
					UnkToken                string         `json:"unk_token"`
					ContinuingSubwordPrefix string         `json:"continuing_subword_prefix"`
					Vocab                   map[string]int `json:"vocab"`
				} `json:"model"`
			}
			readJSON("tokenizer.json", &tok)
			if tok.Model.Type != "WordPiece" || tok.Model.UnkToken != "[UNK]" || tok.Model.ContinuingSubwordPrefix != "##" {
				t.Errorf("tokenizer.json model %s/%s/%s, want WordPiece/[UNK]/##", tok.Model.Type, tok.Model.UnkToken, tok.Model.ContinuingSubwordPrefix)
			}
			if tok.Normalizer.Type != "BertNormalizer" || tok.PreTokenizer.Type != "BertPreTokenizer" || tok.PostProcessor.Type != "TemplateProcessing" {
				t.Errorf("tokenizer.json pipeline %s/%s/%s", tok.Normalizer.Type, tok.PreTokenizer.Type, tok.PostProcessor.Type)
			}
			if len(tok.Model.Vocab) != len(vocab) {
				t.Errorf("tokenizer.json has %d vocabulary entries, want %d", len(tok.Model.Vocab), len(vocab))
			}
			for id, w := range vocab {
				if tok.Model.Vocab[w] != id {
					t.Fatalf("tokenizer.json vocab[%q] = %d, want %d", w, tok.Model.Vocab[w], id)
				}
			}
			for _, a := range tok.AddedTokens {
				if !a.Special || vocab[a.ID] != a.Content {
					t.Errorf("added token %+v does not match the vocabulary", a)
				}
			}
			if len(tok.AddedTokens) != 5 {
				t.Errorf("%d added tokens, want the 5 BERT specials", len(tok.AddedTokens))
			}

			txt, err := os.ReadFile(filepath.Join(dir, "vocab.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if lines := strings.Split(strings.TrimSuffix(string(txt), "\n"), "\n"); !slices.Equal(lines, vocab) {
				t.Errorf("vocab.txt has %d lines and differs from the vocabulary", len(lines))
			}

			var cfg onnxHFConfig
			readJSON("config.json", &cfg)
			s := tc.recipe.shape
			if cfg.ModelType != "bert" || cfg.HiddenSize != s.HiddenSize || cfg.NumHiddenLayers != s.NumHiddenLayers ||
				cfg.NumAttentionHeads != s.NumAttentionHeads || cfg.IntermediateSize != s.IntermediateSize ||
				cfg.VocabSize != len(vocab) || cfg.MaxPositionEmbeddings != s.MaxPositionEmbeddings || cfg.TypeVocabSize != s.TypeVocabSize {
				t.Errorf("config.json %+v does not match the shape %+v", cfg, s)
			}
			for i, l := range s.Labels {
				if cfg.ID2Label[strconv.Itoa(i)] != l || cfg.Label2ID[l] != i {
					t.Errorf("config.json label %d: id2label %v, label2id %v, want %s", i, cfg.ID2Label, cfg.Label2ID, l)
				}
			}
			if len(s.Labels) > 0 && cfg.ProblemType != "single_label_classification" {
				t.Errorf("config.json problem_type %q", cfg.ProblemType)
			}

			var h ONNXConfig
			readJSON(ONNXConfigFile, &h)
			if h != tc.recipe.hearth {
				t.Errorf("%s = %+v, want %+v", ONNXConfigFile, h, tc.recipe.hearth)
			}
			var tc2 map[string]any
			readJSON("tokenizer_config.json", &tc2)
			if tc2["do_lower_case"] != true || tc2["tokenizer_class"] != "BertTokenizer" {
				t.Errorf("tokenizer_config.json %v", tc2)
			}
		})
	}
}

func TestONNXGenerateBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	if _, err := Ensure(ctx, dir, "no-such-onnx"); err == nil {
		t.Error("Ensure of an unknown recipe succeeded")
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range onnxTestRecipes {
		if _, err := Ensure(canceled, dir, tc.name); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Ensure with a canceled context: %v, want context.Canceled", tc.name, err)
		}
		dst := filepath.Join(dir, "direct-"+tc.name)
		if err := generateONNXBERT(canceled, dst, tc.recipe, 1); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: generating with a canceled context: %v, want context.Canceled", tc.name, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("canceled generation left %v behind", left)
	}

	// A regular file where a folder should be: the destination cannot be created.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := generateONNXBERT(ctx, filepath.Join(file, "model"), onnxTinyBERTClassifier, 1); err == nil {
		t.Error("generating under a regular file succeeded")
	}
	if _, err := Ensure(ctx, filepath.Join(file, "models"), "tinybert-cls-onnx"); err == nil {
		t.Error("Ensure under a regular file succeeded")
	}
	// An existing destination is never overwritten.
	if err := generateONNXBERT(ctx, dir, onnxTinyBERTClassifier, 1); err == nil {
		t.Error("generating into an existing folder succeeded")
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("a failed generation removed what was already there: %v", err)
	}
}

// TestONNXMiniLMLatency prints ONNX Runtime's p50 latency for one short input on the encoder
// (intra-op threads = 2). It asserts nothing about time.
func TestONNXMiniLMLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("timing only")
	}
	vocab, err := BertWordPieceVocab()
	if err != nil {
		t.Fatal(err)
	}
	s := onnxTestSession(t, onnxTestModel(t, "minilm-onnx"), onnxLastHiddenState)
	in := onnxTestTokenize(t, vocab, "hello world")
	onnxTestRun(t, s, in) // warm-up
	var times []time.Duration
	for range 50 {
		start := time.Now()
		onnxTestRun(t, s, in)
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	t.Logf("minilm-onnx, %d tokens, intra-op threads 2: p50 %v, min %v, max %v over %d runs",
		len(in), times[len(times)/2], times[0], times[len(times)-1], len(times))
}

// BenchmarkONNXMiniLMShortInput measures one "hello world" encoder run (4 tokens, intra-op threads = 2).
func BenchmarkONNXMiniLMShortInput(b *testing.B) {
	vocab, err := BertWordPieceVocab()
	if err != nil {
		b.Fatal(err)
	}
	s := onnxTestSession(b, onnxTestModel(b, "minilm-onnx"), onnxLastHiddenState)
	in := onnxTestTokenize(b, vocab, "hello world")
	for b.Loop() {
		onnxTestRun(b, s, in)
	}
}

// TestONNXGraphFusesInOnnxRuntime checks that the graphs are in the form ONNX Runtime's optimizer fuses
// (torch.onnx.export's BERT at opset 12): after optimisation every layer is one Attention node and one
// BiasGelu, and no spelled-out LayerNorm, softmax or erf is left. A change to the builder that breaks a
// fusion pattern makes the encoders several times as many nodes, and slower, without changing a number.
func TestONNXGraphFusesInOnnxRuntime(t *testing.T) {
	for _, tc := range onnxTestRecipes {
		t.Run(tc.name, func(t *testing.T) {
			onnxTestRuntime(t)
			opts, err := ort.NewSessionOptions()
			if err != nil {
				t.Fatal(err)
			}
			defer opts.Destroy()
			optimized := filepath.Join(t.TempDir(), "optimized.onnx")
			if err := opts.SetOptimizedModelFilePath(optimized); err != nil {
				t.Fatal(err)
			}
			s, err := ort.NewDynamicAdvancedSession(filepath.Join(onnxTestModel(t, tc.name), "model.onnx"),
				[]string{onnxInputIDs, onnxAttentionMask, onnxTokenTypeIDs}, []string{tc.recipe.hearth.Output}, opts)
			if err != nil {
				t.Fatal(err)
			}
			s.Destroy()
			data, err := os.ReadFile(optimized)
			if err != nil {
				t.Fatal(err)
			}
			var m onnx.ModelProto
			if err := proto.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			ops := map[string]int{}
			for _, n := range m.GetGraph().GetNode() {
				ops[n.OpType]++
			}
			layers := tc.recipe.shape.NumHiddenLayers
			if ops["Attention"] != layers || ops["BiasGelu"] != layers {
				t.Errorf("after ONNX Runtime's optimizer: %d Attention and %d BiasGelu nodes, want %d of each (ops: %v)",
					ops["Attention"], ops["BiasGelu"], layers, ops)
			}
			for _, op := range []string{"Softmax", "Erf", "ReduceMean", "Sqrt"} {
				if ops[op] != 0 {
					t.Errorf("after ONNX Runtime's optimizer: %d %s nodes left unfused (ops: %v)", ops[op], op, ops)
				}
			}
			t.Logf("%d nodes after optimisation: %v", len(m.GetGraph().GetNode()), ops)
		})
	}
}
