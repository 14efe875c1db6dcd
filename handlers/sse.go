package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// This file holds the glue the OpenAI- and Anthropic-compatible routes share: server-sent events, their
// JSON replies, and the step that turns a translated request into the native one.

// writeSSE writes one server-sent event: "event: <event>\n" when event is set, then "data: <json>\n\n".
// The caller flushes.
func writeSSE(w io.Writer, event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if event != "" {
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
	} else {
		_, err = fmt.Fprintf(w, "data: %s\n\n", b)
	}
	return err
}

// setSSEHeaders sets the headers of an event stream. no-cache keeps proxies from holding events back.
func setSSEHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
}

// writeCompatJSON writes v with the plain "application/json" content type that Ollama's OpenAI and
// Anthropic routes answer with (its native routes add "; charset=utf-8").
func writeCompatJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeCompat reads a translated route's JSON body into v. On failure it returns the status (400, or 413
// for a body over the size cap) and message that the route answers in its protocol's error shape.
func decodeCompat(r *http.Request, v any) (int, error) {
	err := json.NewDecoder(r.Body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, errors.New("missing request body")
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, errors.New("request body too large")
	default:
		return http.StatusBadRequest, err
	}
}

// toNative turns a request built by Ollama's translation packages into the native request type through
// JSON, as Ollama does when it hands the translated body to its native handler. The round trip matters:
// translated options hold Go ints, float32s and []string, which api.Options.FromMap only accepts in the
// shapes JSON decoding produces (float64, []any).
func toNative(translated, native any) error {
	b, err := json.Marshal(translated)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, native)
}
