package llama

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ollama/ollama/api"
	llamacpp "github.com/ollama/ollama/llama"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/decode"
	"github.com/hearthlink/hearth/internal/llamaext"
)

// loop is the decode loop: the only goroutine that calls into the llama context. Each step admits queued
// sequences, builds one batch from every active sequence — one token for each sequence that is generating,
// then prompt chunks round-robin up to the batch size — decodes it, and samples every sequence whose last
// input was in the batch. Prefill and decode therefore share batches (continuous batching).
func (r *Runner) loop() {
	defer r.queue.LoopExited()
	batch, err := llamacpp.NewBatch(r.batch, r.parallel, 0)
	if err != nil {
		r.failAll(err)
		return
	}
	defer batch.Free()
	for {
		incoming, closing := r.queue.Next(len(r.active) > 0)
		if closing {
			r.failAll(ErrRunnerClosed)
			return
		}

		for _, seq := range incoming {
			r.assign(seq)
			r.active = append(r.active, seq)
		}
		r.step(batch)
	}
}

// failAll ends every sequence with err.
func (r *Runner) failAll(err error) {
	for _, seq := range r.queue.Drain() { // queued: the slot Generate took for them was never assigned
		seq.state = decode.Done
		seq.finish("", err)
		r.queue.Release()
	}
	for _, seq := range r.active {
		r.end(seq, "", err)
	}
	r.active = nil
}

// end moves seq to decode.Done: it sends the final chunk with reason (or err) and frees the slot. compact
// then drops seq from r.active.
func (r *Runner) end(seq *sequence, reason string, err error) {
	seq.state = decode.Done
	seq.finish(reason, err)
	r.release(seq)
}

// step runs one Decode over all active sequences.
func (r *Runner) step(batch *llamacpp.Batch) {
	batch.Clear()
	now := time.Now()
	for _, seq := range r.active {
		seq.batched = 0
		if err := seq.ctx.Err(); err != nil {
			engine.ObserveCancelled(false)
			r.end(seq, "", err)
		}
	}
	r.compact()
	if len(r.active) == 0 {
		return
	}

	// Generating sequences that reached the context shift or end first, then room in the KV pool.
	for _, seq := range r.active {
		if seq.state == decode.Generating && len(seq.slot.tokens)+1 > r.numCtx && (!seq.shift || !r.shift(seq)) {
			r.end(seq, "length", nil)
		}
	}
	r.compact()
	r.fit()

	// Generating sequences: one token each.
	budget := r.batch
	for _, seq := range r.active {
		if seq.state != decode.Generating || !seq.started {
			continue
		}
		batch.Add(seq.pending[0], nil, len(seq.slot.tokens), true, seq.slot.id)
		seq.batched, seq.iBatch = 1, batch.NumTokens()-1
		budget--
	}
	// Then prompt chunks of the started sequences, round-robin so a long prompt cannot starve a later one.
	n := len(r.active)
	for k := range n {
		seq := r.active[(r.next+k)%n]
		if seq.state != decode.Prefilling || !seq.started {
			continue
		}
		if budget <= 0 {
			r.next = (r.next + k) % n
			break
		}
		seq.metrics.Evaluating(now)
		take := min(len(seq.pending), budget)
		pos := len(seq.slot.tokens)
		for i := range take {
			last := i == len(seq.pending)-1
			batch.Add(seq.pending[i], nil, pos+i, last, seq.slot.id)
		}
		seq.batched, seq.iBatch = take, batch.NumTokens()-1
		budget -= take
	}

	if batch.NumTokens() > 0 {
		engine.ObserveBatch(batch.NumTokens(), r.batchedSequences())
		n := batch.NumTokens()
		threads := r.threads.Threads(n)
		// llama.cpp computes a one-token batch with its first count, a larger one with its second.
		llamaext.SetThreads(r.lctx, threads, threads)
		// A step on a busy machine can take seconds (ggml's threads wait for each other at every node):
		// when every request in the batch ends meanwhile, the step stops in flight.
		stop := decode.WatchStep(r.batchedContexts(), r.abort.Request)
		if r.beforeDecode != nil {
			r.beforeDecode()
		}
		// A batch larger than any before touches more of the compute buffers: measure what that adds.
		var anon int64
		larger := n > r.maxBatch
		if larger {
			r.maxBatch, anon = n, anonymousResident()
		}
		start := time.Now()
		err := r.lctx.Decode(batch)
		stop()
		if larger {
			r.memory.grew(anon)
		}
		aborted := r.abort.Requested()
		r.abort.Reset()
		if err != nil && aborted {
			r.abortStep()
			return
		}
		r.threads.Observe(n, threads, time.Since(start))
		if err != nil {
			if errors.Is(err, llamacpp.ErrKvCacheFull) {
				err = fmt.Errorf("the KV cache is full: %w", err)
			}
			for _, seq := range r.active {
				if seq.batched > 0 {
					r.end(seq, "", err)
				}
			}
			r.compact()
			return
		}
	}

	for _, seq := range r.active {
		if seq.batched == 0 {
			continue
		}
		r.evaluated(seq.slot, seq.pending[:seq.batched])
		seq.pending = seq.pending[seq.batched:]
		if err := seq.ctx.Err(); err != nil { // the request ended during the step: nothing more for it
			engine.ObserveCancelled(true)
			r.end(seq, "", err)
			continue
		}
		if len(seq.pending) > 0 {
			continue // still prefilling
		}
		if seq.vec != nil {
			r.embedded(seq)
			continue
		}
		r.sample(seq)
	}
	r.compact()
}

// abortStep ends the sequences of a step stopped in flight because all their requests had ended. The
// ubatches evaluated before the stop stay in the KV cache: each slot drops the cells past the tokens it
// records, so the next prompt in it finds the cache as its tokens say.
func (r *Runner) abortStep() {
	engine.ObserveAbortedStep()
	for _, seq := range r.active {
		if seq.batched == 0 {
			continue
		}
		r.lctx.KvCacheSeqRm(seq.slot.id, len(seq.slot.tokens), -1)
		engine.ObserveCancelled(false)
		r.end(seq, "", seq.ctx.Err())
	}
	r.compact()
}

// batchedContexts are the requests of the sequences with tokens in the batch being built.
func (r *Runner) batchedContexts() []context.Context {
	var ctxs []context.Context
	for _, seq := range r.active {
		if seq.batched > 0 {
			ctxs = append(ctxs, seq.ctx)
		}
	}
	return ctxs
}

// batchedSequences counts the sequences with tokens in the batch being built.
func (r *Runner) batchedSequences() int {
	n := 0
	for _, seq := range r.active {
		if seq.batched > 0 {
			n++
		}
	}
	return n
}

// compact drops finished sequences from r.active.
func (r *Runner) compact() {
	r.active = slices.DeleteFunc(r.active, func(seq *sequence) bool { return seq.state == decode.Done })
}

// sample picks seq's next token and decides whether the sequence goes on.
func (r *Runner) sample(seq *sequence) {
	tok := seq.sampler.Sample(r.lctx, seq.iBatch)
	seq.sampler.Accept(tok, true)
	seq.metrics.Sampled()
	if r.model.TokenIsEog(tok) {
		r.end(seq, "stop", nil)
		return
	}
	piece := r.model.TokenToPiece(tok)
	var lp []api.Logprob
	if seq.logprobs {
		if logits := r.lctx.GetLogitsIth(seq.iBatch); logits != nil {
			lp = []api.Logprob{decode.Logprob(logits, tok, seq.topLogprobs, r.model.TokenToPiece)}
		}
	}
	if seq.out.Emit(piece, lp) {
		r.end(seq, "stop", nil)
		return
	}
	if seq.metrics.Decoded >= seq.limits.NumPredict {
		r.end(seq, "length", nil)
		return
	}
	seq.pending = []int{tok}
	seq.state = decode.Generating
}
