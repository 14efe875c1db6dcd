package decode

import (
	"time"

	"github.com/hearthlink/hearth/engine"
)

// Metrics are a sequence's counts and times, which its final chunk reports. The decode loop that owns the
// sequence updates them.
type Metrics struct {
	// Prompt is the number of prompt tokens, cached ones included.
	Prompt int
	// Decoded is the number of tokens sampled.
	Decoded int

	started    time.Time // first step that evaluated the sequence
	firstToken time.Time // when the first token was sampled
}

// Evaluating records a step, started at now, that evaluates the sequence: the first starts the prompt's
// time.
func (m *Metrics) Evaluating(now time.Time) {
	if m.started.IsZero() {
		m.started = now
	}
}

// Sampled counts a sampled token: the first ends the prompt's time and starts generation's.
func (m *Metrics) Sampled() {
	m.Decoded++
	if m.Decoded == 1 {
		m.firstToken = time.Now()
	}
}

// Final is the final chunk with reason (or err) and the metrics: the prompt's time runs from the first
// evaluating step to the first token (or to now, without one), generation's from the first token to now.
func (m *Metrics) Final(reason string, err error) engine.Chunk {
	now := time.Now()
	c := engine.Chunk{DoneReason: reason, PromptEvalCount: m.Prompt, EvalCount: m.Decoded, Err: err}
	if !m.started.IsZero() {
		if m.firstToken.IsZero() {
			c.PromptEvalDuration = now.Sub(m.started)
		} else {
			c.PromptEvalDuration = m.firstToken.Sub(m.started)
			c.EvalDuration = now.Sub(m.firstToken)
		}
	}
	return c
}
