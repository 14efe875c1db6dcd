// Package stream turns the token pieces a generative backend's decode loop samples into the engine.Chunk
// values its Generate channel carries, with the guarantees every backend owes the HTTP layer: no chunk
// holds part of a stop string, every chunk is valid UTF-8, the logprobs of a token travel with its text,
// and the decode loop never waits for a slow client (chunks queue without bound until the client reads
// them). Both generative engines, engine/llama and engine/ollamaengine, send their output through it.
package stream

import (
	"context"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/engine"
)

// Output is one sequence's output. The decode loop calls Emit for each piece and Finish once; Chan hands
// the chunks to the client. Emit and Finish are for one goroutine.
type Output struct {
	stops []string

	// Text held back because it may start a stop string or ends inside a UTF-8 character, and the
	// logprobs of the tokens behind it.
	held         string
	heldLogprobs []api.Logprob

	q queue
}

// New returns an Output that ends at the first of stops.
func New(stops []string) *Output {
	return &Output{stops: stops, q: queue{ready: make(chan struct{}, 1)}}
}

// Emit appends a generated piece, queues what can safely be sent and reports whether a stop string ended
// the sequence; the text from the stop string on is dropped.
func (o *Output) Emit(piece string, lp []api.Logprob) (stopped bool) {
	o.held += piece
	o.heldLogprobs = append(o.heldLogprobs, lp...)
	if i := FindStop(o.held, o.stops); i >= 0 {
		o.held = o.held[:i]
		o.flush()
		return true
	}
	keep := max(StopPrefixLen(o.held, o.stops), IncompleteUTF8Len(o.held))
	if keep == len(o.held) {
		return false
	}
	text := o.held[:len(o.held)-keep]
	o.held = o.held[len(o.held)-keep:]
	o.q.push(engine.Chunk{Text: ValidUTF8(text), Logprobs: o.heldLogprobs})
	o.heldLogprobs = nil
	return false
}

// flush queues whatever is held, without a trailing incomplete UTF-8 character: at the end of a sequence
// a held possible stop prefix is ordinary text after all.
func (o *Output) flush() {
	text := ValidUTF8(o.held[:len(o.held)-IncompleteUTF8Len(o.held)])
	o.held = ""
	if text != "" || len(o.heldLogprobs) > 0 {
		o.q.push(engine.Chunk{Text: text, Logprobs: o.heldLogprobs})
	}
	o.heldLogprobs = nil
}

// Finish queues the held output (unless done carries an error) and then done, the final chunk, which
// Finish marks Done.
func (o *Output) Finish(done engine.Chunk) {
	if done.Err == nil {
		o.flush()
	}
	done.Done = true
	o.q.push(done)
	o.q.close()
}

// Chan forwards the queued chunks into a channel until the final chunk or until ctx ends, then closes it.
func (o *Output) Chan(ctx context.Context) <-chan engine.Chunk { return o.q.pump(ctx) }

// ValidUTF8 replaces each byte of text that cannot be part of a UTF-8 character (a lone byte token such as
// <0xCA> followed by ASCII: random or badly trained models emit them) with U+FFFD, so no chunk ever carries
// invalid UTF-8. Ollama cuts such text at the first bad byte and loses the rest; the replacement keeps it.
func ValidUTF8(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	return strings.ToValidUTF8(text, string(utf8.RuneError))
}

// FindStop returns the index of the earliest stop string in text, or -1.
func FindStop(text string, stops []string) int {
	best := -1
	for _, st := range stops {
		if st == "" {
			continue
		}
		if i := strings.Index(text, st); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// StopPrefixLen is the length of the longest suffix of text that begins some stop string.
func StopPrefixLen(text string, stops []string) int {
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

// IncompleteUTF8Len is the number of bytes at the end of text that begin a UTF-8 character not yet
// complete.
func IncompleteUTF8Len(text string) int {
	for i := 1; i <= min(3, len(text)); i++ {
		c := text[len(text)-i]
		if c&0xC0 == 0x80 {
			continue // a continuation byte: look further back for the leading one
		}
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
	return 0
}

// queue is an unbounded queue of chunks.
type queue struct {
	mu     sync.Mutex
	items  []engine.Chunk
	closed bool
	ready  chan struct{}
}

func (q *queue) push(c engine.Chunk) {
	q.mu.Lock()
	q.items = append(q.items, c)
	q.mu.Unlock()
	q.signal()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *queue) pump(ctx context.Context) <-chan engine.Chunk {
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
