package models

import "testing"

func TestBertWordPieceVocab(t *testing.T) {
	vocab, err := BertWordPieceVocab()
	if err != nil {
		t.Fatal(err)
	}
	if len(vocab) != 30522 {
		t.Fatalf("vocabulary has %d tokens, want 30522", len(vocab))
	}
	for id, want := range map[int]string{
		0: "[PAD]", 1: "[unused0]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]",
		1996: "the", 2088: "world", 7592: "hello", 2075: "##ing", 1012: ".",
	} {
		if vocab[id] != want {
			t.Errorf("vocab[%d] = %q, want %q", id, vocab[id], want)
		}
	}
}

func TestWordPiece(t *testing.T) {
	for in, want := range map[string]string{
		"\u2581hello": "hello",
		"ing":         "##ing",
		"[CLS]":       "[CLS]",
		"[":           "##[",
		"\u2581[":     "[",
		"\u2581":      "",
	} {
		if got := wordPiece(in); got != want {
			t.Errorf("wordPiece(%q) = %q, want %q", in, got, want)
		}
	}
}
