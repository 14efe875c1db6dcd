package llama

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	llamacpp "github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/internal/llamaext"
)

// lastTokenState computes, in a context of its own, the hidden state of text's last token: what Ollama's
// llama.cpp runner answers as a generative model's embedding.
func lastTokenState(t *testing.T, r *Runner, text string) []float32 {
	t.Helper()
	ids := tokens(t, r, text)
	lctx, err := llamacpp.NewContextWithModel(r.model, llamacpp.NewContextParams(128, 128, 1, 2, ml.FlashAttentionDisabled, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer llamaext.FreeContext(lctx)
	b, err := llamacpp.NewBatch(128, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free()
	for i, id := range ids {
		b.Add(id, nil, i, i == len(ids)-1, 0)
	}
	if err := lctx.Decode(b); err != nil {
		t.Fatal(err)
	}
	return lctx.GetEmbeddingsIth(len(ids) - 1)
}

// unit scales v to length 1.
func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(s))
	}
	return out
}

// cosine is the cosine similarity of a and b.
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestRunnerEmbedIsTheLastTokenState embeds more inputs than there are slots, some sharing a prefix with
// what a slot already holds, and compares each vector with the last token's hidden state computed alone in
// a fresh context: slot reuse, prefix reuse and batching must not change the vector.
func TestRunnerEmbedIsTheLastTokenState(t *testing.T) {
	r := openTiny(t, 2, 128)
	inputs := []string{"The quick brown fox", "The quick brown fox jumps over the lazy dog", "A small bird sings", "The quick brown"}
	vecs, n, err := r.Embed(t.Context(), inputs, true)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, in := range inputs {
		want += len(tokens(t, r, in))
	}
	if len(vecs) != len(inputs) || n != want {
		t.Fatalf("%d vectors, %d tokens; want %d, %d", len(vecs), n, len(inputs), want)
	}
	for i, in := range inputs {
		ref := lastTokenState(t, r, in)
		if len(vecs[i]) != len(ref) || cosine(vecs[i], ref) < 0.9999 {
			t.Errorf("%q: cosine %v with the last token's state", in, cosine(vecs[i], ref))
		}
		for j := range i {
			if cosine(unit(vecs[i]), unit(vecs[j])) > 0.9999 {
				t.Errorf("%q and %q embed alike", inputs[j], in)
			}
		}
	}
}

func TestRunnerEmbedLimits(t *testing.T) {
	r := openTiny(t, 1, 32)
	long := strings.Repeat("word ", 100)
	if _, _, err := r.Embed(t.Context(), []string{long}, false); !errors.Is(err, engine.ErrInputTooLong) {
		t.Errorf("truncate off: %v", err)
	}
	vecs, n, err := r.Embed(t.Context(), []string{long}, true)
	if err != nil || len(vecs) != 1 || n > 32 || n < 30 {
		t.Errorf("truncated: %d vectors of %d tokens, %v", len(vecs), n, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := r.Embed(ctx, []string{"a", "b"}, true); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// The slot is free again.
	if _, _, err := r.Embed(t.Context(), []string{"still here"}, true); err != nil {
		t.Fatal(err)
	}
}
