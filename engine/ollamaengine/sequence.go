package ollamaengine

import (
	"context"

	"github.com/ollama/ollama/model/input"
	"github.com/ollama/ollama/runner/ollamarunner"
	"github.com/ollama/ollama/sample"

	"github.com/hearthlink/hearth/engine/decode"
	"github.com/hearthlink/hearth/engine/stream"
)

// sequence is one request being generated. The decode loop owns every field once the sequence is queued.
type sequence struct {
	ctx     context.Context
	state   decode.State
	prompt  []*input.Input // every prompt input, after truncation
	images  *encodedImages // the prompt's images, by their inputs' tensors
	pending []*input.Input // inputs to evaluate next: the rest of the prompt, then the last sampled token
	slot    *ollamarunner.InputCacheSlot
	sampler sample.Sampler
	grammar *sample.GrammarSampler // nil without a format; freed when the sequence ends

	limits      decode.Limits
	shift       bool
	logprobs    bool
	topLogprobs int

	// Batch bookkeeping for the current step.
	batched int // inputs of pending put in this step's batch
	row     int // row of this sequence's logits in the step's output, -1 when it samples nothing

	out     *stream.Output
	metrics decode.Metrics
}

// finish sends the final chunk with reason (or err) and its metrics.
func (s *sequence) finish(reason string, err error) {
	s.state = decode.Done
	s.free()
	s.out.Finish(s.metrics.Final(reason, err))
}

// free releases the grammar's C state and the graphs of images never evaluated.
func (s *sequence) free() {
	if s.grammar != nil {
		s.grammar.Free()
		s.grammar = nil
	}
	s.images.close()
}
