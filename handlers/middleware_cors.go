package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// corsAllowHeaders are the request headers Ollama lets browsers send, the OpenAI SDK's included.
var corsAllowHeaders = []string{
	"Authorization", "Content-Type", "User-Agent", "Accept", "X-Requested-With", "Openai-Beta",
	"X-Stainless-Arch", "X-Stainless-Async", "X-Stainless-Custom-Poll-Interval", "X-Stainless-Helper-Method",
	"X-Stainless-Lang", "X-Stainless-Os", "X-Stainless-Package-Version", "X-Stainless-Poll-Helper",
	"X-Stainless-Retry-Count", "X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Timeout",
}

// DefaultOrigins are the origins Ollama always allows besides OLLAMA_ORIGINS: local pages on any port and
// the schemes of desktop and editor apps.
func DefaultOrigins() []string {
	var out []string
	for _, h := range []string{"localhost", "127.0.0.1", "0.0.0.0"} {
		out = append(out, "http://"+h, "https://"+h, "http://"+h+":*", "https://"+h+":*")
	}
	return append(out, "app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*")
}

// CORS answers browsers the way Ollama does: a request whose Origin is not allowed gets 403 with an empty
// body; an allowed preflight gets 204 with the allowed methods and headers, cached for 12 hours; an allowed
// request gets Access-Control-Allow-Origin. Requests without Origin, or from the server's own origin, pass
// untouched. origins are exact origins or patterns with one "*" ("http://localhost:*"); "*" allows all.
func CORS(origins []string) func(http.Handler) http.Handler {
	allowAll := false
	var exact []string
	var wildcards [][2]string
	for _, o := range origins {
		o = strings.ToLower(strings.TrimSpace(o))
		switch i := strings.IndexByte(o, '*'); {
		case o == "*":
			allowAll = true
		case i >= 0:
			wildcards = append(wildcards, [2]string{o[:i], o[i+1:]})
		case o != "":
			exact = append(exact, o)
		}
	}
	allowed := func(origin string) bool {
		origin = strings.ToLower(origin)
		if allowAll {
			return true
		}
		for _, e := range exact {
			if e == origin {
				return true
			}
		}
		for _, w := range wildcards {
			if strings.HasPrefix(origin, w[0]) && strings.HasSuffix(origin, w[1]) && len(origin) >= len(w[0])+len(w[1]) {
				return true
			}
		}
		return false
	}
	maxAge := strconv.Itoa(int((12 * time.Hour).Seconds()))
	allowHeaders := strings.Join(corsAllowHeaders, ",")

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" || origin == "http://"+r.Host || origin == "https://"+r.Host {
				next.ServeHTTP(w, r)
				return
			}
			if !allowed(origin) {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			h := w.Header()
			if allowAll {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			if r.Method == http.MethodOptions {
				if !allowAll {
					h.Add("Vary", "Origin")
					h.Add("Vary", "Access-Control-Request-Method")
					h.Add("Vary", "Access-Control-Request-Headers")
				}
				h.Set("Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS")
				h.Set("Access-Control-Allow-Headers", allowHeaders)
				h.Set("Access-Control-Max-Age", maxAge)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if !allowAll {
				h.Set("Vary", "Origin")
			}
			next.ServeHTTP(w, r)
		})
	}
}
