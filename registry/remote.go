package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
	"golang.org/x/crypto/ssh"
)

// ollamaVersion is the Ollama release whose registry client hearth imitates; registries may key
// behaviour on the User-Agent, so it is Ollama's, word for word.
const ollamaVersion = "0.17.4"

// TransferOptions tune Pull and Push. The zero value behaves like Ollama: https, 16 parallel parts of
// size/16 clamped to 100 MB–1000 MB, 6 tries per part with 1 s, 2 s, 4 s... between them, a part that
// receives nothing for 30 s is restarted.
type TransferOptions struct {
	// Insecure talks plain http to the registry (ollama pull --insecure).
	Insecure bool
	// Progress receives Ollama's progress objects; nil drops them.
	Progress func(api.ProgressResponse)
	// Client sends the requests; nil means a client with no overall timeout (blobs are gigabytes).
	Client *http.Client
	// KeyPath is the Ollama identity key (an OpenSSH ed25519 private key) that signs token requests to
	// a registry whose auth realm is on its own host, as registry.ollama.ai requires; "" means
	// ~/.ollama/id_ed25519. Without a key, tokens are requested anonymously.
	KeyPath string

	// PartSize fixes the size of a download or upload part; 0 picks Ollama's size/16 in [100 MB, 1000 MB].
	PartSize int64
	// Parallel is how many parts download at once; 0 means 16.
	Parallel int
	// MaxRetries is how many times a failing part is tried; 0 means 6.
	MaxRetries int
	// RetryBackoff is the wait before the second try; it doubles per try. 0 means 1 s.
	RetryBackoff time.Duration
	// StallTimeout restarts a part that received nothing for this long; 0 means 30 s.
	StallTimeout time.Duration
	// ResponseTimeout is how long the registry has to start answering each request (connect, send,
	// response headers) before the transfer fails with ErrRegistryTimeout; 0 means 2 minutes.
	ResponseTimeout time.Duration
}

// Ollama's transfer constants.
const (
	defaultParts         = 16
	minPartSize    int64 = 100 * 1000 * 1000
	maxPartSize    int64 = 1000 * 1000 * 1000
	defaultRetry         = 6
	defaultBackoff       = time.Second
	defaultStall         = 30 * time.Second
	progressEvery        = 60 * time.Millisecond
)

func (o *TransferOptions) progress(p api.ProgressResponse) {
	if o.Progress != nil {
		o.Progress(p)
	}
}

func (o *TransferOptions) partSize(total int64) int64 {
	if o.PartSize > 0 {
		return o.PartSize
	}
	return min(max(total/defaultParts, minPartSize), maxPartSize)
}

func (o *TransferOptions) parallel() int {
	if o.Parallel > 0 {
		return o.Parallel
	}
	return defaultParts
}

func (o *TransferOptions) maxRetries() int {
	if o.MaxRetries > 0 {
		return o.MaxRetries
	}
	return defaultRetry
}

// backoff waits before try number try+1 (try counts from 0), or returns early when ctx ends.
func (o *TransferOptions) backoff(ctx context.Context, try int) error {
	base := o.RetryBackoff
	if base <= 0 {
		base = defaultBackoff
	}
	t := time.NewTimer(base << min(try, 10))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (o *TransferOptions) stallTimeout() time.Duration {
	if o.StallTimeout > 0 {
		return o.StallTimeout
	}
	return defaultStall
}

// remote talks the OCI distribution protocol to one repository of one registry, answering auth
// challenges with bearer tokens it caches for the rest of the transfer.
type remote struct {
	base    *url.URL // scheme://host
	repo    string   // namespace/model
	client  *http.Client
	key     string
	timeout time.Duration // for the start of each answer

	mu    sync.Mutex
	token string
}

// newRemote prepares a client for the repository of name n.
func newRemote(n model.Name, opts *TransferOptions) (*remote, error) {
	if n.ProtocolScheme == "http" && !opts.Insecure {
		return nil, insecureError()
	}
	base := n.BaseURL()
	if opts.Insecure {
		base.Scheme = "http"
	}
	// A name's host part may hold what no URL can ("71:1.1:1", found by fuzzing): the request's mistake.
	if _, err := url.Parse(base.String()); err != nil {
		return nil, fmt.Errorf("%w: %q is not a registry address: %v", ErrInvalidName, n.Host, err)
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{}
	}
	key := opts.KeyPath
	if key == "" {
		if home, err := os.UserHomeDir(); err == nil {
			key = filepath.Join(home, ".ollama", "id_ed25519")
		}
	}
	return &remote{base: base, repo: n.DisplayNamespaceModel(), client: client, key: key, timeout: opts.responseTimeout()}, nil
}

// url returns base/v2/<repo>/<parts...>.
func (r *remote) url(parts ...string) *url.URL {
	return r.base.JoinPath(append([]string{"v2", r.repo}, parts...)...)
}

// userAgent is Ollama's User-Agent.
func userAgent() string {
	return fmt.Sprintf("ollama/%s (%s %s) Go/%s", ollamaVersion, runtime.GOARCH, runtime.GOOS, runtime.Version())
}

// request is one registry call; body is re-read from the start when the call is retried after an
// auth challenge.
type request struct {
	method string
	url    *url.URL
	header http.Header
	// body returns a fresh reader over the request body each time it is sent; nil sends none.
	body func() io.Reader
	// length is the body's length, sent as Content-Length.
	length int64
	// noAuth sends no Authorization header (a storage URL a registry redirected to).
	noAuth bool
	// client overrides the remote's client (to stop at redirects).
	client *http.Client
}

// do sends req, answering one 401 with a bearer token and sending it again. Any status is returned
// to the caller except 401 after the retry.
func (r *remote) do(ctx context.Context, req request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := r.send(ctx, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized || req.noAuth || attempt > 0 {
			return resp, nil
		}
		challenge := resp.Header.Get("WWW-Authenticate")
		body := readSnippet(resp)
		if !strings.HasPrefix(strings.ToLower(challenge), "bearer ") {
			return nil, fmt.Errorf("unauthorized: access denied: %w", &RemoteError{StatusCode: resp.StatusCode, Body: body})
		}
		token, err := r.fetchToken(ctx, parseChallenge(challenge))
		if err != nil {
			return nil, fmt.Errorf("unauthorized: %w", err)
		}
		r.mu.Lock()
		r.token = token
		r.mu.Unlock()
	}
}

// send performs one HTTP exchange. A registry that has not answered (status and headers) within the
// remote's timeout fails it with ErrRegistryTimeout, and a network failure is an *UpstreamError naming
// the host, so a handler can answer 504 or 502 with the cause.
func (r *remote) send(ctx context.Context, req request) (*http.Response, error) {
	var body io.Reader
	if req.body != nil {
		body = req.body()
	}
	// The timer only covers the wait for an answer: the body that follows may take as long as it needs
	// (stalls are downloadPart's concern), so the request's context lives until the body is closed.
	rctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(r.timeout, func() { cancel(errHeaderTimeout) })
	resp, err := r.exchange(rctx, req, body)
	if err != nil || !timer.Stop() {
		cancel(nil)
		if resp != nil {
			resp.Body.Close()
		}
		if context.Cause(rctx) == errHeaderTimeout && ctx.Err() == nil {
			return nil, &UpstreamError{Host: req.url.Host, Timeout: true,
				Err: fmt.Errorf("waited %v", r.timeout)}
		}
		return nil, upstreamError(ctx, req.url.Host, err)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// cancelOnClose ends a request's context once its body has been read.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// exchange sends req with its headers and the remote's token.
func (r *remote) exchange(ctx context.Context, req request, body io.Reader) (*http.Response, error) {
	hr, err := http.NewRequestWithContext(ctx, req.method, req.url.String(), body)
	if err != nil {
		return nil, err
	}
	if req.body != nil {
		hr.ContentLength = req.length
		if req.length == 0 {
			hr.Body = http.NoBody
		}
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	hr.Header.Set("User-Agent", userAgent())
	if !req.noAuth {
		r.mu.Lock()
		if r.token != "" {
			hr.Header.Set("Authorization", "Bearer "+r.token)
		}
		r.mu.Unlock()
	}
	client := r.client
	if req.client != nil {
		client = req.client
	}
	return client.Do(hr)
}

// bytesBody is a request body over data.
func bytesBody(data []byte) (func() io.Reader, int64) {
	return func() io.Reader { return bytes.NewReader(data) }, int64(len(data))
}

// readSnippet reads and closes a response body, keeping its first few KiB for an error message.
func readSnippet(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return string(b)
}

// challenge is a parsed WWW-Authenticate: Bearer header.
type challenge struct {
	realm, service, scope string
}

// parseChallenge reads realm, service and scope from a Bearer challenge; values are quoted strings
// that may contain commas (scope "repository:a/b:pull,push").
func parseChallenge(h string) challenge {
	_, params, _ := strings.Cut(h, " ")
	vals := map[string]string{}
	for params = strings.TrimSpace(params); params != ""; {
		key, rest, ok := strings.Cut(params, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				val, rest = rest[1:], ""
			} else {
				val, rest = rest[1:1+end], rest[2+end:]
			}
		} else {
			val, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		vals[key] = val
		rest = strings.TrimSpace(rest)
		params = strings.TrimSpace(strings.TrimPrefix(rest, ","))
	}
	return challenge{realm: vals["realm"], service: vals["service"], scope: vals["scope"]}
}

// fetchToken asks the challenge's realm for a bearer token. Like Ollama, a realm on the registry's own
// host gets a request signed with the Ollama identity key (when there is one); a realm elsewhere (a
// separate token service, as Docker Hub has) is asked anonymously, so the key's signature never leaves
// the registry's host.
func (r *remote) fetchToken(ctx context.Context, c challenge) (string, error) {
	if c.realm == "" {
		return "", errors.New("auth challenge without a realm")
	}
	u, err := url.Parse(c.realm)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("auth challenge with a bad realm %q", c.realm)
	}
	q := u.Query()
	if c.service != "" {
		q.Add("service", c.service)
	}
	for _, s := range strings.Fields(c.scope) {
		q.Add("scope", s)
	}
	q.Add("ts", strconv.FormatInt(time.Now().Unix(), 10))
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	q.Add("nonce", base64.RawURLEncoding.EncodeToString(nonce))
	u.RawQuery = q.Encode()

	req := request{method: http.MethodGet, url: u, header: http.Header{}, noAuth: true}
	if u.Host == r.base.Host {
		sig, err := signRequest(r.key, http.MethodGet, u.String())
		switch {
		case err == nil:
			req.header.Set("Authorization", sig)
		case !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("signing the token request with %s: %w", r.key, err)
		}
	}
	resp, err := r.send(ctx, req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode >= http.StatusBadRequest {
		return "", &RemoteError{StatusCode: resp.StatusCode, Body: readSnippet(resp)}
	}
	defer resp.Body.Close()
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return "", fmt.Errorf("token response from %s: %w", u.Host, err)
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	if tok.Token == "" {
		return "", fmt.Errorf("token response from %s holds no token", u.Host)
	}
	return tok.Token, nil
}

// signRequest signs "<method>,<url>,<base64(hex(sha256 of an empty body))>" with the Ollama key at
// keyPath and returns "<base64 public key>:<base64 signature>", the Authorization value
// registry.ollama.ai expects on token requests. A missing key is an error matching os.ErrNotExist.
func signRequest(keyPath, method, u string) (string, error) {
	pem, err := os.ReadFile(keyPath)
	if err != nil {
		return "", err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return "", err
	}
	empty := sha256.Sum256(nil)
	data := fmt.Sprintf("%s,%s,%s", method, u, base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(empty[:]))))
	sig, err := signer.Sign(rand.Reader, []byte(data))
	if err != nil {
		return "", err
	}
	parts := strings.Fields(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	if len(parts) < 2 {
		return "", errors.New("malformed public key")
	}
	return parts[1] + ":" + base64.StdEncoding.EncodeToString(sig.Blob), nil
}

// resolveLocation turns a Location header (absolute or relative) into a URL against the request's.
func resolveLocation(resp *http.Response, header string) (*url.URL, error) {
	loc := resp.Header.Get(header)
	if loc == "" {
		return nil, fmt.Errorf("registry answered %s %s without a %s header", resp.Request.Method, resp.Request.URL.Redacted(), header)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return resp.Request.URL.ResolveReference(u), nil
}
