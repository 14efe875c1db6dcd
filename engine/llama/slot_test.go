package llama

import (
	"testing"
	"time"
)

// seqTokens is n tokens starting at from: distinct values per range.
func seqTokens(from, n int) []int {
	t := make([]int, n)
	for i := range t {
		t[i] = from + i
	}
	return t
}

func concat(parts ...[]int) []int {
	var out []int
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestChooseSlot(t *testing.T) {
	header := seqTokens(1, 6)                   // the chat template's "<|im_start|>system\n…" shared by everyone
	sysA := concat(header, seqTokens(100, 300)) // application A's system prompt
	sysB := concat(header, seqTokens(500, 300)) // application B's
	now := time.Now()
	at := func(ago int) time.Time { return now.Add(-time.Duration(ago) * time.Second) }

	for _, tc := range []struct {
		name    string
		slots   []*slot
		prompt  []int
		wantDst int
		wantLen int
		wantSrc int // -1: none
	}{
		{
			name:    "the slot holding the system prompt is reused",
			slots:   []*slot{{id: 0, tokens: concat(sysA, seqTokens(900, 40)), lastUsed: at(1)}, {id: 1, lastUsed: at(9)}},
			prompt:  concat(sysA, seqTokens(950, 10)),
			wantDst: 0, wantLen: len(sysA), wantSrc: 0,
		},
		{
			name: "a prompt sharing only the template header does not evict another application's cache",
			slots: []*slot{
				{id: 0, tokens: concat(sysA, seqTokens(900, 40)), lastUsed: at(1)},
				{id: 1, tokens: concat(seqTokens(2000, 80)), lastUsed: at(5)},
				{id: 2, tokens: concat(sysA[:3], seqTokens(3000, 50)), lastUsed: at(9)},
			},
			prompt:  concat(sysB, seqTokens(950, 10)),
			wantDst: 2, wantLen: 3, wantSrc: 0, // least recently used; slot 0 (A) survives
		},
		{
			name:    "an empty slot is preferred to destroying a cache",
			slots:   []*slot{{id: 0, tokens: sysA, lastUsed: at(9)}, {id: 1, lastUsed: at(1)}},
			prompt:  concat(sysB, seqTokens(950, 10)),
			wantDst: 1, wantLen: 0, wantSrc: 0,
		},
		{
			name:    "a continuing conversation takes its own slot",
			slots:   []*slot{{id: 0, tokens: concat(sysA, seqTokens(900, 400)), lastUsed: at(1)}, {id: 1, tokens: sysB, lastUsed: at(9)}},
			prompt:  concat(sysA, seqTokens(900, 400), seqTokens(1400, 20)),
			wantDst: 0, wantLen: len(sysA) + 400, wantSrc: 0,
		},
		{
			name: "a long conversation's prefix is found even when its slot does not qualify (the copy source)",
			slots: []*slot{
				{id: 0, tokens: concat(sysA, seqTokens(900, 700)), lastUsed: at(1)},
				{id: 1, tokens: seqTokens(5000, 20), lastUsed: at(9)},
			},
			prompt:  concat(sysA, seqTokens(7000, 10)),
			wantDst: 1, wantLen: 0, wantSrc: 0,
		},
		{
			name:    "busy slots are never chosen",
			slots:   []*slot{{id: 0, tokens: sysA, seq: &sequence{}}, {id: 1, tokens: sysB, lastUsed: at(1)}},
			prompt:  concat(sysA, seqTokens(950, 10)),
			wantDst: 1, wantLen: len(header), wantSrc: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, dstLen, src, srcLen := chooseSlot(tc.slots, tc.prompt)
			if dst == nil || dst.id != tc.wantDst || dstLen != tc.wantLen {
				t.Fatalf("dst %+v len %d, want slot %d len %d", dst, dstLen, tc.wantDst, tc.wantLen)
			}
			if tc.wantSrc < 0 {
				if src != nil {
					t.Fatalf("src %d, want none", src.id)
				}
				return
			}
			if src == nil || src.id != tc.wantSrc || srcLen < dstLen {
				t.Fatalf("src %+v len %d, want slot %d", src, srcLen, tc.wantSrc)
			}
		})
	}
}
