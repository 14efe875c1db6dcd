package handlers

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/klauspost/compress/zstd"
	"github.com/ollama/ollama/api"
)

func newTestServer(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// A bare transport: no transparent gzip, so the test sees exactly what the server sent.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestRootAndVersion(t *testing.T) {
	srv := newTestServer(t, Options{})
	resp, body := do(t, http.MethodGet, srv.URL+"/", nil, nil)
	if resp.StatusCode != 200 || string(body) != "Ollama is running" {
		t.Errorf("GET / = %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodHead, srv.URL+"/", nil, nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD / = %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodGet, srv.URL+"/api/version", nil, nil)
	var v struct{ Version string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil || v.Version != OllamaVersion {
		t.Errorf("GET /api/version = %d %q", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("version Content-Type = %q", ct)
	}
}

// The official Go client's heartbeat and version calls work against hearth.
func TestOfficialClientHeartbeat(t *testing.T) {
	srv := newTestServer(t, Options{})
	u, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	c := api.NewClient(u.URL, srv.Client())
	if err := c.Heartbeat(t.Context()); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	v, err := c.Version(t.Context())
	if err != nil || v != OllamaVersion {
		t.Fatalf("Version = %q, %v", v, err)
	}
}

func TestUnknownRouteAndWrongMethod(t *testing.T) {
	srv := newTestServer(t, Options{})
	resp, body := do(t, http.MethodGet, srv.URL+"/api/nope", nil, nil)
	if resp.StatusCode != 404 || string(body) != "404 page not found" {
		t.Errorf("unknown route = %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodPost, srv.URL+"/api/version", nil, nil)
	if resp.StatusCode != 405 || string(body) != "405 method not allowed" {
		t.Errorf("wrong method = %d %q", resp.StatusCode, body)
	}
}

// bigJSON answers a JSON body large enough to be worth compressing.
func bigJSON(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]string{"data": strings.Repeat("hearth ", 2000)})
}

// fromRemote makes requests look as if they came from another machine.
func fromRemote(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "192.0.2.10:50000"
		h.ServeHTTP(w, r)
	})
}

func TestCompression(t *testing.T) {
	srv := httptest.NewServer(fromRemote(Compress()(http.HandlerFunc(bigJSON))))
	defer srv.Close()
	want := strings.Repeat("hearth ", 2000)

	for _, tc := range []struct {
		accept, encoding string
		decode           func(io.Reader) (io.Reader, error)
	}{
		{"gzip", "gzip", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
		{"zstd, gzip", "zstd", func(r io.Reader) (io.Reader, error) { d, err := zstd.NewReader(r); return d, err }},
		{"", "", func(r io.Reader) (io.Reader, error) { return r, nil }},
	} {
		resp, body := do(t, http.MethodGet, srv.URL, nil, map[string]string{"Accept-Encoding": tc.accept})
		if got := resp.Header.Get("Content-Encoding"); got != tc.encoding {
			t.Errorf("Accept-Encoding %q: Content-Encoding = %q, want %q", tc.accept, got, tc.encoding)
			continue
		}
		r, err := tc.decode(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(r)
		var v map[string]string
		if err := json.Unmarshal(plain, &v); err != nil || v["data"] != want {
			t.Errorf("Accept-Encoding %q: body does not decode to the original (%v)", tc.accept, err)
		}
	}
}

// A client on this machine gets plain JSON whatever it accepts: compressing costs both sides time.
func TestCompressionSkipsLocalClients(t *testing.T) {
	srv := httptest.NewServer(Compress()(http.HandlerFunc(bigJSON)))
	defer srv.Close()
	resp, body := do(t, http.MethodGet, srv.URL, nil, map[string]string{"Accept-Encoding": "zstd, gzip"})
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("loopback client got Content-Encoding %q", ce)
	}
	var v map[string]string
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("loopback reply is not plain JSON: %v", err)
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "@": true, "": true,
		"192.0.2.10:50000": false, "[2001:db8::1]:1": false, "10.0.0.1:80": false} {
		if got := localClient(addr); got != want {
			t.Errorf("localClient(%q) = %v, want %v", addr, got, want)
		}
	}
}

// An NDJSON stream is never compressed, so each line reaches the client when flushed.
func TestCompressionSkipsStreams(t *testing.T) {
	h := fromRemote(Compress()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		for range 100 {
			_, _ = io.WriteString(w, `{"response":"`+strings.Repeat("x", 50)+`","done":false}`+"\n")
			w.(http.Flusher).Flush()
		}
	})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, body := do(t, http.MethodGet, srv.URL, nil, map[string]string{"Accept-Encoding": "gzip, zstd"})
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		t.Fatalf("stream compressed with %q", ce)
	}
	if n := bytes.Count(body, []byte("\n")); n != 100 {
		t.Fatalf("got %d lines, want 100", n)
	}
}

func TestBodyLimitAndDecodeErrors(t *testing.T) {
	r := chi.NewRouter()
	r.Use(LimitBody(64))
	r.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if decodeJSON(w, r, &v) {
			writeJSON(w, 200, v)
		}
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	for _, tc := range []struct {
		body   string
		status int
		errMsg string
	}{
		{`{"a":1}`, 200, ""},
		{``, 400, "missing request body"},
		{`{"a":`, 400, "unexpected EOF"},
		{`[1,2]`, 400, "json: cannot unmarshal array into Go value of type map[string]interface {}"},
		{`{"a":"` + strings.Repeat("x", 100) + `"}`, 413, "request body too large"},
	} {
		resp, body := do(t, http.MethodPost, srv.URL+"/echo", strings.NewReader(tc.body), nil)
		if resp.StatusCode != tc.status {
			t.Errorf("body %.20q: status %d, want %d (%s)", tc.body, resp.StatusCode, tc.status, body)
			continue
		}
		if tc.errMsg != "" {
			var e errorBody
			if err := json.Unmarshal(body, &e); err != nil || e.Error != tc.errMsg {
				t.Errorf("body %.20q: error %q, want %q", tc.body, body, tc.errMsg)
			}
		}
	}
}

func TestRecoverAnswers500AndKeepsServing(t *testing.T) {
	r := chi.NewRouter()
	r.Use(Recover(slog.New(slog.DiscardHandler)))
	r.Get("/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	r.Get("/ok", root)
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, body := do(t, http.MethodGet, srv.URL+"/boom", nil, nil)
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"error":"internal server error"`) {
		t.Errorf("panic = %d %q", resp.StatusCode, body)
	}
	if resp, _ := do(t, http.MethodGet, srv.URL+"/ok", nil, nil); resp.StatusCode != 200 {
		t.Errorf("after panic: %d", resp.StatusCode)
	}
}
