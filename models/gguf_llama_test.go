package models

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ollama/ollama/llama"
)

// anyText is a grammar for any non-empty text. llama.cpp's grammar sampler only passes tokens whose bytes
// continue valid UTF-8, the constraint a real model learns and random weights do not.
const anyText = `root ::= [^\x00]+`

// chatPrompt is a one-turn conversation rendered with chatMLTemplate.
const chatPrompt = "<|im_start|>user\nHello! Écris-moi un haïku 🙂<|im_end|>\n<|im_start|>assistant\n"

func TestTinyLlamaGenerates(t *testing.T) { testChatModelGenerates(t, "tiny-llama", 32000) }

func TestTinyGPT2Generates(t *testing.T) { testChatModelGenerates(t, "tiny-gpt2", 50257) }

// testChatModelGenerates loads a generated chat model in llama.cpp, checks that ChatML's markers are single
// control tokens starting at imStart, decodes a chat prompt and samples a reply with a seeded sampler.
func testChatModelGenerates(t *testing.T, name string, imStart int) {
	m, _ := loadModel(t, name)

	tokens, err := m.Tokenize(chatPrompt, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := countOf(tokens, imStart); got != 2 {
		t.Errorf("<|im_start|> (id %d) appears %d times in the prompt's tokens %v, want 2", imStart, got, tokens)
	}
	if got := countOf(tokens, imStart+1); got != 1 || !m.TokenIsEog(imStart+1) {
		t.Errorf("<|im_end|> (id %d) appears %d times, end of generation %v; want once and true", imStart+1, got, m.TokenIsEog(imStart+1))
	}

	lctx := newContext(t, m, 512, 512, 1, 1)
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
	logits := lctx.GetLogitsIth(batch.NumTokens() - 1)
	if len(logits) != m.NumVocab() {
		t.Fatalf("%d logits, want one per token of the %d-token vocabulary", len(logits), m.NumVocab())
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, l := range logits {
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			t.Fatalf("logit %v", l)
		}
		lo, hi = min(lo, l), max(hi, l)
	}
	if lo == hi {
		t.Fatalf("all logits are %v", lo)
	}

	sampler, err := llama.NewSamplingContext(m, llama.SamplingParams{TopK: 40, TopP: 0.9, Temp: 0.8, Seed: 42, Grammar: anyText})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	pos, idx := len(tokens), batch.NumTokens()-1
	// 16 tokens, then as many more as finish a character the last one started.
	for n := 0; n < 32 && (n < 16 || !utf8.ValidString(text.String())); n++ {
		tok := sampler.Sample(lctx, idx)
		sampler.Accept(tok, true)
		if m.TokenIsEog(tok) {
			break
		}
		text.WriteString(m.TokenToPiece(tok))
		batch.Clear()
		batch.Add(tok, nil, pos, true, 0)
		pos, idx = pos+1, 0
		if err := lctx.Decode(batch); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s replied %q", name, text.String())
	if text.Len() == 0 {
		t.Fatal("empty reply")
	}
	if !utf8.ValidString(text.String()) {
		t.Fatalf("reply is not valid UTF-8: %q", text.String())
	}
}

func TestTinyLlamaDetokenizesSplitCharacters(t *testing.T) { testRoundTrip(t, "tiny-llama", " ") }

func TestTinyGPT2DetokenizesSplitCharacters(t *testing.T) { testRoundTrip(t, "tiny-gpt2", "") }

// testRoundTrip tokenizes text with characters that the vocabulary must split into bytes and checks that
// the pieces of the tokens put them back together. prefix is what the tokenizer adds in front (the
// SentencePiece space).
func testRoundTrip(t *testing.T, name, prefix string) {
	const text = "Héllo wörld: naïve café, 日本語, 🙂🦙\n\tend"
	m, _ := loadModel(t, name)
	tokens, err := m.Tokenize(text, false, false)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	split := 0
	for _, tok := range tokens {
		piece := m.TokenToPiece(tok)
		if !utf8.ValidString(piece) {
			split++
		}
		got.WriteString(piece)
	}
	if got.String() != prefix+text {
		t.Errorf("pieces of %v join to %q, want %q", tokens, got.String(), prefix+text)
	}
	if split == 0 {
		t.Errorf("no token of %v splits a character; the test no longer covers byte-level pieces", tokens)
	}
}

func countOf(tokens []int, id int) (n int) {
	for _, t := range tokens {
		if t == id {
			n++
		}
	}
	return n
}
