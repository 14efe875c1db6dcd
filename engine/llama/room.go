package llama

import (
	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/decode"
)

// The slots share one pool of KV cells (see pool.go) as large as one sequence's context, so a lone request
// can use all of num_ctx while concurrent ones share it. Each step keeps the sequences within the pool:
//
//   - a sequence is started when the cells it still needs are set aside for it: one per step while it
//     generates, the rest of its prompt while it prefills. A new sequence waits until its prompt fits, so a
//     prefill that begins always completes;
//   - when the started sequences need more cells than are free, room is made: first the caches of idle
//     slots are dropped, least recently used first, then the youngest sequences are preempted — their
//     cells freed, their tokens so far (prompt and output) put back to be evaluated again once room is
//     found — so the oldest sequence always goes on;
//   - waiting sequences start oldest first, and a younger one never starts before an older one.
//
// The oldest sequence alone always fits (its tokens never exceed num_ctx, the pool's size), so every
// request completes; beyond the pool, concurrent requests take turns instead of failing.

// need is how many cells seq still takes once started: the rest of its prompt, or one for its next token.
func (seq *sequence) need() int {
	if !seq.started {
		return 0
	}
	return len(seq.pending)
}

// available is the number of free cells not set aside for the started sequences.
func (r *Runner) available() int {
	n := r.pool.free()
	for _, seq := range r.active {
		n -= seq.need()
	}
	return n
}

// makeRoom frees cells until n are available, dropping idle slots' caches, then preempting sequences
// younger than seq (any, when seq is nil), the youngest first. It reports whether n cells are available.
func (r *Runner) makeRoom(n int, seq *sequence) bool {
	if r.reclaimable(seq) < n {
		return false // nothing is dropped for a room that cannot be made
	}
	for r.available() < n {
		if sl := r.idleCache(); sl != nil {
			r.clear(sl)
			continue
		}
		victim := r.youngestHolder(seq)
		if victim == nil {
			return false
		}
		r.preempt(victim)
	}
	return true
}

// reclaimable is about how many cells makeRoom could make available for seq: a bound, since a cell shared
// by two of the slots it would clear is counted twice.
func (r *Runner) reclaimable(seq *sequence) int {
	n := r.available()
	for _, sl := range r.slots {
		if sl.seq == nil {
			n += len(sl.cells)
		}
	}
	for _, other := range r.active {
		if other.state != decode.Done && (seq == nil || other.admitted > seq.admitted) {
			n += len(other.slot.cells) + other.need()
		}
	}
	return n
}

// idleCache is the least recently used idle slot that holds cells, or nil.
func (r *Runner) idleCache() *slot {
	var lru *slot
	for _, sl := range r.slots {
		if sl.seq == nil && len(sl.cells) > 0 && (lru == nil || sl.lastUsed.Before(lru.lastUsed)) {
			lru = sl
		}
	}
	return lru
}

// youngestHolder is the youngest active sequence admitted after older (any, when older is nil) that holds
// cells or has cells set aside, or nil.
func (r *Runner) youngestHolder(older *sequence) *sequence {
	var y *sequence
	for _, seq := range r.active {
		if seq.state == decode.Done || (older != nil && seq.admitted <= older.admitted) {
			continue
		}
		if (seq.started || len(seq.slot.cells) > 0) && (y == nil || seq.admitted > y.admitted) {
			y = seq
		}
	}
	return y
}

// preempt frees seq's cells and puts its tokens so far back in front of what it has pending, to be
// evaluated again when it starts again; its sampler keeps its state, so it goes on as it would have.
func (r *Runner) preempt(seq *sequence) {
	seq.pending = append(append([]int(nil), seq.slot.tokens...), seq.pending...)
	r.clear(seq.slot)
	seq.state = decode.Prefilling
	seq.started = false
	engine.ObservePreemption()
}

// fit makes room for the started sequences, preempting the younger ones, then starts the waiting ones that
// fit, oldest first.
func (r *Runner) fit() {
	var oldest *sequence
	for _, seq := range r.active {
		if seq.started && (oldest == nil || seq.admitted < oldest.admitted) {
			oldest = seq
		}
	}
	if oldest != nil {
		r.makeRoom(0, oldest)
	}
	for {
		var next *sequence
		for _, seq := range r.active {
			if seq.state == decode.Prefilling && !seq.started && (next == nil || seq.admitted < next.admitted) {
				next = seq
			}
		}
		if next == nil || !r.makeRoom(len(next.pending), next) {
			return
		}
		next.started = true
	}
}
