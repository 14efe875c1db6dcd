package handlers

//lint:file-ignore U1000 staticcheck misses methods of generic types that are only called through a generic interface

import (
	"encoding/json"
	"io"
	"net/http"
)

// ndjson is Ollama's native wireFormat: one JSON object per line, {"error": ...} for errors.
type ndjson[T any] struct{}

func (ndjson[T]) streamHeader(h http.Header)       { h.Set("Content-Type", "application/x-ndjson") }
func (ndjson[T]) chunk(w io.Writer, v T) error     { return json.NewEncoder(w).Encode(v) }
func (ndjson[T]) end(io.Writer) error              { return nil }
func (ndjson[T]) reply(w http.ResponseWriter, v T) { writeJSON(w, http.StatusOK, v) }
func (ndjson[T]) streamError(w io.Writer, err error) error {
	return json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
}
func (ndjson[T]) fail(w http.ResponseWriter, status int, msg string) { writeError(w, status, msg) }
