package handlers

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// AccessLog writes one line per request once it is answered: method, path, status, bytes and latency.
// Streaming responses are logged when the stream ends. The wrapper keeps http.Flusher working.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
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
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelWarn
				}
				log.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method),
					slog.String("path", r.URL.Path), slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()), slog.Duration("latency", time.Since(start)),
					slog.String("remote", r.RemoteAddr))
			}()
			next.ServeHTTP(ww, r)
		})
	}
}
