package llama

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ollama/ollama/api"
	llamacpp "github.com/ollama/ollama/llama"

	"github.com/hearthlink/hearth/engine"
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
	stops       []string
	logprobs    bool
	topLogprobs int

	// Batch bookkeeping for the current step.
	batched int // tokens of pending put in this step's batch
	iBatch  int // index of the token whose logits are sampled

	// Output not yet sent: text held back because it may start a stop string or ends inside a UTF-8
	// character, and the logprobs of the tokens behind it.
	held         string
	heldLogprobs []api.Logprob
	out          *outQueue

	// Metrics.
	started     time.Time // first step that evaluated this sequence
	firstToken  time.Time
	numDecoded  int
	promptCount int
}

// emit appends a generated piece, sends what can safely be sent and reports whether a stop string ended
// the sequence.
func (s *sequence) emit(piece string, lp []api.Logprob) (stopped bool) {
	s.held += piece
	s.heldLogprobs = append(s.heldLogprobs, lp...)
	if i, _ := findStop(s.held, s.stops); i >= 0 {
		s.held = s.held[:i]
		s.flush()
		return true
	}
	keep := max(stopPrefixLen(s.held, s.stops), incompleteUTF8Len(s.held))
	if keep == len(s.held) {
		return false
	}
	text := s.held[:len(s.held)-keep]
	s.held = s.held[len(s.held)-keep:]
	s.out.push(engine.Chunk{Text: validUTF8(text), Logprobs: s.heldLogprobs})
	s.heldLogprobs = nil
	return false
}

// flush sends whatever is held, without a trailing incomplete UTF-8 character: at the end of a sequence a
// held possible stop prefix is ordinary text after all.
func (s *sequence) flush() {
	text := validUTF8(s.held[:len(s.held)-incompleteUTF8Len(s.held)])
	s.held = ""
	if text != "" || len(s.heldLogprobs) > 0 {
		s.out.push(engine.Chunk{Text: text, Logprobs: s.heldLogprobs})
	}
	s.heldLogprobs = nil
}

// finish sends the held output and the final chunk.
func (s *sequence) finish(reason string, err error) {
	if err == nil {
		s.flush()
	}
	now := time.Now()
	c := engine.Chunk{Done: true, DoneReason: reason, PromptEvalCount: s.promptCount, EvalCount: s.numDecoded, Err: err}
	if !s.started.IsZero() {
		if s.firstToken.IsZero() {
			c.PromptEvalDuration = now.Sub(s.started)
		} else {
			c.PromptEvalDuration = s.firstToken.Sub(s.started)
			c.EvalDuration = now.Sub(s.firstToken)
		}
	}
	s.out.push(c)
	s.out.close()
}

// validUTF8 replaces each byte of text that cannot be part of a UTF-8 character (a lone byte token such as
// <0xCA> followed by ASCII: random or badly trained models emit them) with U+FFFD, so no chunk ever carries
// invalid UTF-8. Ollama cuts such text at the first bad byte and loses the rest; the replacement keeps it.
func validUTF8(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	return strings.ToValidUTF8(text, string(utf8.RuneError))
}

// findStop returns the index of the earliest stop string in text and which one, or -1.
func findStop(text string, stops []string) (int, string) {
	best, which := -1, ""
	for _, st := range stops {
		if st == "" {
			continue
		}
		if i := strings.Index(text, st); i >= 0 && (best < 0 || i < best) {
			best, which = i, st
		}
	}
	return best, which
}

// stopPrefixLen is the length of the longest suffix of text that begins some stop string.
func stopPrefixLen(text string, stops []string) int {
	n := 0
	for _, st := range stops {
		for l := min(len(st)-1, len(text)); l > n; l-- {
			if strings.HasSuffix(text, st[:l]) {
				n = l
				break
			}
		}
	}
	return n
}

// incompleteUTF8Len is the number of bytes at the end of text that begin a UTF-8 character not yet
// complete.
func incompleteUTF8Len(text string) int {
	for i := 1; i <= min(3, len(text)); i++ {
		c := text[len(text)-i]
		if c&0xC0 != 0x80 { // a leading byte (or ASCII)
			need := 0
			switch {
			case c&0xE0 == 0xC0:
				need = 2
			case c&0xF0 == 0xE0:
				need = 3
			case c&0xF8 == 0xF0:
				need = 4
			}
			if need > i {
				return i
			}
			return 0
		}
	}
	return 0
}

// outQueue is an unbounded queue of chunks, so the decode loop never waits for a slow client.
type outQueue struct {
	mu     sync.Mutex
	items  []engine.Chunk
	closed bool
	ready  chan struct{}
}

func newOutQueue() *outQueue { return &outQueue{ready: make(chan struct{}, 1)} }

func (q *outQueue) push(c engine.Chunk) {
	q.mu.Lock()
	q.items = append(q.items, c)
	q.mu.Unlock()
	q.signal()
}

func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *outQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pump forwards the queue into a channel until the final chunk or until ctx ends.
func (q *outQueue) pump(ctx context.Context) <-chan engine.Chunk {
	ch := make(chan engine.Chunk)
	go func() {
		defer close(ch)
		for {
			q.mu.Lock()
			items, closed := q.items, q.closed
			q.items = nil
			q.mu.Unlock()
			for _, c := range items {
				select {
				case ch <- c:
				case <-ctx.Done():
					return
				}
			}
			if closed {
				q.mu.Lock()
				rest := len(q.items)
				q.mu.Unlock()
				if rest == 0 {
					return
				}
				continue
			}
			select {
			case <-q.ready:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
