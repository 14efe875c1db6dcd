package handlers

import (
	"io"
	"net/http"
)

// OllamaVersion is the Ollama release whose API hearth speaks; clients compare it with their own.
const OllamaVersion = "0.17.4"

// root answers the liveness probe every Ollama client sends (`HEAD /` from the Go client and the CLI).
func root(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, "Ollama is running")
	}
}

// version answers {"version": "0.17.4"}.
func version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": OllamaVersion})
}

// notFound and methodNotAllowed answer like Ollama's router: plain text, no JSON.
func notFound(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, "404 page not found")
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = io.WriteString(w, "405 method not allowed")
}
