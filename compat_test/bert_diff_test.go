package compat_test

import (
	"context"
	"testing"

	"github.com/ollama/ollama/api"
)

// TestBertEmbedAgainstOllama serves the generated bert-embed from hearth and from the reference Ollama
// 0.17.4, which runs bert in its Go engine with its own WordPiece tokenizer. bert-embed writes
// add_eos_token=false and add_sep_token=true: Ollama reads only the first and leaves the trailing [SEP]
// off, and hearth must tokenize the same way. Each input's token count must be equal and its vector the
// same to float tolerance (cosine at least 0.9999); one token more or less moves a 384-float mean-pooled
// vector well below that.
func TestBertEmbedAgainstOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the reference Ollama")
	}
	ref, hearthURL := startBoth(t)
	ollama, hearth := apiClient(t, ref), apiClient(t, hearthURL)
	ctx := context.Background()
	for _, in := range []string{
		"hello world",
		"Hello, World!",
		"The quick brown fox jumps over the lazy dog.",
		"tokenization works",
		"Écris-moi un haïku",
		"why is the sky blue?",
	} {
		want, err := ollama.Embed(ctx, &api.EmbedRequest{Model: "e", Input: in})
		if err != nil {
			t.Fatal(err)
		}
		got, err := hearth.Embed(ctx, &api.EmbedRequest{Model: "e", Input: in})
		if err != nil {
			t.Fatal(err)
		}
		if got.PromptEvalCount != want.PromptEvalCount {
			t.Errorf("%q: hearth counts %d tokens, Ollama %d", in, got.PromptEvalCount, want.PromptEvalCount)
		}
		if len(got.Embeddings) != 1 || len(want.Embeddings) != 1 {
			t.Fatalf("%q: hearth %d vectors, Ollama %d", in, len(got.Embeddings), len(want.Embeddings))
		}
		c := cosine64(widen32(got.Embeddings[0]), widen32(want.Embeddings[0]))
		if c < 0.9999 {
			t.Errorf("%q: cosine %v with Ollama's vector", in, c)
		}
		t.Logf("%q: %d tokens, cosine %.6f", in, got.PromptEvalCount, c)
	}

	// An input over a small context is cut the same way (same tokens, same vector) or refused alike, and
	// refused alike with truncation off.
	long := "the quick brown fox jumps over the lazy dog and keeps running far away"
	off := false
	for _, n := range []int{1, 2, 3, 4, 8} { // the input is 16 tokens
		opts := map[string]any{"num_ctx": n}
		want, werr := ollama.Embed(ctx, &api.EmbedRequest{Model: "e", Input: long, Options: opts})
		got, gerr := hearth.Embed(ctx, &api.EmbedRequest{Model: "e", Input: long, Options: opts})
		switch {
		case werr != nil || gerr != nil:
			if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
				t.Errorf("num_ctx %d: hearth %v, Ollama %v", n, gerr, werr)
			}
		default:
			c := cosine64(widen32(got.Embeddings[0]), widen32(want.Embeddings[0]))
			if c < 0.9999 || got.PromptEvalCount != want.PromptEvalCount {
				t.Errorf("num_ctx %d: cosine %v, %d tokens (Ollama's %d)", n, c, got.PromptEvalCount, want.PromptEvalCount)
			}
			t.Logf("num_ctx %d: %d tokens, cosine %.6f", n, got.PromptEvalCount, c)
		}
		_, werr = ollama.Embed(ctx, &api.EmbedRequest{Model: "e", Input: long, Options: opts, Truncate: &off})
		_, gerr = hearth.Embed(ctx, &api.EmbedRequest{Model: "e", Input: long, Options: opts, Truncate: &off})
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			t.Errorf("num_ctx %d, truncation off: hearth %v, Ollama %v", n, gerr, werr)
		}
	}
}
