package ollamaengine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"
	"github.com/ollama/ollama/runner/common"
	"github.com/ollama/ollama/runner/ollamarunner"
	"github.com/ollama/ollama/tokenizer"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/decode"
)

// loop is the decode loop: the only goroutine that touches the model's cache. Each step admits queued
// sequences, builds one batch from every active sequence — one token for each sequence that is generating,
// then prompt chunks round-robin up to the batch size — runs one forward pass and samples every sequence
// whose last input was in the batch. Prefill and decode therefore share forward passes (continuous
// batching).
func (r *Runner) loop() {
	defer r.queue.LoopExited()
	for {
		incoming, closing := r.queue.Next(len(r.active) > 0)
		if closing {
			r.failAll(ErrRunnerClosed)
			return
		}

		for _, seq := range incoming {
			r.admit(seq)
		}
		r.step()
	}
}

// admit gives seq a cache slot through Ollama's input cache, which picks the slot holding the longest
// prefix of the prompt (forking it from a busy slot when that one holds more) and leaves at least one
// input to evaluate, since sampling needs its logits.
func (r *Runner) admit(seq *sequence) {
	seq.metrics.Prompt = len(seq.prompt)
	slot, rest, err := r.loadSlot(seq.prompt)
	if err != nil {
		seq.finish("", err)
		r.queue.Release()
		return
	}
	if cached := len(seq.prompt) - len(rest); groupStart(seq.prompt, cached) < cached {
		if rest, err = r.uncache(slot, seq.prompt, groupStart(seq.prompt, cached)); err != nil {
			slot.InUse = false
			seq.finish("", err)
			r.queue.Release()
			return
		}
	}
	engine.ObservePrefixCache(len(seq.prompt), len(seq.prompt)-len(rest))
	seq.slot = slot
	seq.pending = rest
	seq.state = decode.Prefilling
	r.active = append(r.active, seq)
}

// loadSlot is InputCache.LoadCacheSlot with the engine's panics as errors.
func (r *Runner) loadSlot(prompt []*input.Input) (slot *ollamarunner.InputCacheSlot, rest []*input.Input, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the Go engine failed preparing the cache: %v", p)
		}
	}()
	return r.cache.LoadCacheSlot(prompt, true)
}

// uncache drops slot's cached inputs from n on, so a prompt whose cached prefix ends inside an image
// evaluates the whole image again (its positions go into one batch); it returns the prompt's inputs left
// to evaluate.
func (r *Runner) uncache(slot *ollamarunner.InputCacheSlot, prompt []*input.Input, n int) (rest []*input.Input, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the Go engine failed preparing the cache: %v", p)
		}
	}()
	if err := r.model.Config().Cache.Remove(slot.Id, int32(n), math.MaxInt32); err != nil {
		return nil, err
	}
	slot.Inputs = slot.Inputs[:n]
	return prompt[n:], nil
}

// failAll ends every sequence with err.
func (r *Runner) failAll(err error) {
	for _, seq := range r.queue.Drain() { // queued: the slot Generate took for them was never assigned
		seq.finish("", err)
		r.queue.Release()
	}
	for _, seq := range r.active {
		r.end(seq, "", err)
	}
	r.active = nil
}

// end moves seq to decode.Done: it sends the final chunk with reason (or err) and frees the slot, whose
// cache keeps the evaluated inputs for the next prompt that shares them. compact then drops seq from
// r.active.
func (r *Runner) end(seq *sequence, reason string, err error) {
	seq.finish(reason, err)
	seq.slot.InUse = false
	r.queue.Release()
}

// step runs one forward pass over all active sequences.
func (r *Runner) step() {
	now := time.Now()
	for _, seq := range r.active {
		seq.batched, seq.row = 0, -1
		if err := seq.ctx.Err(); err != nil {
			engine.ObserveCancelled(false)
			r.end(seq, "", err)
		}
	}
	r.compact()
	if len(r.active) == 0 {
		return
	}

	var b input.Batch
	var tokens, outputs []int32
	var images []batchImage
	add := func(seq *sequence, n int) {
		base := len(seq.slot.Inputs)
		var seqImages []batchImage
		for i, inp := range seq.pending[:n] {
			if inp.Multimodal != nil {
				parts, err := seq.images.resolve(inp.Multimodal)
				if err != nil {
					r.end(seq, "", err)
					return
				}
				seqImages = append(seqImages, batchImage{index: len(tokens) + i, parts: parts})
			}
		}
		images = append(images, seqImages...)
		for i, inp := range seq.pending[:n] {
			tokens = append(tokens, inp.Token)
			b.Positions = append(b.Positions, int32(base+i))
			b.Sequences = append(b.Sequences, seq.slot.Id)
		}
		seq.batched = n
		if n == len(seq.pending) {
			seq.row = len(outputs)
			outputs = append(outputs, int32(len(tokens)-1))
		}
	}

	// Generating sequences first: one token each.
	budget := r.batch
	for _, seq := range r.active {
		if seq.state != decode.Generating || budget <= 0 {
			continue
		}
		if len(seq.slot.Inputs)+1 > r.numCtx {
			if !seq.shift {
				r.end(seq, "length", nil)
				continue
			}
			if !r.shiftSlot(seq) || seq.state != decode.Generating {
				continue // ended, or back to prefilling to re-evaluate what the cache dropped
			}
		}
		add(seq, 1)
		budget--
	}
	// Then prompt chunks, round-robin so a long prompt cannot starve a later one: the first sequence that
	// gets nothing in opens the next step's chunks (chunkSize lets an image that waited go in whole then).
	n, first := len(r.active), true
	for k := range n {
		seq := r.active[(r.next+k)%n]
		if seq.state != decode.Prefilling {
			continue
		}
		take := 0
		if budget > 0 {
			take = chunkSize(seq.pending, budget, first)
		}
		if take == 0 {
			r.next = (r.next + k) % n
			break
		}
		seq.metrics.Evaluating(now)
		add(seq, take)
		budget -= take
		first = false
	}
	r.compact()
	if len(tokens) == 0 {
		return
	}

	engine.ObserveBatch(len(tokens), r.batchedSequences())
	if r.beforeForward != nil {
		r.beforeForward()
	}
	// ml/backend/ggml offers no way to stop a computation in flight (engine/llama's Abort): a request
	// that ends now is ended once the pass returns, before anything is sampled for it.
	logits, err := r.forward(b, tokens, outputs, images)
	if err != nil {
		for _, seq := range r.active {
			if seq.batched > 0 {
				r.end(seq, "", err)
			}
		}
		r.compact()
		return
	}
	vocab := 0
	if len(outputs) > 0 {
		vocab = len(logits) / len(outputs)
	}
	for _, seq := range r.active {
		if seq.batched == 0 {
			continue
		}
		seq.slot.Inputs = append(seq.slot.Inputs, seq.pending[:seq.batched]...)
		seq.pending = seq.pending[seq.batched:]
		if err := seq.ctx.Err(); err != nil { // the request ended during the step: nothing more for it
			engine.ObserveCancelled(true)
			r.end(seq, "", err)
			continue
		}
		if seq.row < 0 {
			continue // still prefilling
		}
		r.sample(seq, logits[seq.row*vocab:(seq.row+1)*vocab])
	}
	r.compact()
}

// forward builds the model's graph for the batch, its images' embeddings as inputs, and computes it,
// returning the logits of the outputs' rows, one row of the vocabulary's size each.
func (r *Runner) forward(b input.Batch, tokens, outputs []int32, images []batchImage) (logits []float32, err error) {
	ctx := r.model.Backend().NewContext()
	defer ctx.Close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the Go engine failed: %v", p)
		}
	}()
	b.Inputs = ctx.Input().FromInts(tokens, len(tokens))
	b.Outputs = ctx.Input().FromInts(outputs, len(outputs))
	b.Multimodal = multimodal(ctx, images)
	ctx.SetBatchSize(len(tokens))
	out, err := model.Forward(ctx, r.model, b)
	if err != nil {
		return nil, fmt.Errorf("the Go engine could not build the %s graph: %w", r.arch, err)
	}
	threads := r.threads.Threads(len(tokens))
	start := time.Now()
	logits, err = compute(ctx, out, r.model.Backend(), threads)
	r.threads.Observe(len(tokens), threads, time.Since(start))
	return logits, err
}

// shiftSlot makes room in seq's full slot by dropping half of the inputs after num_keep (Ollama's input
// cache does the arithmetic and the cache edit). Caches that cannot drop a range hand back the inputs to
// evaluate again: seq goes back to prefilling them. It reports false when seq ended.
func (r *Runner) shiftSlot(seq *sequence) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			r.end(seq, "", fmt.Errorf("the Go engine failed shifting the context: %v", p))
			ok = false
		}
	}()
	err := r.cache.ShiftCacheSlot(seq.slot, int32(seq.limits.NumKeep))
	var again *ollamarunner.ErrReprocessInputs
	switch {
	case errors.As(err, &again):
		seq.pending = append(again.Inputs, seq.pending...)
		seq.state = decode.Prefilling
	case err != nil:
		r.end(seq, "", err)
		return false
	}
	return true
}

// batchedSequences counts the sequences with inputs in the step's batch.
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

// sample picks seq's next token from its logits and decides whether the sequence goes on.
func (r *Runner) sample(seq *sequence, logits []float32) {
	tok, err := seq.sampler.Sample(logits)
	if err != nil {
		r.end(seq, "", err)
		return
	}
	seq.metrics.Sampled()
	if r.tok.Is(tok, tokenizer.SpecialEOS) {
		r.end(seq, "stop", nil)
		return
	}
	piece, err := r.tok.Decode([]int32{tok})
	if err != nil {
		r.end(seq, "", err)
		return
	}
	var lp []api.Logprob
	if seq.logprobs {
		lp = r.logprobs(logits, tok, seq.topLogprobs)
	}
	if seq.out.Emit(piece, lp) {
		r.end(seq, "stop", nil)
		return
	}
	if seq.metrics.Decoded >= seq.limits.NumPredict {
		r.end(seq, "length", nil)
		return
	}
	seq.pending = []*input.Input{{Token: tok}}
	seq.state = decode.Generating
}

// logprobs is Ollama's log probability of the chosen token and its topK alternatives, in the API's shape
// with each token's bytes, as engine/llama reports them.
func (r *Runner) logprobs(logits []float32, tok int32, topK int) []api.Logprob {
	piece := func(id int) string {
		s, _ := r.tok.Decode([]int32{int32(id)})
		return s
	}
	var out []api.Logprob
	for _, l := range common.CalculateLogprobs(logits, int(tok), topK, piece) {
		lp := api.Logprob{TokenLogprob: decode.TokenLogprob(l.Token, l.Logprob)}
		for _, t := range l.TopLogprobs {
			lp.TopLogprobs = append(lp.TopLogprobs, decode.TokenLogprob(t.Token, t.Logprob))
		}
		out = append(out, lp)
	}
	return out
}
