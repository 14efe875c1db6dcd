package llama

import (
	"context"
	"fmt"

	llamacpp "github.com/ollama/ollama/llama"

	"github.com/hearthlink/hearth/engine/decode"
	"github.com/hearthlink/hearth/engine/stream"
)

// sequence is one request being generated. The decode loop owns every field once the sequence is queued.
type sequence struct {
	ctx     context.Context
	state   decode.State
	prompt  []int // every prompt token, after truncation
	pending []int // tokens to evaluate next: the rest of the prompt, then the last sampled token
	slot    *slot
	sampler *llamacpp.SamplingContext

	// Its place in the KV pool (room.go): the order it was admitted in (older ones go first) and whether
	// cells are set aside for it.
	admitted uint64
	started  bool

	limits      decode.Limits
	shift       bool
	logprobs    bool
	topLogprobs int

	// Batch bookkeeping for the current step.
	batched int // tokens of pending put in this step's batch
	iBatch  int // index of the token whose logits are sampled

	out     *stream.Output
	metrics decode.Metrics

	// vec is set for an Embed sequence instead of out and sampler: it receives the vector of the last
	// prompt token, or why the sequence ended without one (buffered: one send, which never blocks the loop).
	vec chan embedResult
}

// embedResult is what an Embed sequence ends with.
type embedResult struct {
	vec []float32
	err error
}

// finish sends the held output and the final chunk with reason (or err) and its metrics; an Embed
// sequence, which ends here only without its vector, gets err.
func (s *sequence) finish(reason string, err error) {
	if s.vec != nil {
		if err == nil {
			err = fmt.Errorf("the sequence ended (%s) before its last token was evaluated", reason)
		}
		s.vec <- embedResult{err: err}
		return
	}
	s.out.Finish(s.metrics.Final(reason, err))
}
