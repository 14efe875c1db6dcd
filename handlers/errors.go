package handlers

import (
	"encoding/json"
	"net/http"
)

// errorBody is Ollama's error shape for every native route.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON writes v as a JSON body with Ollama's content type for non-streaming replies.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// statusError is a failure found before any work started, with the status it is answered with. The native
// routes answer it as {"error": msg}; the OpenAI and Anthropic routes rewrite it into their own shapes.
type statusError struct {
	status int
	msg    string
}

// Error returns the message the client sees.
func (e *statusError) Error() string { return e.msg }
