package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// fastTransfer is a transfer tuned for tests: tiny parts so that every blob is split, no waiting
// between tries.
func fastTransfer(progress func(api.ProgressResponse)) TransferOptions {
	return TransferOptions{Insecure: true, Progress: progress, PartSize: 16 << 10, Parallel: 4, RetryBackoff: time.Millisecond, StallTimeout: 5 * time.Second}
}

// statusLog records the distinct statuses of a transfer, in order, and the last progress per digest.
type statusLog struct {
	mu       sync.Mutex
	statuses []string
	last     map[string]api.ProgressResponse
}

func (l *statusLog) record(p api.ProgressResponse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.statuses) == 0 || l.statuses[len(l.statuses)-1] != p.Status {
		l.statuses = append(l.statuses, p.Status)
	}
	if p.Digest != "" {
		if l.last == nil {
			l.last = map[string]api.ProgressResponse{}
		}
		l.last[p.Digest] = p
	}
}

// addTransferModel stores a model under name: GGUF weights, a template, and a license of size random
// bytes (big enough to need many parts). It returns the manifest.
func addTransferModel(t *testing.T, s *Store, name string, size int) Manifest {
	t.Helper()
	gguf := putBlob(t, s, MediaTypeModel, tinyGGUF(t, llamaKV(nil)))
	tmpl := putBlob(t, s, MediaTypeTemplate, []byte("{{ .Prompt }}"))
	big := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	license := putBlob(t, s, MediaTypeLicense, big)
	info, err := s.GGUFInfo(gguf.Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewConfig()
	AddGGUF(&cfg, info.KV)
	mf, err := s.WriteModel(context.Background(), name, cfg, []Layer{gguf, tmpl, license})
	if err != nil {
		t.Fatal(err)
	}
	return mf.Manifest
}

// sameBlobs checks that store b holds every blob of m with the bytes store a has.
func sameBlobs(t *testing.T, a, b *Store, m Manifest) {
	t.Helper()
	for _, l := range m.Blobs() {
		pa, _ := a.BlobPath(l.Digest)
		pb, _ := b.BlobPath(l.Digest)
		da, err := os.ReadFile(pa)
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(pb)
		if err != nil {
			t.Fatalf("blob %s not pulled: %v", l.Digest, err)
		}
		if !bytes.Equal(da, db) {
			t.Fatalf("blob %s differs after the round trip", l.Digest)
		}
	}
}

// noPartials fails if a store's blobs/ still holds download leftovers.
func noPartials(t *testing.T, s *Store) {
	t.Helper()
	for _, name := range blobFiles(t, s) {
		if strings.Contains(name, "-partial") || strings.HasPrefix(name, tempPrefix) {
			t.Errorf("leftover %s in blobs/", name)
		}
	}
}

// proxy is a reverse proxy in front of a registry that records the requests it forwards and can cut
// blob downloads short.
type proxy struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "METHOD path Range"
	// cut, when it returns n >= 0 for a request, makes the response body fail after n bytes (the
	// proxy then drops the connection, as a flaky network would).
	cut func(r *http.Request) int64
	// intercept, when it returns true, has answered the request itself.
	intercept func(w http.ResponseWriter, r *http.Request) bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{}
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut != nil {
			if n := cut(resp.Request); n >= 0 {
				resp.Body = &cutBody{r: resp.Body, left: n}
			}
		}
		// Locations name the registry; the client must keep talking to the proxy.
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Set("Location", strings.Replace(loc, target, strings.TrimPrefix(p.URL, "http://"), 1))
		}
		return nil
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+r.Header.Get("Range")))
		intercept := p.intercept
		p.mu.Unlock()
		if intercept != nil && intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	p.Server.Config.ErrorLog = nil
	t.Cleanup(p.Close)
	return p
}

// host is the proxy's host:port.
func (p *proxy) host() string { return strings.TrimPrefix(p.URL, "http://") }

// seen returns the recorded requests that contain substr.
func (p *proxy) seen(substr string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.requests {
		if strings.Contains(r, substr) {
			out = append(out, r)
		}
	}
	return out
}

// cutBody fails after left bytes.
type cutBody struct {
	r    io.ReadCloser
	left int64
}

var errCut = errors.New("connection cut by the test")

func (c *cutBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errCut
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cutBody) Close() error { return c.r.Close() }
