package registry

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// Push uploads a model to the OCI registry its name points at, reporting Ollama's progress:
// "retrieving manifest", "pushing <12 hex>" per blob, "pushing manifest", "success". Blobs the
// registry already holds are skipped (HEAD), others are uploaded in chunks (POST a session, PATCH
// each chunk with its Content-Range, PUT ?digest= to commit); a chunk that fails is retried with
// backoff from wherever the registry says the upload stands. The manifest goes last, so the registry
// never names a model whose blobs it lacks.
func (s *Store) Push(ctx context.Context, name string, opts TransferOptions) error {
	// A name or protocol the request got wrong is refused before anything is reported, so a handler
	// can still answer it with 400 (Ollama reports "retrieving manifest" first).
	n, err := ParseName(name)
	if err != nil {
		return err
	}
	if n.ProtocolScheme == "http" && !opts.Insecure {
		return insecureError()
	}
	opts.progress(api.ProgressResponse{Status: "retrieving manifest"})
	mf, err := s.ReadManifest(name)
	if err != nil {
		opts.progress(api.ProgressResponse{Status: "couldn't retrieve manifest"})
		return err
	}
	target := mf.Name
	target.ProtocolScheme = n.ProtocolScheme
	r, err := newRemote(target, &opts)
	if err != nil {
		return err
	}

	for _, l := range pullOrder(mf.Manifest) {
		if err := s.uploadBlob(ctx, r, l, &opts); err != nil {
			return err
		}
	}

	opts.progress(api.ProgressResponse{Status: "pushing manifest"})
	data, err := json.Marshal(mf.Manifest)
	if err != nil {
		return err
	}
	body, length := bytesBody(data)
	mediaType := mf.Manifest.MediaType
	if mediaType == "" {
		mediaType = MediaTypeManifest
	}
	resp, err := r.do(ctx, request{
		method: http.MethodPut, url: r.url("manifests", target.Tag),
		header: http.Header{"Content-Type": {mediaType}},
		body:   body, length: length,
	})
	if err != nil {
		return err
	}
	if resp.StatusCode >= http.StatusBadRequest {
		return &RemoteError{StatusCode: resp.StatusCode, Body: readSnippet(resp)}
	}
	readSnippet(resp)
	opts.progress(api.ProgressResponse{Status: "success"})
	return nil
}

// upload is one blob being pushed: its file, the session URL the registry gave, and the progress.
type upload struct {
	r        *remote
	layer    Layer
	file     *os.File
	location *url.URL
	offset   int64 // bytes the registry holds in this session
	parts    []hash.Hash
	sent     atomic.Int64
	opts     *TransferOptions
	status   string
	lastEmit time.Time
}

// uploadBlob pushes one blob unless the registry already has it.
func (s *Store) uploadBlob(ctx context.Context, r *remote, l Layer, opts *TransferOptions) error {
	status := "pushing " + shortDigest(l.Digest)
	done := func() {
		opts.progress(api.ProgressResponse{Status: status, Digest: l.Digest, Total: l.Size, Completed: l.Size})
	}
	resp, err := r.do(ctx, request{method: http.MethodHead, url: r.url("blobs", l.Digest)})
	if err != nil {
		return err
	}
	readSnippet(resp)
	switch {
	case resp.StatusCode == http.StatusOK:
		done()
		return nil
	case resp.StatusCode != http.StatusNotFound:
		return &RemoteError{StatusCode: resp.StatusCode, Body: resp.Status}
	}

	f, err := s.OpenBlob(l.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	u := &upload{r: r, layer: l, file: f, opts: opts, status: status}
	mounted, err := u.start(ctx)
	if err != nil {
		return err
	}
	if mounted {
		done()
		return nil
	}
	if err := u.sendChunks(ctx); err != nil {
		return err
	}
	if err := u.commit(ctx); err != nil {
		return err
	}
	done()
	return nil
}

// start opens an upload session, asking the registry to mount the blob from the repository the
// layer came from when that is a model on the same registry (201 means it did).
func (u *upload) start(ctx context.Context) (bool, error) {
	target := u.r.url("blobs", "uploads") // JoinPath drops the trailing slash the route needs
	target.Path += "/"
	if from := model.ParseName(u.layer.From); u.layer.From != "" && from.IsValid() && strings.EqualFold(from.Host, u.r.base.Host) {
		q := target.Query()
		q.Set("mount", u.layer.Digest)
		q.Set("from", from.DisplayNamespaceModel())
		target.RawQuery = q.Encode()
	}
	body, length := bytesBody(nil)
	resp, err := u.r.do(ctx, request{method: http.MethodPost, url: target, body: body, length: length})
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		readSnippet(resp)
		return true, nil
	case http.StatusAccepted:
		readSnippet(resp)
	default:
		return false, &RemoteError{StatusCode: resp.StatusCode, Body: readSnippet(resp)}
	}
	loc, err := uploadLocation(resp)
	if err != nil {
		return false, err
	}
	u.location, u.offset, u.parts = loc, 0, nil
	u.sent.Store(0)
	return false, nil
}

// uploadLocation is where an upload session continues: Docker-Upload-Location (Ollama's registry),
// else Location.
func uploadLocation(resp *http.Response) (*url.URL, error) {
	if resp.Header.Get("Docker-Upload-Location") != "" {
		return resolveLocation(resp, "Docker-Upload-Location")
	}
	return resolveLocation(resp, "Location")
}

// sendChunks PATCHes the blob in chunks of the part size, retrying a failed chunk with backoff after
// asking the registry how far the session got (or opening a new session when it cannot say).
func (u *upload) sendChunks(ctx context.Context) error {
	chunk := u.opts.partSize(u.layer.Size)
	var lastErr error
	for try := 0; u.offset < u.layer.Size; {
		size := min(chunk, u.layer.Size-u.offset)
		err := u.sendChunk(ctx, u.offset, size)
		if err == nil {
			u.offset += size
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		lastErr = err
		if try++; try >= u.opts.maxRetries() {
			return fmt.Errorf("pushing %s: max retries exceeded: %w", shortDigest(u.layer.Digest), lastErr)
		}
		if err := u.opts.backoff(ctx, try-1); err != nil {
			return err
		}
		if err := u.resync(ctx); err != nil {
			return err
		}
	}
	return nil
}

// sendChunk sends bytes [offset, offset+size) of the blob as one PATCH. A 307 (Ollama's registry,
// asked with X-Redirect-Uploads) sends the chunk to the storage URL it names with a PUT instead.
func (u *upload) sendChunk(ctx context.Context, offset, size int64) error {
	h := md5.New()
	u.sent.Store(offset)
	body := func() io.Reader {
		u.sent.Store(offset)
		h.Reset()
		return io.TeeReader(io.NewSectionReader(u.file, offset, size), io.MultiWriter(h, progressFunc(u.advance)))
	}
	resp, err := u.r.do(ctx, request{
		method: http.MethodPatch, url: u.location, body: body, length: size,
		header: http.Header{
			"Content-Type":       {"application/octet-stream"},
			"Content-Range":      {fmt.Sprintf("%d-%d", offset, offset+size-1)},
			"X-Redirect-Uploads": {"1"},
		},
	})
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusTemporaryRedirect:
		readSnippet(resp)
		next, err := uploadLocation(resp)
		if err != nil {
			return err
		}
		direct, err := resolveLocation(resp, "Location")
		if err != nil {
			return err
		}
		put, err := u.r.do(ctx, request{
			method: http.MethodPut, url: direct, body: body, length: size, noAuth: true,
			header: http.Header{"Content-Type": {"application/octet-stream"}},
		})
		if err != nil {
			return err
		}
		if put.StatusCode >= http.StatusBadRequest {
			return &RemoteError{StatusCode: put.StatusCode, Body: readSnippet(put)}
		}
		readSnippet(put)
		u.location = next
	case resp.StatusCode >= http.StatusBadRequest:
		return &RemoteError{StatusCode: resp.StatusCode, Body: readSnippet(resp)}
	default:
		readSnippet(resp)
		next, err := uploadLocation(resp)
		if err != nil {
			return err
		}
		u.location = next
	}
	u.parts = append(u.parts, h)
	return nil
}

// resync asks the registry how many bytes the session holds (GET on the session: Range "0-<last>")
// and continues from there; when it cannot tell, or holds a position that does not fall on a chunk
// boundary, a fresh session starts from zero.
func (u *upload) resync(ctx context.Context) error {
	resp, err := u.r.do(ctx, request{method: http.MethodGet, url: u.location})
	if err == nil {
		readSnippet(resp)
		if resp.StatusCode == http.StatusNoContent {
			chunk := u.opts.partSize(u.layer.Size)
			_, last, ok := strings.Cut(resp.Header.Get("Range"), "-")
			end, perr := strconv.ParseInt(last, 10, 64)
			if ok && perr == nil && end > 0 && (end+1)%chunk == 0 && int((end+1)/chunk) <= len(u.parts) {
				u.offset = end + 1
				u.parts = u.parts[:(end+1)/chunk]
				if loc, err := uploadLocation(resp); err == nil {
					u.location = loc
				}
				return nil
			}
		}
	} else if ctx.Err() != nil {
		return ctx.Err()
	}
	mounted, err := u.start(ctx)
	if err != nil {
		return err
	}
	if mounted {
		u.offset, u.location = u.layer.Size, nil
	}
	return nil
}

// commit closes the session with PUT ?digest=<d>, adding Ollama's etag (the MD5 of the chunks' MD5s
// and their count) that its storage checks.
func (u *upload) commit(ctx context.Context) error {
	if u.location == nil { // mounted during a resync
		return nil
	}
	target := *u.location
	q := target.Query()
	q.Set("digest", u.layer.Digest)
	sum := md5.New()
	for _, p := range u.parts {
		sum.Write(p.Sum(nil))
	}
	q.Set("etag", fmt.Sprintf("%x-%d", sum.Sum(nil), len(u.parts)))
	target.RawQuery = q.Encode()

	var lastErr error
	for try := 0; try < u.opts.maxRetries(); try++ {
		if try > 0 {
			if err := u.opts.backoff(ctx, try-1); err != nil {
				return err
			}
		}
		body, length := bytesBody(nil)
		resp, err := u.r.do(ctx, request{
			method: http.MethodPut, url: &target, body: body, length: length,
			header: http.Header{"Content-Type": {"application/octet-stream"}},
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			lastErr = err
			continue
		}
		if resp.StatusCode >= http.StatusBadRequest {
			lastErr = &RemoteError{StatusCode: resp.StatusCode, Body: readSnippet(resp)}
			if permanent(lastErr) {
				break
			}
			continue
		}
		readSnippet(resp)
		return nil
	}
	if lastErr == nil {
		lastErr = errors.New("no answer")
	}
	return fmt.Errorf("pushing %s: completing the upload: %w", shortDigest(u.layer.Digest), lastErr)
}

// advance counts n bytes sent and reports progress at most every 60 ms.
func (u *upload) advance(n int) {
	done := u.sent.Add(int64(n))
	if now := time.Now(); now.Sub(u.lastEmit) >= progressEvery {
		u.lastEmit = now
		u.opts.progress(api.ProgressResponse{Status: u.status, Digest: u.layer.Digest, Total: u.layer.Size, Completed: min(done, u.layer.Size)})
	}
}

// progressFunc is an io.Writer that reports how much passes through it.
type progressFunc func(int)

func (f progressFunc) Write(p []byte) (int, error) {
	f(len(p))
	return len(p), nil
}
