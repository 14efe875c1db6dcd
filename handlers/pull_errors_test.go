package handlers_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/handlers"
	"github.com/hearthlink/hearth/registry"
	"github.com/hearthlink/hearth/registry/registrytest"
)

// transferResult is how a pull or push was answered: the status, and the error message, from the body
// of a non-200 answer or from the last line of a 200 NDJSON stream.
type transferResult struct {
	status int
	err    string
	lines  int // NDJSON lines of a 200 stream
}

// transfer posts body to route (/api/pull or /api/push) of srv and reads the whole answer.
func transfer(t *testing.T, srv *httptest.Server, route, body string) transferResult {
	t.Helper()
	resp, err := http.Post(srv.URL+route, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	res := transferResult{status: resp.StatusCode}
	var line struct {
		Error string `json:"error"`
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &line); err != nil {
			t.Fatalf("%s answered %d with %q, not JSON", route, resp.StatusCode, b)
		}
		res.err = line.Error
		return res
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		res.lines++
		line.Error = ""
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%s stream line %q: %v", route, sc.Text(), err)
		}
		res.err = line.Error
	}
	return res
}

// newTransferServer is a hearth over a fresh store whose pulls and pushes give a registry timeout to answer.
func newTransferServer(t *testing.T, timeout time.Duration) (*httptest.Server, *registry.Store) {
	t.Helper()
	store, err := registry.Open(t.TempDir(), registry.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handlers.New(handlers.Options{Store: store, RegistryTimeout: timeout}))
	t.Cleanup(srv.Close)
	return srv, store
}

// closedPort is a loopback address nothing listens on: connecting to it is refused.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentRegistry is a loopback listener that accepts connections and never answers.
func silentRegistry(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c // held open, unread, until the test ends
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	return ln.Addr().String()
}

// statusRegistry is a loopback registry that answers every request with status and an OCI error body.
func statusRegistry(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"errors":[{"code":"DENIED","message":"registry says no"}]}`)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestPullErrorsByCause pulls from registries that fail in each way a registry can: the client's
// mistake is 400, a registry that refuses the connection or whose name does not resolve 502, one that
// never answers 504, and a registry's own refusal keeps its meaning, each with the cause in the
// message; a streamed pull (the default) reports the same cause in its last line.
func TestPullErrorsByCause(t *testing.T) {
	srv, _ := newTransferServer(t, 300*time.Millisecond)
	real := registrytest.StartDistribution(t)
	cases := []struct {
		name   string
		model  string
		status int
		want   string
	}{
		{"http without insecure", "http://" + closedPort(t) + "/x/y:z", http.StatusBadRequest, "insecure protocol http"},
		{"host no URL can hold", "71:1.1:1/x/y", http.StatusBadRequest, "not a registry address"},
		{"refused", closedPort(t) + "/x/y:z", http.StatusBadGateway, "connection refused"},
		{"unresolvable", "registry.hearth-test.invalid/x/y:z", http.StatusBadGateway, "registry.hearth-test.invalid"},
		{"silent", silentRegistry(t) + "/x/y:z", http.StatusGatewayTimeout, "did not answer"},
		{"absent", real + "/library/absent:latest", http.StatusNotFound, "pull model manifest: file does not exist"},
		{"unauthorized", statusRegistry(t, http.StatusUnauthorized) + "/x/y:z", http.StatusUnauthorized, "registry says no"},
		{"forbidden", statusRegistry(t, http.StatusForbidden) + "/x/y:z", http.StatusForbidden, "registry says no"},
		{"failing", statusRegistry(t, http.StatusInternalServerError) + "/x/y:z", http.StatusBadGateway, "500"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			insecure := !strings.HasPrefix(c.model, "http://")
			body, _ := json.Marshal(map[string]any{"model": c.model, "insecure": insecure, "stream": false})
			got := transfer(t, srv, "/api/pull", string(body))
			if got.status != c.status || !strings.Contains(got.err, c.want) {
				t.Errorf("stream:false: %d %q, want %d with %q", got.status, got.err, c.status, c.want)
			}

			body, _ = json.Marshal(map[string]any{"model": c.model, "insecure": insecure})
			streamed := transfer(t, srv, "/api/pull", string(body))
			switch {
			case c.status == http.StatusBadRequest:
				// Refused before anything is pulled: no stream is started.
				if streamed.status != c.status || streamed.err != got.err {
					t.Errorf("streamed: %d %q, want %d %q", streamed.status, streamed.err, c.status, got.err)
				}
			case streamed.status != http.StatusOK || streamed.lines < 2 || streamed.err != got.err:
				t.Errorf("streamed: %d, %d lines, last error %q; want a 200 stream ending in %q",
					streamed.status, streamed.lines, streamed.err, got.err)
			}
		})
	}
}

// TestPushErrorsByCause pushes a stored model to registries that fail: the same statuses and causes as a
// pull, streamed or not.
func TestPushErrorsByCause(t *testing.T) {
	srv, store := newTransferServer(t, 300*time.Millisecond)
	u, _ := url.Parse(srv.URL)
	env := &storeEnv{t: t, store: store, srv: srv, client: api.NewClient(u, http.DefaultClient)}
	env.createGGUF("tiny", tinyGGUF(t, llamaKV(nil)))
	cases := []struct {
		name   string
		model  string
		status int
		want   string
	}{
		{"http without insecure", "http://" + closedPort(t) + "/x/y:z", http.StatusBadRequest, "insecure protocol http"},
		{"refused", closedPort(t) + "/x/y:z", http.StatusBadGateway, "connection refused"},
		{"unresolvable", "registry.hearth-test.invalid/x/y:z", http.StatusBadGateway, "registry.hearth-test.invalid"},
		{"silent", silentRegistry(t) + "/x/y:z", http.StatusGatewayTimeout, "did not answer"},
		{"forbidden", statusRegistry(t, http.StatusForbidden) + "/x/y:z", http.StatusForbidden, "403"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := env.client.Copy(t.Context(), &api.CopyRequest{Source: "tiny", Destination: c.model}); err != nil {
				t.Fatal(err)
			}
			insecure := !strings.HasPrefix(c.model, "http://")
			body, _ := json.Marshal(map[string]any{"model": c.model, "insecure": insecure, "stream": false})
			got := transfer(t, srv, "/api/push", string(body))
			if got.status != c.status || !strings.Contains(got.err, c.want) {
				t.Errorf("stream:false: %d %q, want %d with %q", got.status, got.err, c.status, c.want)
			}
			body, _ = json.Marshal(map[string]any{"model": c.model, "insecure": insecure})
			streamed := transfer(t, srv, "/api/push", string(body))
			switch {
			case c.status == http.StatusBadRequest:
				if streamed.status != c.status || streamed.err != got.err {
					t.Errorf("streamed: %d %q, want %d %q", streamed.status, streamed.err, c.status, got.err)
				}
			case streamed.status != http.StatusOK || streamed.err != got.err:
				t.Errorf("streamed: %d, last error %q; want a 200 stream ending in %q", streamed.status, streamed.err, got.err)
			}
		})
	}
}
