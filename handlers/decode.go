package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// decodeJSON reads the request body into v and answers the client itself when that fails, the way Ollama
// does: 400 "missing request body" for an empty body, 400 with the decoder's message for malformed JSON or
// a wrong field type, 413 for a body over the size cap. It reports whether the handler should go on.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(r.Body).Decode(v)
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "missing request body")
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
	default:
		writeError(w, http.StatusBadRequest, err.Error())
	}
	return false
}
