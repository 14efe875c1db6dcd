package handlers

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// streamOptions say how a streaming route answers besides the values its work emits.
type streamOptions[T any] struct {
	// Stream is the request's "stream" field: absent (nil) or true streams NDJSON, false answers one
	// JSON object once the work is done.
	Stream *bool
	// Reduce folds the emitted values into the one object a stream:false request gets; nil keeps the
	// last value (what pull, push and create answer). Generate and chat concatenate text here.
	Reduce func(acc, next T) T
	// Status maps the work's error to the HTTP status it is answered with when nothing was streamed
	// yet (and always for stream:false); nil means 500.
	Status func(error) int
	// Single, when set and true for the first value emitted, answers a streaming request as stream:false
	// is answered (one JSON object), as Ollama's generate and chat answer a model load or unload (c.JSON,
	// not an NDJSON stream).
	Single func(T) bool
	// Format writes the answer; nil is Ollama's own (NDJSON stream, {"error": ...} bodies). The OpenAI-
	// and Anthropic-compatible routes pass theirs to answer in their protocol.
	Format wireFormat[T]
}

// wireFormat writes a streaming route's answer in one protocol: Ollama's NDJSON (ndjson), or the
// server-sent events and error shapes of the OpenAI and Anthropic routes. A wireFormat may keep state
// across a stream (a converter's event sequence), so each request gets a fresh one.
type wireFormat[T any] interface {
	// streamHeader sets the headers of a streamed answer, its Content-Type first.
	streamHeader(h http.Header)
	// chunk writes one streamed value.
	chunk(w io.Writer, v T) error
	// end closes a stream whose work succeeded (SSE's "data: [DONE]").
	end(w io.Writer) error
	// streamError reports err in a stream that has already started, where the status can no longer change.
	streamError(w io.Writer, err error) error
	// reply answers a stream:false request with the folded value.
	reply(w http.ResponseWriter, v T)
	// fail answers an error with status before anything was written.
	fail(w http.ResponseWriter, status int, msg string)
}

// serveStream runs work, which reports progress through emit, and answers the way Ollama's streaming
// routes do:
//   - streaming: each value is one NDJSON line (Content-Type application/x-ndjson), flushed as soon as
//     it is written. An error before the first line is an ordinary JSON error with its status; an
//     error after it is a last line {"error": "..."} on the 200 stream.
//   - stream:false: the values are folded with Reduce and sent as one JSON object, or the error with
//     its status.
//
// opts.Format changes the encoding of each of these, not when they happen.
//
// emit fails once the client has gone (ctx is then cancelled too), so work can stop early. work runs on
// the request's goroutine and emit writes each value before it returns; emits are serialised, so work
// may emit from any goroutine until it returns.
func serveStream[T any](w http.ResponseWriter, r *http.Request, opts streamOptions[T], work func(ctx context.Context, emit func(T) error) error) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	streaming := opts.Stream == nil || *opts.Stream
	format := opts.Format
	if format == nil {
		format = ndjson[T]{}
	}
	rc := http.NewResponseController(w)
	start := func() {
		format.streamHeader(w.Header())
		w.WriteHeader(http.StatusOK)
	}
	var mu sync.Mutex
	started, broken := false, false
	var acc T
	have := false
	emit := func(v T) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if streaming && !started && opts.Single != nil && opts.Single(v) {
			streaming = false // answered like stream:false from here on
		}
		switch {
		case broken:
			return context.Canceled
		case streaming:
			if !started {
				start()
				started = true
			}
			if err := format.chunk(w, v); err != nil {
				broken = true
				cancel()
				return ctx.Err()
			}
			_ = rc.Flush()
		case opts.Reduce != nil && have:
			acc = opts.Reduce(acc, v)
		default:
			acc, have = v, true
		}
		return nil
	}
	err := work(ctx, emit)
	mu.Lock()
	defer mu.Unlock()
	if broken {
		return
	}

	if err != nil {
		if started {
			_ = format.streamError(w, err)
			_ = rc.Flush()
			return
		}
		status := http.StatusInternalServerError
		if opts.Status != nil {
			status = opts.Status(err)
		}
		format.fail(w, status, err.Error())
		return
	}
	switch {
	case streaming:
		if !started {
			start()
		}
		if format.end(w) == nil {
			_ = rc.Flush()
		}
	default:
		format.reply(w, acc)
	}
}
