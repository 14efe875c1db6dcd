package llama

import (
	"slices"
	"time"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/decode"
)

// minCopyGain is how many more prefix tokens another slot must hold before its KV cache is shared with the
// chosen slot: shared cells cannot be shifted (see shift), so a few tokens are cheaper to recompute.
const minCopyGain = 16

// slot is one llama.cpp sequence id, the tokens its KV cache holds, in order, and the pool cells they are in.
type slot struct {
	id       int
	tokens   []int
	cells    []int64   // pool cell of each token
	seq      *sequence // nil when idle
	lastUsed time.Time
}

// commonPrefix is the number of leading tokens a and b share.
func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// assign gives seq an idle slot (chooseSlot), reusing the longest prompt prefix found in any slot's KV
// cache, busy ones included: when another slot holds a clearly longer prefix than the chosen idle slot, its
// cells are shared with the chosen slot first (the whole sequence, then the tail past the prefix removed:
// a recurrent model's state can only be copied whole). At least one prompt token is always left to
// evaluate, since sampling needs its logits. The sequence waits for room in the pool before its prompt is
// evaluated (see room.go).
func (r *Runner) assign(seq *sequence) {
	dst, dstLen, src, srcLen := chooseSlot(r.slots, seq.prompt)
	if src != nil && src != dst && srcLen-dstLen >= minCopyGain {
		r.clear(dst)
		r.lctx.KvCacheSeqCp(src.id, dst.id, -1, -1)
		dst.tokens = append(dst.tokens, src.tokens...)
		if r.unified { // the cells are shared
			dst.cells = append(dst.cells, src.cells...)
			r.pool.share(dst.cells)
		} else { // copied into dst's own stream
			dst.cells = r.pool.add(dst.cells, len(src.cells))
		}
		dstLen = srcLen
	}
	keep := min(dstLen, len(seq.prompt)-1)
	if keep < len(dst.tokens) {
		if !r.lctx.KvCacheSeqRm(dst.id, keep, -1) {
			r.lctx.KvCacheSeqRm(dst.id, 0, -1)
			keep = 0
		}
		r.truncate(dst, keep)
	}
	engine.ObservePrefixCache(len(seq.prompt), keep)
	dst.seq = seq
	seq.slot = dst
	seq.pending = seq.prompt[keep:]
	seq.metrics.Prompt = len(seq.prompt)
	seq.state = decode.Prefilling
	r.admissions++
	seq.admitted = r.admissions
}

// evaluated records that the first n pending tokens of sl's sequence are now in its cache, in new cells.
func (r *Runner) evaluated(sl *slot, tokens []int) {
	sl.tokens = append(sl.tokens, tokens...)
	sl.cells = r.pool.add(sl.cells, len(tokens))
}

// truncate forgets sl's tokens from n on, which the caller removed from the KV cache, and frees the cells
// no other slot holds.
func (r *Runner) truncate(sl *slot, n int) {
	r.pool.release(sl.cells[n:])
	sl.tokens, sl.cells = sl.tokens[:n], sl.cells[:n]
}

// clear empties sl's cache.
func (r *Runner) clear(sl *slot) {
	r.lctx.KvCacheSeqRm(sl.id, 0, -1)
	r.truncate(sl, 0)
}

// chooseSlot picks the idle slot for prompt and the slot (any, busy included) holding its longest cached
// prefix. An idle slot is worth reusing when its cache mostly matches: the shared prefix is at least half
// of what it holds (an empty slot always qualifies), so taking it destroys little. Among those the longest
// prefix wins, then the least recently used. When no idle slot qualifies — the prompt shares only a
// template header or a few words with every cache — the least recently used idle slot is taken instead
// of the one sharing those few tokens, so the caches other clients come back to survive (two applications
// with different system prompts alternating keep one slot each instead of evicting each other).
func chooseSlot(slots []*slot, prompt []int) (dst *slot, dstLen int, src *slot, srcLen int) {
	var lru *slot
	lruLen := 0
	dstLen = -1
	for _, sl := range slots {
		l := commonPrefix(sl.tokens, prompt)
		if l > srcLen {
			src, srcLen = sl, l
		}
		if sl.seq != nil {
			continue
		}
		if lru == nil || sl.lastUsed.Before(lru.lastUsed) {
			lru, lruLen = sl, l
		}
		if 2*l < len(sl.tokens) {
			continue // reusing it would throw away most of its cache
		}
		if dst == nil || l > dstLen || (l == dstLen && sl.lastUsed.Before(dst.lastUsed)) {
			dst, dstLen = sl, l
		}
	}
	if dst == nil {
		dst, dstLen = lru, lruLen
	}
	return dst, dstLen, src, srcLen
}

// release frees seq's slot.
func (r *Runner) release(seq *sequence) {
	seq.slot.seq = nil
	seq.slot.lastUsed = time.Now()
	r.queue.Release()
}

// shift makes room in a full slot by dropping half of the tokens after numKeep, moving the rest down. It
// reports false when the cache cannot shift. Moving a cell moves it for every sequence holding it, so when
// the cells to move are shared with another slot, the kept tokens are evaluated again at their new
// positions instead: the sequence goes back to prefilling them, then samples on.
func (r *Runner) shift(seq *sequence) bool {
	sl := seq.slot
	if !r.lctx.KvCacheCanShift() {
		return false
	}
	numKeep := min(seq.limits.NumKeep, len(sl.tokens)-1)
	discard := max((len(sl.tokens)-numKeep)/2, 1)
	if r.pool.shared(sl.cells[numKeep+discard:]) {
		if !r.lctx.KvCacheSeqRm(sl.id, numKeep, -1) {
			return false
		}
		seq.pending = append(slices.Clone(sl.tokens[numKeep+discard:]), seq.pending...)
		r.truncate(sl, numKeep)
		seq.state = decode.Prefilling
		return true
	}
	if !r.lctx.KvCacheSeqRm(sl.id, numKeep, numKeep+discard) {
		return false
	}
	r.lctx.KvCacheSeqAdd(sl.id, numKeep+discard, len(sl.tokens), -discard)
	r.pool.release(sl.cells[numKeep : numKeep+discard])
	sl.tokens = append(sl.tokens[:numKeep], sl.tokens[numKeep+discard:]...)
	sl.cells = append(sl.cells[:numKeep], sl.cells[numKeep+discard:]...)
	return true
}
