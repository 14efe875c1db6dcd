package llama

import (
	"math"
	"testing"

	llamacpp "github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/internal/llamaext"
	"github.com/hearthlink/hearth/models"
)

// placements evaluates the same prompt as sequence 0 of a fresh context made with params three ways and
// returns the logits of its last token each time: alone; after another sequence's tokens in the same
// batch (its cells come after theirs); and with its last token in a cell freed below its others (the
// other sequence evaluated first, then removed).
func placements(t *testing.T, m *llamacpp.Model, params llamacpp.ContextParams) (alone, after, outOfOrder []float32) {
	t.Helper()
	prompt, _ := m.Tokenize("The weather today is nice and the sky is very blue", true, true)
	other, _ := m.Tokenize("Once upon a time there was", true, true)
	run := func(steps ...func(c *llamacpp.Context, b *llamacpp.Batch)) []float32 {
		c, err := llamacpp.NewContextWithModel(m, params)
		if err != nil {
			t.Fatal(err)
		}
		defer llamaext.FreeContext(c)
		b, err := llamacpp.NewBatch(512, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Free()
		for _, step := range steps {
			b.Clear()
			step(c, b)
			if b.NumTokens() > 0 {
				if err := c.Decode(b); err != nil {
					t.Fatal(err)
				}
			}
		}
		return append([]float32(nil), c.GetLogitsIth(b.NumTokens()-1)...)
	}
	addOther := func(c *llamacpp.Context, b *llamacpp.Batch) {
		for i, tok := range other {
			b.Add(tok, nil, i, false, 1)
		}
	}
	addPrompt := func(from, to int) func(c *llamacpp.Context, b *llamacpp.Batch) {
		return func(c *llamacpp.Context, b *llamacpp.Batch) {
			for i := from; i < to; i++ {
				b.Add(prompt[i], nil, i, i == to-1, 0)
			}
		}
	}
	n := len(prompt)
	alone = run(addPrompt(0, n))
	after = run(func(c *llamacpp.Context, b *llamacpp.Batch) { addOther(c, b); addPrompt(0, n)(c, b) })
	outOfOrder = run(addOther, addPrompt(0, n-1),
		func(c *llamacpp.Context, b *llamacpp.Batch) { c.KvCacheSeqRm(1, 0, -1); addPrompt(n-1, n)(c, b) })
	return alone, after, outOfOrder
}

// maxDiff is the largest difference between a and b, element by element.
func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestUnifiedCacheLayoutKeepsResults checks that in the KV layouts a Runner uses (one pool without flash
// attention, a stream per slot with it) a sequence's logits do not depend on where its cells lie: beside
// another sequence's, or out of order. It also logs what a unified cache with flash attention, the layout
// kvlayout.go avoids, does to the same sequence.
func TestUnifiedCacheLayoutKeepsResults(t *testing.T) {
	Init("")
	path, err := models.Ensure(t.Context(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	m, err := llamacpp.LoadModelFromFile(path, llamacpp.ModelParams{UseMmap: true})
	if err != nil {
		t.Fatal(err)
	}
	defer llamacpp.FreeModel(m)
	for _, cfg := range []engine.LoadConfig{
		{NumCtx: 256, NumBatch: 512, Parallel: 2, NumThread: 2},
		{NumCtx: 256, NumBatch: 512, Parallel: 2, NumThread: 2, FlashAttention: true},
	} {
		params, _, err := contextParams(cfg)
		if err != nil {
			t.Fatal(err)
		}
		alone, after, outOfOrder := placements(t, m, params)
		if d1, d2 := maxDiff(alone, after), maxDiff(alone, outOfOrder); d1 != 0 || d2 != 0 {
			t.Errorf("flash attention %t, unified %t: logits moved by up to %.3g beside another sequence, %.3g out of order; want identical",
				cfg.FlashAttention, unifiedKV(cfg), d1, d2)
		}
	}
	params := llamacpp.NewContextParams(256, 512, 2, 2, ml.FlashAttentionEnabled, "")
	if err := llamaext.SetKVUnified(&params, true); err != nil {
		t.Fatal(err)
	}
	alone, after, outOfOrder := placements(t, m, params)
	t.Logf("unified cache with flash attention: logits moved by up to %.3g beside another sequence, %.3g out of order",
		maxDiff(alone, after), maxDiff(alone, outOfOrder))
}
