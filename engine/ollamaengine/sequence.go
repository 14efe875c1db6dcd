package ollamaengine

import (
	"context"
	"time"

	"github.com/ollama/ollama/model/input"
	"github.com/ollama/ollama/runner/ollamarunner"
	"github.com/ollama/ollama/sample"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/stream"
)

// seqState is the phase of a sequence in the decode loop; the loop picks what to batch by it alone:
//
//	queued ──admit──▶ prefilling ──last prompt chunk computed, token sampled──▶ generating
//	                      │            ▲ (context shift that must re-evaluate)      │  ▲
//	                      │            └────────────────────────────────────────────┤  │ token computed and sampled
//	                      └──────────▶ done ◀── end (EOS, stop string, num_predict, └──┘
//	                                               full context, cancelled, engine error, unload)
type seqState int

const (
	// stateQueued: submitted by Generate, which holds a free slot for it, waiting in Runner.incoming.
	stateQueued seqState = iota
	// statePrefilling: in a cache slot, with prompt inputs left in pending, evaluated a chunk per step.
	statePrefilling
	// stateGenerating: pending holds the one token sampled last, to evaluate in the next step.
	stateGenerating
	// stateDone: the final chunk is sent and the slot released; the loop drops the sequence.
	stateDone
)

// sequence is one request being generated. The decode loop owns every field once the sequence is queued.
type sequence struct {
	ctx     context.Context
	state   seqState
	prompt  []*input.Input // every prompt input, after truncation
	pending []*input.Input // inputs to evaluate next: the rest of the prompt, then the last sampled token
	slot    *ollamarunner.InputCacheSlot
	sampler sample.Sampler
	grammar *sample.GrammarSampler // nil without a format; freed when the sequence ends

	numPredict  int
	numKeep     int32
	shift       bool
	logprobs    bool
	topLogprobs int

	// Batch bookkeeping for the current step.
	batched int // inputs of pending put in this step's batch
	row     int // row of this sequence's logits in the step's output, -1 when it samples nothing

	out *stream.Output

	// Metrics.
	started     time.Time // first step that evaluated this sequence
	firstToken  time.Time
	numDecoded  int
	promptCount int
}

// finish sends the final chunk with reason (or err) and its metrics.
func (s *sequence) finish(reason string, err error) {
	s.state = stateDone
	s.freeGrammar()
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

// freeGrammar releases the grammar's C state.
func (s *sequence) freeGrammar() {
	if s.grammar != nil {
		s.grammar.Free()
		s.grammar = nil
	}
}
