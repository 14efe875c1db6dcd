package handlers

import (
	"context"
	"encoding/json"
	"net/http"
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
}

// serveStream runs work, which reports progress through emit, and answers the way Ollama's streaming
// routes do:
//   - streaming: each value is one NDJSON line (Content-Type application/x-ndjson), flushed as soon as
//     it is written. An error before the first line is an ordinary JSON error with its status; an
//     error after it is a last line {"error": "..."} on the 200 stream.
//   - stream:false: the values are folded with Reduce and sent as one JSON object, or the error with
//     its status.
//
// emit fails once the client has gone (ctx is then cancelled too), so work can stop early. Values
// are written from this goroutine only, so work may emit from any goroutine.
func serveStream[T any](w http.ResponseWriter, r *http.Request, opts streamOptions[T], work func(ctx context.Context, emit func(T) error) error) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	values := make(chan T)
	done := make(chan error, 1)
	go func() {
		defer close(values)
		done <- work(ctx, func(v T) error {
			select {
			case values <- v:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	streaming := opts.Stream == nil || *opts.Stream
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	started, broken := false, false
	var acc T
	have := false
	for v := range values {
		switch {
		case broken:
		case streaming:
			if !started {
				w.Header().Set("Content-Type", "application/x-ndjson")
				w.WriteHeader(http.StatusOK)
				started = true
			}
			if err := enc.Encode(v); err != nil {
				broken = true
				cancel()
				continue
			}
			_ = rc.Flush()
		case opts.Reduce != nil && have:
			acc = opts.Reduce(acc, v)
		default:
			acc, have = v, true
		}
	}
	err := <-done
	if broken {
		return
	}

	if err != nil {
		if started {
			_ = enc.Encode(errorBody{Error: err.Error()})
			_ = rc.Flush()
			return
		}
		status := http.StatusInternalServerError
		if opts.Status != nil {
			status = opts.Status(err)
		}
		writeError(w, status, err.Error())
		return
	}
	switch {
	case streaming && !started:
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	case !streaming:
		writeJSON(w, http.StatusOK, acc)
	}
}
