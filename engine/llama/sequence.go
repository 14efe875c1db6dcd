package llama

import (
	"context"

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

	limits      decode.Limits
	shift       bool
	logprobs    bool
	topLogprobs int

	// Batch bookkeeping for the current step.
	batched int // tokens of pending put in this step's batch
	iBatch  int // index of the token whose logits are sampled

	out     *stream.Output
	metrics decode.Metrics
}

// finish sends the held output and the final chunk with reason (or err) and its metrics.
func (s *sequence) finish(reason string, err error) { s.out.Finish(s.metrics.Final(reason, err)) }
