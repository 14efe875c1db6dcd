package handlers

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireAPIKey makes every route but the liveness probe (/) demand "Authorization: Bearer <key>" when
// key is set (HEARTH_API_KEY): Ollama has no way to protect a server exposed on a network. A missing or
// wrong key gets 401 in Ollama's error shape. CORS preflights pass, since browsers send them without
// credentials.
func RequireAPIKey(key string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if key == "" {
			return next
		}
		want := []byte(key)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" || r.Method == http.MethodOptions {
				next.ServeHTTP(w, r)
				return
			}
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hearth"`)
				writeError(w, http.StatusUnauthorized, "unauthorized: this server requires an API key (Authorization: Bearer <HEARTH_API_KEY>)")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
