package handlers

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestCORS(t *testing.T) {
	srv := newTestServer(t, Options{Origins: []string{"https://app.example", "https://*.corp.example"}})
	for _, tc := range []struct {
		name, method, origin string
		status               int
		allowOrigin          string
	}{
		{"no origin", "GET", "", 200, ""},
		{"localhost any port", "GET", "http://localhost:5173", 200, "http://localhost:5173"},
		{"127.0.0.1 no port", "GET", "https://127.0.0.1", 200, "https://127.0.0.1"},
		{"vscode webview", "GET", "vscode-webview://abc", 200, "vscode-webview://abc"},
		{"configured exact", "GET", "https://app.example", 200, "https://app.example"},
		{"configured wildcard", "GET", "https://dev.corp.example", 200, "https://dev.corp.example"},
		{"foreign origin", "GET", "https://evil.example", 403, ""},
		{"foreign preflight", "OPTIONS", "https://evil.example", 403, ""},
		{"localhost lookalike", "GET", "http://localhost.evil.example", 403, ""},
		{"allowed preflight", "OPTIONS", "http://localhost:3000", 204, "http://localhost:3000"},
	} {
		resp, body := do(t, tc.method, srv.URL+"/api/version", nil, map[string]string{
			"Origin": tc.origin, "Access-Control-Request-Method": "POST",
		})
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", tc.name, got, tc.allowOrigin)
		}
		if tc.status == 403 && len(body) != 0 {
			t.Errorf("%s: 403 body %q, want empty", tc.name, body)
		}
		if tc.method == "OPTIONS" && tc.status == 204 {
			h := resp.Header
			if h.Get("Access-Control-Max-Age") != "43200" ||
				h.Get("Access-Control-Allow-Methods") != "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS" ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Stainless-Retry-Count") {
				t.Errorf("%s: preflight headers %v", tc.name, h)
			}
		}
	}
}

func TestCORSAllowAll(t *testing.T) {
	srv := newTestServer(t, Options{Origins: []string{"*"}})
	resp, _ := do(t, "GET", srv.URL+"/api/version", nil, map[string]string{"Origin": "https://anything.example"})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("OLLAMA_ORIGINS=*: %d %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestHostGuard(t *testing.T) {
	loopback := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 11434}
	srv := newTestServer(t, Options{Listen: loopback})
	for host, status := range map[string]int{
		"127.0.0.1:11434":        200,
		"localhost:11434":        200,
		"[::1]:11434":            200,
		"192.168.1.20":           200,
		"myapp.localhost":        200,
		"printer.local":          200,
		"svc.internal":           200,
		"evil.example":           403,
		"evil.example:11434":     403,
		"localhost.evil.example": 403,
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/version", nil)
		req.Host = host
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("Host %q: status %d, want %d", host, resp.StatusCode, status)
		}
	}

	// Listening on a routable address, the server is meant to be reached by name: no guard.
	open := newTestServer(t, Options{Listen: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 11434}})
	req, _ := http.NewRequest("GET", open.URL+"/api/version", nil)
	req.Host = "hearth.example"
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("non-loopback listener: status %d, want 200", resp.StatusCode)
	}
}

func TestRequireAPIKey(t *testing.T) {
	srv := newTestServer(t, Options{APIKey: "s3cret"})
	for _, tc := range []struct {
		path, auth string
		status     int
	}{
		{"/", "", 200},
		{"/api/version", "", 401},
		{"/api/version", "Bearer wrong", 401},
		{"/api/version", "s3cret", 401},
		{"/api/version", "Bearer s3cret", 200},
		{"/api/nope", "Bearer s3cret", 404},
		{"/api/nope", "", 401},
	} {
		resp, body := do(t, "GET", srv.URL+tc.path, nil, map[string]string{"Authorization": tc.auth})
		if resp.StatusCode != tc.status {
			t.Errorf("%s with %q: status %d, want %d", tc.path, tc.auth, resp.StatusCode, tc.status)
		}
		if tc.status == 401 && !strings.Contains(string(body), `"error":"unauthorized`) {
			t.Errorf("401 body %q is not Ollama's error shape", body)
		}
	}
	// Without a key configured, nothing is required.
	open := newTestServer(t, Options{})
	if resp, _ := do(t, "GET", open.URL+"/api/version", nil, nil); resp.StatusCode != 200 {
		t.Errorf("no key configured: status %d", resp.StatusCode)
	}
}
