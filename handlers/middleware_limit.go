package handlers

import (
	"net/http"
	"strings"
)

// LimitBody caps request bodies at max bytes so a runaway client cannot exhaust memory while a JSON body
// is decoded. Blob uploads are exempt: they stream to disk and may be many gigabytes. A body over the cap
// makes decoding fail with *http.MaxBytesError, which decodeJSON answers with 413.
func LimitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if max <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && !strings.HasPrefix(r.URL.Path, "/api/blobs/") {
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}
