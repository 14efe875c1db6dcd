package llama

import (
	"context"
	"errors"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/decode"
	"github.com/hearthlink/hearth/internal/llamaext"
)

// A generative model embeds too, as with Ollama's llama.cpp runner.
var _ engine.Embedder = (*Runner)(nil)

// errNotTruncatable is Ollama's answer when an input over the context is no longer than what truncation
// would keep (server/routes.go, EmbedHandler).
var errNotTruncatable = &engine.RequestError{Msg: "input exceeds maximum context length and cannot be truncated further"}

// Embed returns, per input, what Ollama's llama.cpp runner (runner/llamarunner) answers for a generative
// model: the model's last hidden state (after its output norm) at the input's last token. Ollama makes
// every llama context with embeddings on and the model's own pooling, which for a model without a
// pooling_type key (the only kind a Runner loads: IsEncoder sends the others to an Encoder) is none, so
// llama_get_embeddings_seq has nothing and the vector is llama_get_embeddings_ith of the last token.
// Vectors come as the model computes them; the pipeline normalises them.
//
// Each input becomes a sequence of the decode loop, one slot each, like a generation whose prefill ends in
// a vector instead of a sampled token: inputs are batched with one another and with the generations in
// flight (continuous batching), and a prompt prefix already in a slot's cache is reused.
func (r *Runner) Embed(ctx context.Context, inputs []string, truncate bool) ([][]float32, int, error) {
	seqs := make([]*sequence, len(inputs))
	tokens := 0
	for i, in := range inputs {
		ids, err := r.embedTokens(in, truncate)
		if err != nil {
			return nil, 0, err
		}
		seqs[i] = &sequence{ctx: ctx, prompt: ids, vec: make(chan embedResult, 1)}
		tokens += len(ids)
	}
	// Submit waits for an idle slot; sequences already queued finish (or end with ctx) on their own.
	queued := seqs[:0:0]
	var err error
	for _, seq := range seqs {
		seq.state = decode.Queued
		if err = r.queue.Submit(ctx, seq); err != nil {
			break
		}
		queued = append(queued, seq)
	}
	out := make([][]float32, len(queued))
	for i, seq := range queued {
		res := <-seq.vec
		out[i] = res.vec
		if err == nil {
			err = res.err
		}
	}
	if err != nil {
		return nil, 0, err
	}
	return out, tokens, nil
}

// embedTokens tokenizes one input with the model's special tokens. An input over a slot's context is
// refused with engine.ErrInputTooLong unless truncate, and otherwise cut as Ollama's /api/embed does:
// the text's tokens (without special tokens) are kept up to the context less room for a BOS and an EOS,
// turned back into text, and tokenized again.
func (r *Runner) embedTokens(text string, truncate bool) ([]int, error) {
	ids, err := r.model.Tokenize(text, true, true)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, &engine.RequestError{Msg: "no input provided"}
	}
	if len(ids) <= r.numCtx {
		return ids, nil
	}
	if !truncate {
		return nil, engine.ErrInputTooLong
	}
	plain, err := r.model.Tokenize(text, false, true)
	if err != nil {
		return nil, err
	}
	// Ollama reads add_bos_token and add_eos_token under the architecture's prefix, where no GGUF has them,
	// so it always makes room for both.
	sp := llamaext.VocabSpecials(r.model)
	keep := r.numCtx
	if len(plain) > 0 && plain[0] != sp.BOS {
		keep--
	}
	if len(plain) > 0 && plain[len(plain)-1] != sp.EOS {
		keep--
	}
	switch {
	case len(plain) <= keep:
		return nil, errNotTruncatable
	case keep <= 0:
		return nil, engine.ErrTruncatedTooLong
	}
	cut, err := r.Detokenize(plain[:keep])
	if err != nil {
		return nil, err
	}
	if ids, err = r.model.Tokenize(cut, true, true); err != nil {
		return nil, err
	}
	if len(ids) > r.numCtx {
		return nil, engine.ErrInputTooLong
	}
	return ids, nil
}

// embedded ends an Embed sequence whose last prompt token was just evaluated, with that token's vector.
// Only the loop calls it.
func (r *Runner) embedded(seq *sequence) {
	v := r.lctx.GetEmbeddingsSeq(seq.slot.id) // nil without pooling, as for every model a Runner loads
	if v == nil {
		v = r.lctx.GetEmbeddingsIth(seq.iBatch)
	}
	if v == nil {
		r.end(seq, "", errors.New("llama.cpp returned no embedding for the sequence"))
		return
	}
	seq.state = decode.Done
	seq.vec <- embedResult{vec: v}
	r.release(seq)
}
