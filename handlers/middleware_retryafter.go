package handlers

import (
	"net/http"
	"strconv"
)

// RetryAfter tells a client when to try again after a 503 (every model's queue was full): it adds a
// Retry-After header of the given seconds to each 503 answer that has none, whatever the route's wire format
// (Ollama's, OpenAI's, Anthropic's). SDKs that retry read it.
func RetryAfter(seconds int) func(http.Handler) http.Handler {
	value := strconv.Itoa(seconds)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(&retryAfterWriter{ResponseWriter: w, value: value}, r)
		})
	}
}

// retryAfterWriter sets Retry-After as a 503's header is written.
type retryAfterWriter struct {
	http.ResponseWriter
	value string
}

func (w *retryAfterWriter) WriteHeader(status int) {
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", w.value)
	}
	w.ResponseWriter.WriteHeader(status)
}

// Flush passes streaming flushes through.
func (w *retryAfterWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *retryAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
