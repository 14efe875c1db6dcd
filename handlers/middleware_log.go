package handlers

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/rs/zerolog"
)

// AccessLog writes one line per request once it is answered: method, path, status, bytes and latency.
// Streaming responses are logged when the stream ends. The wrapper keeps http.Flusher working.
func AccessLog(log zerolog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			// A writer already wrapped at the start of the chain (the metrics middleware's) counts the
			// same status and bytes; a second wrapper would only cost allocations.
			ww, ok := w.(middleware.WrapResponseWriter)
			if !ok {
				ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			}
			defer func() {
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK
				}
				ev := log.Info()
				if status >= 500 {
					ev = log.Warn()
				}
				ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).
					Int("bytes", ww.BytesWritten()).Dur("latency", time.Since(start)).
					Str("remote", r.RemoteAddr).Msg("request")
			}()
			next.ServeHTTP(ww, r)
		})
	}
}
