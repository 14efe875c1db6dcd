package llama

import (
	"context"
	"time"

	llamacpp "github.com/ollama/ollama/llama"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/stream"
)

// sequence is one request being generated. The decode loop owns every field once the sequence is queued.
type sequence struct {
	ctx     context.Context
	state   seqState
	prompt  []int // every prompt token, after truncation
	pending []int // tokens to evaluate next: the rest of the prompt, then the last sampled token
	slot    *slot
	sampler *llamacpp.SamplingContext

	numPredict  int
	numKeep     int
	shift       bool
	logprobs    bool
	topLogprobs int

	// Batch bookkeeping for the current step.
	batched int // tokens of pending put in this step's batch
	iBatch  int // index of the token whose logits are sampled

	out *stream.Output

	// Metrics.
	started     time.Time // first step that evaluated this sequence
	firstToken  time.Time
	numDecoded  int
	promptCount int
}

// finish sends the held output and the final chunk with reason (or err) and its metrics.
func (s *sequence) finish(reason string, err error) {
	now := time.Now()
	c := engine.Chunk{DoneReason: reason, PromptEvalCount: s.promptCount, EvalCount: s.numDecoded, Err: err}
	if !s.started.IsZero() {
		if s.firstToken.IsZero() {
			c.PromptEvalDuration = now.Sub(s.started)
		} else {
			c.PromptEvalDuration = s.firstToken.Sub(s.started)
			c.EvalDuration = now.Sub(s.firstToken)
		}
	}
	s.out.Finish(c)
}
