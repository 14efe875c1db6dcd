package registry

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hearthlink/hearth/registry/registrytest"
)

// TestPushThenPullThroughDockerRegistry pushes a model to a real distribution registry and pulls it
// into a second store: chunked uploads, ranged parallel downloads from a registry that answers blob
// GETs with the bytes themselves (no redirect), Ollama's statuses, and byte-identical blobs.
func TestPushThenPullThroughDockerRegistry(t *testing.T) {
	reg := registrytest.StartDistribution(t)
	ctx := context.Background()
	a := openStore(t, Options{})
	name := reg + "/library/tiny:latest"
	m := addTransferModel(t, a, name, 200<<10)

	var push statusLog
	if err := a.Push(ctx, name, fastTransfer(push.record)); err != nil {
		t.Fatal(err)
	}
	want := []string{"retrieving manifest"}
	for _, l := range pullOrder(m) {
		want = append(want, "pushing "+l.Digest[7:19])
	}
	want = append(want, "pushing manifest", "success")
	if !slices.Equal(push.statuses, want) {
		t.Errorf("push statuses\n%q\nwant\n%q", push.statuses, want)
	}
	for _, l := range m.Blobs() {
		if p := push.last[l.Digest]; p.Completed != l.Size || p.Total != l.Size {
			t.Errorf("push progress of %s ended at %d/%d, size %d", l.Digest, p.Completed, p.Total, l.Size)
		}
	}

	b := openStore(t, Options{})
	var pull statusLog
	if err := b.Pull(ctx, name, fastTransfer(pull.record)); err != nil {
		t.Fatal(err)
	}
	want = []string{"pulling manifest"}
	for _, l := range pullOrder(m) {
		want = append(want, "pulling "+l.Digest[7:19])
	}
	want = append(want, "verifying sha256 digest", "writing manifest", "success")
	if !slices.Equal(pull.statuses, want) {
		t.Errorf("pull statuses\n%q\nwant\n%q", pull.statuses, want)
	}
	sameBlobs(t, a, b, m)
	noPartials(t, b)
	got, err := b.ReadManifest(name)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Manifest.Blobs(), m.Blobs()) {
		t.Errorf("pulled manifest %+v, pushed %+v", got.Manifest, m)
	}
	raw, _ := os.ReadFile(got.Path)
	if marshalled, _ := json.Marshal(m); string(raw) != string(marshalled) {
		t.Errorf("pulled manifest is not written as Ollama writes it:\n%s\n%s", raw, marshalled)
	}
	resolved, err := b.Resolve(name)
	if err != nil || resolved.Template != "{{ .Prompt }}" {
		t.Errorf("resolve pulled model: %v", err)
	}

	// Everything is there now: a second pull and a second push transfer no blob.
	p := newProxy(t, reg)
	viaProxy := p.host() + "/library/tiny:latest"
	if err := b.Copy(name, viaProxy); err != nil {
		t.Fatal(err)
	}
	if err := b.Pull(ctx, viaProxy, fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	if err := b.Push(ctx, viaProxy, fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	if len(p.seen("GET /v2/library/tiny/blobs")) != 0 || len(p.seen("PATCH")) != 0 || len(p.seen("HEAD /v2/library/tiny/blobs/")) != len(m.Blobs()) {
		t.Errorf("a repeated pull and push moved blobs: %q", p.requests)
	}
}

// TestPullIsParallelAndRanged checks that a big blob is fetched as parallel ranged parts.
func TestPullIsParallelAndRanged(t *testing.T) {
	reg := registrytest.StartDistribution(t)
	ctx := context.Background()
	a := openStore(t, Options{})
	m := addTransferModel(t, a, reg+"/library/big:latest", 256<<10)
	if err := a.Push(ctx, reg+"/library/big:latest", fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, reg)
	var inFlight, peak atomic.Int32
	p.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && r.Header.Get("Range") != "bytes=0-0" {
			n := inFlight.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond) // long enough for the other parts to arrive meanwhile
			inFlight.Add(-1)
		}
		return false
	}
	b := openStore(t, Options{})
	if err := b.Pull(ctx, p.host()+"/library/big:latest", fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	license := m.Layers[2]
	ranges := p.seen("GET /v2/library/big/blobs/" + license.Digest + " bytes=")
	if parts := (license.Size + 16<<10 - 1) / (16 << 10); int64(len(ranges)) != parts+1 { // + the 0-0 probe
		t.Errorf("%d ranged GETs for %d parts: %q", len(ranges), parts, ranges)
	}
	if peak.Load() < 2 {
		t.Errorf("parts were not fetched in parallel (peak %d)", peak.Load())
	}
	sameBlobs(t, a, b, m)
}

// TestPullResumesAnInterruptedBlob cuts a blob download mid-part: within a pull the part is retried
// from where it stopped; when the pull gives up, the next pull resumes from the recorded offset instead
// of starting over.
func TestPullResumesAnInterruptedBlob(t *testing.T) {
	reg := registrytest.StartDistribution(t)
	ctx := context.Background()
	a := openStore(t, Options{})
	name := reg + "/library/resume:latest"
	m := addTransferModel(t, a, name, 64<<10)
	if err := a.Push(ctx, name, fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	license := m.Layers[2]
	p := newProxy(t, reg)
	pulled := p.host() + "/library/resume:latest"
	cutFirst := func(n int) {
		var cuts atomic.Int32
		p.mu.Lock()
		p.cut = func(r *http.Request) int64 {
			if strings.HasSuffix(r.URL.Path, license.Digest) && r.Header.Get("Range") == "bytes=0-16383" && cuts.Add(1) <= int32(n) {
				return 5000
			}
			return -1
		}
		p.mu.Unlock()
	}

	// One cut, retried inside the pull.
	cutFirst(1)
	b := openStore(t, Options{})
	if err := b.Pull(ctx, pulled, fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	// The client got at most the 5000 bytes the proxy read before the cut (less what it had buffered).
	if got := resumedAt(p.seen(license.Digest + " bytes=")); got <= 0 || got > 5000 {
		t.Errorf("the cut part was not resumed where it stopped: %q", p.seen(license.Digest))
	}
	sameBlobs(t, a, b, m)
	noPartials(t, b)

	// Cut with no retries left: the pull fails and keeps what it got...
	cutFirst(1)
	c := openStore(t, Options{})
	opts := fastTransfer(nil)
	opts.MaxRetries = 1
	err := c.Pull(ctx, pulled, opts)
	if err == nil || !strings.Contains(err.Error(), "max retries exceeded") {
		t.Fatalf("interrupted pull: %v", err)
	}
	partial := c.blobPath(license.Digest) + "-partial"
	var part struct{ N, Offset, Size, Completed int64 }
	data, err := os.ReadFile(partial + "-0")
	if err != nil || json.Unmarshal(data, &part) != nil || part.Completed <= 0 || part.Completed > 5000 || part.Size != 16<<10 {
		t.Fatalf("part file after the interruption: %s %v", data, err)
	}
	if _, err := c.ReadManifest(pulled); !errors.Is(err, ErrNotFound) {
		t.Errorf("an interrupted pull wrote the manifest: %v", err)
	}

	// ...and a new pull, as after a restart (a fresh Store on the same folder), resumes from it.
	c2, err := Open(c.Root(), Options{NoPrune: true})
	if err != nil {
		t.Fatal(err)
	}
	resume := fmt.Sprintf("%s bytes=%d-16383", license.Digest, part.Completed)
	before := len(p.seen(resume))
	if err := c2.Pull(ctx, pulled, fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	if got := len(p.seen(resume)); got != before+1 {
		t.Errorf("the second pull did not resume at byte %d: %q", part.Completed, p.seen(license.Digest))
	}
	sameBlobs(t, a, c2, m)
	noPartials(t, c2)
}

// resumedAt finds, among recorded ranged GETs, one of part 0 that starts past 0, and returns its start.
func resumedAt(requests []string) int64 {
	for _, r := range requests {
		var start, end int64
		if _, err := fmt.Sscanf(r[strings.LastIndex(r, " ")+1:], "bytes=%d-%d", &start, &end); err == nil && start > 0 && end == 16383 {
			return start
		}
	}
	return 0
}

// TestPushRetriesAFailedChunk fails one chunk upload: the push asks the registry where the upload
// stands and goes on from there.
func TestPushRetriesAFailedChunk(t *testing.T) {
	reg := registrytest.StartDistribution(t)
	ctx := context.Background()
	p := newProxy(t, reg)
	name := p.host() + "/library/chunky:latest"
	a := openStore(t, Options{})
	m := addTransferModel(t, a, name, 100<<10)
	var patches atomic.Int32
	p.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch && patches.Add(1) == 3 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	if err := a.Push(ctx, name, fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	if len(p.seen("GET /v2/library/chunky/blobs/uploads/")) == 0 {
		t.Errorf("no upload status check after the failed chunk: %q", p.requests)
	}
	b := openStore(t, Options{})
	if err := b.Pull(ctx, reg+"/library/chunky:latest", fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	sameBlobs(t, a, b, m)
}

// fileTime is the modification time fake servers give blobs (none).
var fileTime time.Time

// fakeRegistry is a minimal OCI registry for the cases a real one will not produce: tampered blobs,
// redirects to storage on another host.
type fakeRegistry struct {
	*httptest.Server
	manifest []byte
	blobs    map[string][]byte
	redirect map[string]string // digest -> URL to redirect blob GETs to
}

func newFakeRegistry(t *testing.T, m Manifest, blobs map[string][]byte) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{blobs: blobs, redirect: map[string]string{}}
	f.manifest, _ = json.Marshal(m)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", MediaTypeManifest)
			w.Write(f.manifest)
		case strings.Contains(r.URL.Path, "/blobs/"):
			d := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			if to, ok := f.redirect[d]; ok {
				http.Redirect(w, r, to, http.StatusTemporaryRedirect)
				return
			}
			data, ok := f.blobs[d]
			if !ok {
				http.NotFound(w, r)
				return
			}
			http.ServeContent(w, r, "", fileTime, strings.NewReader(string(data)))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// TestPullRefusesABlobThatDoesNotMatchItsDigest serves a manifest whose layer bytes were tampered with:
// the pull fails with a digest mismatch and leaves neither the blob, a partial file, nor the manifest.
func TestPullRefusesABlobThatDoesNotMatchItsDigest(t *testing.T) {
	s := openStore(t, Options{})
	good := []byte(`{"model_format":"gguf"}`)
	claimed := []byte("the real weights")
	m := NewManifest(Layer{MediaType: MediaTypeConfig, Digest: digestOfBytes(good), Size: int64(len(good))},
		[]Layer{{MediaType: MediaTypeModel, Digest: digestOfBytes(claimed), Size: int64(len(claimed))}})
	f := newFakeRegistry(t, m, map[string][]byte{
		digestOfBytes(good):    good,
		digestOfBytes(claimed): []byte("evil weights!!!!"), // same length, other bytes
	})
	name := strings.TrimPrefix(f.URL, "http://") + "/library/tampered:latest"
	err := s.Pull(context.Background(), name, fastTransfer(nil))
	var mismatch *DigestMismatchError
	if !errors.As(err, &mismatch) || mismatch.Expected != digestOfBytes(claimed) || mismatch.Got != digestOfBytes([]byte("evil weights!!!!")) {
		t.Fatalf("pull of a tampered blob: %v", err)
	}
	if !errors.Is(err, ErrBadRegistryAnswer) {
		t.Errorf("a tampered blob is not the registry's fault: %v", err)
	}
	if s.HasBlob(digestOfBytes(claimed)) {
		t.Error("the tampered blob was stored")
	}
	noPartials(t, s)
	if _, err := s.ReadManifest(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("manifest written despite the mismatch: %v", err)
	}
}

// TestPullChecksDiskSpace pulls a model whose weights cannot fit on the disk: the pull stops before
// downloading anything, with an error that says so.
func TestPullChecksDiskSpace(t *testing.T) {
	s := openStore(t, Options{})
	if _, ok := freeSpace(s.Root()); !ok {
		t.Skip("free space is not known on this system")
	}
	cfg := []byte(`{"model_format":"gguf"}`)
	huge := Layer{MediaType: MediaTypeModel, Digest: digestOfBytes([]byte("huge")), Size: 1 << 55}
	f := newFakeRegistry(t, NewManifest(Layer{MediaType: MediaTypeConfig, Digest: digestOfBytes(cfg), Size: int64(len(cfg))}, []Layer{huge}),
		map[string][]byte{digestOfBytes(cfg): cfg})
	err := s.Pull(context.Background(), strings.TrimPrefix(f.URL, "http://")+"/library/huge:latest", fastTransfer(nil))
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "not enough disk space") {
		t.Fatalf("pull of a model bigger than the disk: %v", err)
	}
	noPartials(t, s)
	if files := blobFiles(t, s); len(files) != 0 {
		t.Errorf("blobs/ holds %v", files)
	}
}

// TestPullFollowsStorageRedirects checks Ollama's CDN flow: a blob GET redirected to another host is
// fetched from there in ranges, without the registry's credentials.
func TestPullFollowsStorageRedirects(t *testing.T) {
	s := openStore(t, Options{})
	cfg := []byte(`{"model_format":"gguf"}`)
	weights := []byte(strings.Repeat("weights ", 5000))
	m := NewManifest(Layer{MediaType: MediaTypeConfig, Digest: digestOfBytes(cfg), Size: int64(len(cfg))},
		[]Layer{{MediaType: MediaTypeModel, Digest: digestOfBytes(weights), Size: int64(len(weights))}})
	var leaked atomic.Bool
	var ranged atomic.Int32
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
		if r.Header.Get("Range") != "" {
			ranged.Add(1)
		}
		http.ServeContent(w, r, "", fileTime, strings.NewReader(string(weights)))
	}))
	defer cdn.Close()
	f := newFakeRegistry(t, m, map[string][]byte{digestOfBytes(cfg): cfg})
	// localhost and 127.0.0.1 are different hosts to an HTTP client.
	f.redirect[digestOfBytes(weights)] = strings.Replace(cdn.URL, "127.0.0.1", "localhost", 1) + "/signed?x=1"
	name := strings.TrimPrefix(f.URL, "http://") + "/library/cdn:latest"
	if err := s.Pull(context.Background(), name, fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	if leaked.Load() || ranged.Load() < 3 {
		t.Errorf("storage got credentials %v, ranged requests %d", leaked.Load(), ranged.Load())
	}
	if !s.HasBlob(digestOfBytes(weights)) {
		t.Error("weights not stored")
	}
}

// tokenServer puts bearer-token auth in front of a registry, as registry.ollama.ai and Docker Hub do:
// without a token every /v2/ request gets a 401 challenge naming a realm on the same host, whose token
// endpoint checks the service, the scope and, when present, Ollama's key signature.
type tokenServer struct {
	*proxy
	mu          sync.Mutex
	signedBy    []string // public keys of signed token requests
	anonymous   int
	refuseToken bool
}

func newTokenServer(t *testing.T, reg string) *tokenServer {
	ts := &tokenServer{proxy: newProxy(t, reg)}
	ts.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/token" {
			ts.issue(t, w, r)
			return true
		}
		repo := strings.Join(strings.SplitN(strings.TrimPrefix(r.URL.Path, "/v2/"), "/", 3)[:2], "/")
		if r.Header.Get("Authorization") != "Bearer token-for-"+repo {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="hearth-test",scope="repository:%s:pull,push"`, ts.URL, repo))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return true
		}
		r.Header.Del("Authorization")
		return false
	}
	return ts
}

func (ts *tokenServer) issue(t *testing.T, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scope := q.Get("scope")
	if q.Get("service") != "hearth-test" || !strings.HasPrefix(scope, "repository:") || q.Get("nonce") == "" || q.Get("ts") == "" {
		http.Error(w, "bad token request "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if auth := r.Header.Get("Authorization"); auth != "" {
		pub, sig, _ := strings.Cut(auth, ":")
		if err := verifyOllamaSignature(pub, sig, "GET,http://"+r.Host+r.URL.RequestURI()); err != nil {
			t.Errorf("token request signature: %v", err)
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		ts.signedBy = append(ts.signedBy, pub)
	} else {
		ts.anonymous++
	}
	if ts.refuseToken {
		http.Error(w, "denied", http.StatusForbidden)
		return
	}
	repo := strings.TrimSuffix(strings.TrimPrefix(scope, "repository:"), ":pull,push")
	json.NewEncoder(w).Encode(map[string]string{"token": "token-for-" + repo})
}

// verifyOllamaSignature checks "<base64 key>:<base64 sig>" over "<method>,<url>,<b64(hex(sha256("")))>".
func verifyOllamaSignature(pub64, sig64, prefix string) error {
	keyBytes, err := base64.StdEncoding.DecodeString(pub64)
	if err != nil {
		return err
	}
	key, err := ssh.ParsePublicKey(keyBytes)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(sig64)
	if err != nil {
		return err
	}
	empty := sha256.Sum256(nil)
	data := prefix + "," + base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(empty[:])))
	return key.Verify([]byte(data), &ssh.Signature{Format: key.Type(), Blob: sig})
}

// writeOllamaKey writes a fresh ed25519 identity key as Ollama keeps it (OpenSSH PEM).
func writeOllamaKey(t *testing.T) (string, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	return path, strings.Fields(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))[1]
}

// TestBearerTokenAuth pushes and pulls through a registry that demands bearer tokens: the challenge is
// answered with a token request signed by the Ollama key (or anonymous without one), and a refused
// token is a clear error.
func TestBearerTokenAuth(t *testing.T) {
	reg := registrytest.StartDistribution(t)
	ctx := context.Background()
	ts := newTokenServer(t, reg)
	name := ts.host() + "/team/secret:v1"
	a := openStore(t, Options{})
	m := addTransferModel(t, a, name, 40<<10)

	keyPath, pub := writeOllamaKey(t)
	opts := fastTransfer(nil)
	opts.KeyPath = keyPath
	if err := a.Push(ctx, name, opts); err != nil {
		t.Fatal(err)
	}
	if len(ts.signedBy) == 0 || ts.signedBy[0] != pub {
		t.Errorf("token requests were not signed with the key: %q", ts.signedBy)
	}

	b := openStore(t, Options{})
	opts.KeyPath = filepath.Join(t.TempDir(), "no-key")
	if err := b.Pull(ctx, name, opts); err != nil {
		t.Fatal(err)
	}
	if ts.anonymous == 0 {
		t.Error("no anonymous token request without a key")
	}
	sameBlobs(t, a, b, m)

	ts.refuseToken = true
	c := openStore(t, Options{})
	err := c.Pull(ctx, name, opts)
	if err == nil || !strings.Contains(err.Error(), "unauthorized") || !strings.Contains(err.Error(), "403") {
		t.Errorf("pull with a refused token: %v", err)
	}
	if !errors.Is(c.Pull(ctx, "http://"+name, TransferOptions{}), ErrInsecureProtocol) {
		t.Error("http:// without insecure was not refused")
	}
}

// TestConcurrentPullsShareADownload pulls two names of one model at once: the shared blobs are
// downloaded once.
func TestConcurrentPullsShareADownload(t *testing.T) {
	reg := registrytest.StartDistribution(t)
	ctx := context.Background()
	a := openStore(t, Options{})
	m := addTransferModel(t, a, reg+"/library/twin:a", 128<<10)
	if err := a.Push(ctx, reg+"/library/twin:a", fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	if err := a.Copy(reg+"/library/twin:a", reg+"/library/twin:b"); err != nil {
		t.Fatal(err)
	}
	if err := a.Push(ctx, reg+"/library/twin:b", fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, reg)
	release := make(chan struct{})
	p.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Range") != "" && r.Header.Get("Range") != "bytes=0-0" {
			<-release // hold the parts until both pulls wait on the same download
		}
		return false
	}
	b := openStore(t, Options{})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, tag := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Pull(ctx, p.host()+"/library/twin:"+tag, fastTransfer(nil))
		}()
	}
	weights := m.Layers[0].Digest
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.dlMu.Lock()
		d := b.downloads[weights]
		joined := d != nil && d.refs == 2
		b.dlMu.Unlock()
		if joined {
			break
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("the two pulls did not join one download")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	for _, l := range m.Blobs() {
		if probes := p.seen(l.Digest + " bytes=0-0"); len(probes) != 1 {
			t.Errorf("blob %s was downloaded %d times", l.Digest, len(probes))
		}
	}
	sameBlobs(t, a, b, m)
	if _, err := b.ReadManifest(p.host() + "/library/twin:b"); err != nil {
		t.Error(err)
	}
}
