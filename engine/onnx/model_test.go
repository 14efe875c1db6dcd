package onnx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/hearthlink/hearth/engine"
)

// norm2 is v's L2 norm.
func norm2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// maxDiff is the largest element-wise difference of two vectors.
func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// sentences returns n short inputs of varied lengths.
func sentences(n int) []string {
	words := strings.Fields("the quick brown fox jumps over the lazy dog while a small bird sings in the old tree near the river bank")
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%d %s", i, strings.Join(words[i%7:i%7+3+i%11], " "))
	}
	return out
}

func TestEmbedShapesAndNorm(t *testing.T) {
	m := testLoad(t, "minilm-onnx", Options{})
	if m.ContextLength() != 256 {
		t.Errorf("context length %d, want hearth.json's 256", m.ContextLength())
	}
	vecs, tokens, err := m.Embed(context.Background(), []string{"hello world", "why is the sky blue?"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 2 || len(vecs[0]) != 384 || len(vecs[1]) != 384 {
		t.Fatalf("got %d vectors of %d, want 2 of 384", len(vecs), len(vecs[0]))
	}
	if tokens != 4+8 {
		t.Errorf("%d tokens, want 12", tokens)
	}
	for i, v := range vecs {
		if n := norm2(v); math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d has norm %v, want 1", i, n)
		}
	}
	if maxDiff(vecs[0], vecs[1]) < 1e-3 {
		t.Error("different inputs gave the same vector")
	}
	empty, tokens, err := m.Embed(context.Background(), nil, true)
	if err != nil || len(empty) != 0 || tokens != 0 {
		t.Errorf("no inputs: %v, %d, %v", empty, tokens, err)
	}
}

func TestEmbedSameAloneBatchedConcurrent(t *testing.T) {
	m := testLoad(t, "minilm-onnx", Options{})
	ctx := context.Background()
	inputs := sentences(40)
	alone := make([][]float32, len(inputs))
	for i, in := range inputs {
		v, _, err := m.Embed(ctx, []string{in}, true)
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = v[0]
	}
	batched, _, err := m.Embed(ctx, inputs, true)
	if err != nil {
		t.Fatal(err)
	}
	concurrent := make([][]float32, len(inputs))
	var wg sync.WaitGroup
	errs := make(chan error, len(inputs))
	for i, in := range inputs {
		wg.Go(func() {
			v, _, err := m.Embed(ctx, []string{in}, true)
			if err != nil {
				errs <- err
				return
			}
			concurrent[i] = v[0]
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range inputs {
		if d := maxDiff(alone[i], batched[i]); d > 1e-5 {
			t.Errorf("input %d: batched differs from alone by %g", i, d)
		}
		if d := maxDiff(alone[i], concurrent[i]); d > 1e-5 {
			t.Errorf("input %d: concurrent differs from alone by %g", i, d)
		}
	}
}

func TestClassify(t *testing.T) {
	m := testLoad(t, "tinybert-cls-onnx", Options{})
	res, tokens, err := m.Classify(context.Background(), []string{"I love it", "terrible service", "ok"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || tokens == 0 {
		t.Fatalf("%d results, %d tokens", len(res), tokens)
	}
	for i, r := range res {
		if len(r) != 3 {
			t.Fatalf("input %d: %d labels, want 3", i, len(r))
		}
		var sum float64
		seen := map[string]bool{}
		for k, s := range r {
			sum += float64(s.Score)
			seen[s.Label] = true
			if k > 0 && s.Score > r[k-1].Score {
				t.Errorf("input %d: labels not sorted by score: %v", i, r)
			}
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("input %d: scores sum to %v", i, sum)
		}
		if !seen["negative"] || !seen["neutral"] || !seen["positive"] {
			t.Errorf("input %d: labels %v", i, r)
		}
	}
	if _, _, err := m.Embed(context.Background(), []string{"x"}, true); !errors.Is(err, engine.ErrBadRequest) {
		t.Errorf("embedding with a classifier: %v, want a capability error", err)
	}
	var ce *engine.CapabilityError
	if _, _, err := m.Rerank(context.Background(), "q", []string{"x"}, true); !errors.As(err, &ce) || ce.Capability != "rerank" {
		t.Errorf("reranking with a 3-label classifier: %v", err)
	}
}

func TestRerank(t *testing.T) {
	m := testLoad(t, "tinybert-rerank-onnx", Options{})
	ctx := context.Background()
	docs := sentences(12)
	scores, tokens, err := m.Rerank(ctx, "where does the bird sing?", docs, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != len(docs) || tokens == 0 {
		t.Fatalf("%d scores for %d documents, %d tokens", len(scores), len(docs), tokens)
	}
	for i, s := range scores {
		if s <= 0 || s >= 1 {
			t.Errorf("document %d: score %v outside (0, 1)", i, s)
		}
		one, _, err := m.Rerank(ctx, "where does the bird sing?", docs[i:i+1], true)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(one[0] - s)); d > 1e-5 {
			t.Errorf("document %d: scored alone %v, in a batch %v", i, one[0], s)
		}
	}
	if _, _, err := m.Classify(ctx, []string{"x"}, true); err == nil {
		t.Error("a rerank model classified")
	}
}
