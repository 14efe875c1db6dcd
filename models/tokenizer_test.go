package models

import "testing"

func TestLlama2Vocab(t *testing.T) {
	v, err := llama2Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.tokens) != 32000 || len(v.scores) != 32000 || len(v.types) != 32000 {
		t.Fatalf("%d tokens, %d scores, %d types; want 32000 each", len(v.tokens), len(v.scores), len(v.types))
	}
	for id, want := range map[int]struct {
		text string
		typ  int32
	}{
		0: {"<unk>", tokenUnknown}, 1: {"<s>", tokenControl}, 2: {"</s>", tokenControl},
		3: {"<0x00>", tokenByte}, 13: {"<0x0A>", tokenByte}, 258: {"<0xFF>", tokenByte},
		272: {"\u2581the", tokenNormal}, 31999: {"梦", tokenNormal},
	} {
		if v.tokens[id] != want.text || v.types[id] != want.typ {
			t.Errorf("token %d = %q type %d, want %q type %d", id, v.tokens[id], v.types[id], want.text, want.typ)
		}
	}
	// "▁t" is the first merge, so it outranks "▁the", which outranks the whitespace runs merged last.
	if !(v.scores[261] > v.scores[272] && v.scores[272] > v.scores[259]) {
		t.Errorf("scores ▁t %v, ▁the %v, ▁▁ %v: want merge order", v.scores[261], v.scores[272], v.scores[259])
	}
	if v.bos != 1 || v.eos != 2 || v.unk != 0 || !v.addBOS {
		t.Errorf("bos %d eos %d unk %d add_bos %v", v.bos, v.eos, v.unk, v.addBOS)
	}
	v.addChatML()
	if v.id("<|im_start|>") != 32000 || v.id("<|im_end|>") != 32001 || v.types[32001] != tokenControl || len(v.scores) != 32002 {
		t.Errorf("ChatML tokens at %d and %d", v.id("<|im_start|>"), v.id("<|im_end|>"))
	}
}

func TestGPT2Vocab(t *testing.T) {
	v, err := gpt2Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.tokens) != 50257 || len(v.merges) != 50000 || v.scores != nil {
		t.Fatalf("%d tokens, %d merges, scores %v; want 50257, 50000, none", len(v.tokens), len(v.merges), v.scores != nil)
	}
	if v.tokens[50256] != gpt2EndOfText || v.types[50256] != tokenControl || v.bos != 50256 || v.eos != 50256 || v.addBOS {
		t.Errorf("<|endoftext|>: %q type %d bos %d eos %d add_bos %v", v.tokens[50256], v.types[50256], v.bos, v.eos, v.addBOS)
	}
	if v.merges[0] != "Ġ t" || v.tokens[220] != "Ġ" {
		t.Errorf("first merge %q, token 220 %q", v.merges[0], v.tokens[220])
	}
}

func TestBertGGUFVocabIsConverterForm(t *testing.T) {
	v, err := bertGGUFVocab()
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int]string{0: "[PAD]", 1: "[unused0]", 101: "[CLS]", 7592: "\u2581hello", 2075: "ing"} {
		if v.tokens[id] != want {
			t.Errorf("token %d = %q, want %q", id, v.tokens[id], want)
		}
	}
	if v.bos != 101 || v.sep != 102 || v.unk != 100 || v.pad != 0 || v.mask != 103 || v.types[102] != tokenControl || v.types[7592] != tokenNormal {
		t.Errorf("specials bos %d sep %d unk %d pad %d mask %d", v.bos, v.sep, v.unk, v.pad, v.mask)
	}
}
