package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/format"
	"golang.org/x/sync/errgroup"
)

// errPartStalled restarts a part that received nothing for TransferOptions.StallTimeout.
var errPartStalled = errors.New("part stalled")

// partSaveEvery is how often (in bytes) a part's progress is recorded while it downloads, so an
// interrupted pull resumes close to where it stopped even after a crash.
const partSaveEvery = 32 << 20

// download is one blob being fetched into blobs/sha256-<hex>-partial. Pulls that need the same blob
// at the same time share it; it is cancelled when the last of them gives up.
type download struct {
	digest    string
	total     int64
	completed atomic.Int64

	done   chan struct{}
	err    error
	cancel context.CancelFunc

	// refs and abandoned are guarded by Store.dlMu.
	refs      int
	abandoned bool
}

// part is a byte range of a download. Its JSON form is Ollama's part file
// (blobs/sha256-<hex>-partial-<N>), so a pull interrupted in either program resumes in the other.
type part struct {
	N         int
	Offset    int64
	Size      int64
	Completed int64

	mu    sync.Mutex // guards Completed while the part downloads and is saved
	path  string
	saved int64
}

// progress reads how far a part has come.
func (p *part) progress() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Completed
}

// advance records n more bytes.
func (p *part) advance(n int64) {
	p.mu.Lock()
	p.Completed += n
	p.mu.Unlock()
}

// save writes the part file. A torn write (a crash mid-save) only costs a restart of the blob: a part
// file that does not decode makes the next pull start over.
func (p *part) save() error {
	p.mu.Lock()
	data, err := json.Marshal(struct{ N, Offset, Size, Completed int64 }{int64(p.N), p.Offset, p.Size, p.Completed})
	p.saved = p.Completed
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(p.path, append(data, '\n'), 0o644)
}

// fetchBlob makes sure the store holds layer l, downloading it from r when missing, and reports
// "pulling <12 hex>" progress as Ollama does. It reports whether the blob was already there.
func (s *Store) fetchBlob(ctx context.Context, r *remote, l Layer, opts *TransferOptions) (bool, error) {
	status := "pulling " + shortDigest(l.Digest)
	if fi, err := os.Stat(s.blobPath(l.Digest)); err == nil && fi.Mode().IsRegular() {
		opts.progress(api.ProgressResponse{Status: status, Digest: l.Digest, Total: fi.Size(), Completed: fi.Size()})
		return true, nil
	}
	for {
		d, joined := s.joinDownload(ctx, r, l, opts)
		if !joined {
			continue
		}
		err := s.waitDownload(ctx, d, status, opts)
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			continue // the download we joined was being abandoned by its last waiter; start afresh
		}
		return false, err
	}
}

// joinDownload returns the download of l in flight, starting one if there is none. It reports false
// (after waiting for it to end) when the download in flight is being abandoned.
func (s *Store) joinDownload(ctx context.Context, r *remote, l Layer, opts *TransferOptions) (*download, bool) {
	s.dlMu.Lock()
	d := s.downloads[l.Digest]
	if d != nil && d.abandoned {
		s.dlMu.Unlock()
		<-d.done
		return nil, false
	}
	if d == nil {
		dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		d = &download{digest: l.Digest, total: l.Size, done: make(chan struct{}), cancel: cancel}
		s.downloads[l.Digest] = d
		o := *opts
		o.Progress = nil
		go func() {
			err := s.runDownload(dctx, r, l, d, &o)
			cancel()
			s.dlMu.Lock()
			delete(s.downloads, l.Digest)
			d.err = err
			s.dlMu.Unlock()
			close(d.done)
		}()
	}
	d.refs++
	s.dlMu.Unlock()
	return d, true
}

// waitDownload reports d's progress every 60 ms until it ends or ctx does; the last waiter to leave
// cancels it (its parts are kept for a later pull to resume).
func (s *Store) waitDownload(ctx context.Context, d *download, status string, opts *TransferOptions) error {
	defer func() {
		s.dlMu.Lock()
		d.refs--
		if d.refs == 0 {
			select {
			case <-d.done:
			default:
				d.abandoned = true
				d.cancel()
			}
		}
		s.dlMu.Unlock()
	}()
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-d.done:
			if d.err == nil {
				opts.progress(api.ProgressResponse{Status: status, Digest: d.digest, Total: d.total, Completed: d.total})
			}
			return d.err
		case <-t.C:
			opts.progress(api.ProgressResponse{Status: status, Digest: d.digest, Total: d.total, Completed: d.completed.Load()})
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// runDownload fetches l into its -partial file in parallel ranged parts, resuming the parts an
// earlier pull recorded, then verifies the SHA-256 and only then renames the file into place.
func (s *Store) runDownload(ctx context.Context, r *remote, l Layer, d *download, opts *TransferOptions) error {
	final := s.blobPath(l.Digest)
	partial := final + "-partial"
	s.trackTemp(partial, true)
	defer s.trackTemp(partial, false)

	parts := s.loadParts(partial, l.Size)
	// The partial file is sparse: check up front that the rest will fit, rather than fail gigabytes in.
	need := l.Size
	for _, p := range parts {
		need -= p.Completed
	}
	if free, ok := freeSpace(s.blobsDir()); ok && need > 0 && uint64(need) > free {
		return fmt.Errorf("pulling %s: not enough disk space in %s: %s more needed, %s free: %w",
			shortDigest(l.Digest), s.blobsDir(), format.HumanBytes(need), format.HumanBytes(int64(free)), syscall.ENOSPC)
	}
	if parts == nil {
		var err error
		if parts, err = s.newParts(partial, l.Size, opts.partSize(l.Size)); err != nil {
			return fmt.Errorf("pulling %s: %w", shortDigest(l.Digest), err)
		}
	}
	for _, p := range parts {
		s.trackTemp(p.path, true)
		defer s.trackTemp(p.path, false)
		d.completed.Add(p.Completed)
	}

	f, err := os.OpenFile(partial, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("pulling %s: %w", shortDigest(l.Digest), err)
	}
	defer f.Close()
	if err := f.Truncate(l.Size); err != nil {
		return fmt.Errorf("pulling %s: %w", shortDigest(l.Digest), err)
	}

	if d.completed.Load() < l.Size {
		src, err := r.blobSource(ctx, l.Digest, opts)
		if err != nil {
			return fmt.Errorf("pulling %s: %w", shortDigest(l.Digest), err)
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(opts.parallel())
		for _, p := range parts {
			if p.Completed >= p.Size {
				continue
			}
			g.Go(func() error { return r.downloadPartWithRetries(gctx, src, f, p, d, opts) })
		}
		if err := g.Wait(); err != nil {
			return fmt.Errorf("pulling %s: %w", shortDigest(l.Digest), err)
		}
	}

	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := s.commitDownload(partial, final, l.Digest); err != nil {
		if errors.Is(err, ErrDigestMismatch) {
			s.removeParts(partial, parts)
			// The registry sent other bytes than its manifest promised: its fault, not the client's.
			return &BadAnswerError{Host: r.base.Host, Err: err}
		}
		return err
	}
	s.removeParts("", parts)
	return nil
}

// commitDownload hashes a finished partial file and renames it to the blob's name if it matches. A
// mismatch removes the file, so the next pull downloads it again.
func (s *Store) commitDownload(partial, final, digest string) error {
	f, err := os.Open(partial)
	if err != nil {
		return err
	}
	h := newDigester()
	_, err = io.CopyBuffer(h, f, make([]byte, copyBufferSize))
	f.Close()
	if err != nil {
		return err
	}
	if got := digestOf(h); got != digest {
		os.Remove(partial)
		return &DigestMismatchError{Expected: digest, Got: got}
	}
	if err := os.Chmod(partial, 0o644); err != nil {
		return err
	}
	if err := os.Rename(partial, final); err != nil {
		return err
	}
	return syncDir(s.blobsDir())
}

// loadParts reads the part files an interrupted pull left for partial. It returns nil, after removing
// them, when they are unusable: missing, undecodable, not covering exactly [0, size), or recording
// progress that the partial file cannot hold.
func (s *Store) loadParts(partial string, size int64) []*part {
	paths, _ := filepath.Glob(partial + "-*")
	if len(paths) == 0 {
		return nil
	}
	fi, statErr := os.Stat(partial)
	parts := make([]*part, len(paths))
	ok := statErr == nil
	for _, path := range paths {
		if !ok {
			break
		}
		n, err := strconv.Atoi(strings.TrimPrefix(path, partial+"-"))
		if err != nil || n < 0 || n >= len(paths) || parts[n] != nil {
			ok = false
			break
		}
		data, err := os.ReadFile(path)
		p := &part{path: path}
		if err != nil || json.Unmarshal(data, p) != nil || p.N != n {
			ok = false
			break
		}
		parts[n] = p
	}
	var offset int64
	for _, p := range parts {
		if !ok {
			break
		}
		ok = p != nil && p.Offset == offset && p.Size > 0 && p.Completed >= 0 && p.Completed <= p.Size
		if ok {
			offset += p.Size
		}
	}
	if ok && (offset != size || fi.Size() > size) {
		ok = false
	}
	if !ok {
		for _, path := range paths {
			os.Remove(path)
		}
		os.Remove(partial)
		return nil
	}
	return parts
}

// newParts splits size bytes into parts of partSize and records them.
func (s *Store) newParts(partial string, size, partSize int64) ([]*part, error) {
	var parts []*part
	for offset := int64(0); offset < size; offset += partSize {
		p := &part{N: len(parts), Offset: offset, Size: min(partSize, size-offset)}
		p.path = partial + "-" + strconv.Itoa(p.N)
		if err := p.save(); err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// removeParts removes the part files and, when partial is not empty, the partial file.
func (s *Store) removeParts(partial string, parts []*part) {
	for _, p := range parts {
		os.Remove(p.path)
	}
	if partial != "" {
		os.Remove(partial)
	}
}

// blobURL is where a blob's bytes are fetched from.
type blobURL struct {
	url *url.URL
	// direct is true for a storage URL the registry redirected to, which gets no Authorization header.
	direct bool
}

// blobSource finds where a blob's bytes live. Like Ollama, it asks the registry once, without
// following a redirect to another host, and sends the ranged part requests straight to the storage
// URL a redirect names. Unlike Ollama, a registry that answers with the bytes themselves (200 or 206,
// as the standard distribution registry and hearth do) is fine: the parts then go to the registry.
func (r *remote) blobSource(ctx context.Context, digest string, opts *TransferOptions) (blobURL, error) {
	u := r.url("blobs", digest)
	stop := *r.client
	stop.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host == u.Host {
			return nil
		}
		return http.ErrUseLastResponse
	}
	var lastErr error
	for try := 0; try < opts.maxRetries(); try++ {
		if try > 0 {
			if err := opts.backoff(ctx, try-1); err != nil {
				return blobURL{}, err
			}
		}
		resp, err := r.do(ctx, request{
			method: http.MethodGet, url: u, client: &stop,
			header: http.Header{"Range": {"bytes=0-0"}},
		})
		if err != nil {
			if ctx.Err() != nil {
				return blobURL{}, ctx.Err()
			}
			lastErr = err
			continue
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			resp.Body.Close()
			loc, err := resolveLocation(resp, "Location")
			if err != nil {
				return blobURL{}, err
			}
			return blobURL{url: loc, direct: true}, nil
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent:
			final := resp.Request.URL
			resp.Body.Close() // at most the whole blob is abandoned, never read
			return blobURL{url: final, direct: final.Host != u.Host}, nil
		case resp.StatusCode == http.StatusNotFound:
			readSnippet(resp)
			return blobURL{}, fmt.Errorf("blob %s: %w", digest, ErrRemoteNotFound)
		default:
			lastErr = &RemoteError{StatusCode: resp.StatusCode, Body: readSnippet(resp)}
			if permanent(lastErr) {
				return blobURL{}, lastErr
			}
		}
	}
	return blobURL{}, fmt.Errorf("max retries exceeded: %w", lastErr)
}

// permanent reports errors that another try cannot fix: a client error other than a timeout or rate limit.
func permanent(err error) bool {
	var re *RemoteError
	if errors.As(err, &re) {
		return permanentStatus(re.StatusCode)
	}
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOSPC)
}

// downloadPartWithRetries downloads what remains of p, retrying failures with exponential backoff
// (a stall restarts the part without counting as a try).
func (r *remote) downloadPartWithRetries(ctx context.Context, src blobURL, f *os.File, p *part, d *download, opts *TransferOptions) error {
	var err error
	for try := 0; try < opts.maxRetries(); {
		err = r.downloadPart(ctx, src, f, p, d, opts)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, errPartStalled):
			continue
		case permanent(err):
			return err
		}
		try++
		if try < opts.maxRetries() {
			if berr := opts.backoff(ctx, try-1); berr != nil {
				return berr
			}
		}
	}
	return fmt.Errorf("max retries exceeded: %w", err)
}

// downloadPart fetches bytes [Offset+Completed, Offset+Size) of the blob into f, recording progress
// in the part file as it goes.
func (r *remote) downloadPart(ctx context.Context, src blobURL, f *os.File, p *part, d *download, opts *TransferOptions) (err error) {
	start, end := p.Offset+p.progress(), p.Offset+p.Size
	if start >= end {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	stall := opts.stallTimeout()
	go func() {
		t := time.NewTicker(max(stall/8, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if time.Since(time.Unix(0, last.Load())) > stall {
					cancel(errPartStalled)
					return
				}
			}
		}
	}()
	defer func() {
		if serr := p.save(); err == nil && serr != nil {
			err = serr
		}
		if cause := context.Cause(ctx); errors.Is(cause, errPartStalled) {
			err = errPartStalled
		}
	}()

	resp, err := r.do(ctx, request{
		method: http.MethodGet, url: src.url, noAuth: src.direct,
		header: http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", start, end-1)}},
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := io.Reader(resp.Body)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if cr := resp.Header.Get("Content-Range"); !strings.HasPrefix(cr, fmt.Sprintf("bytes %d-", start)) {
			return &BadAnswerError{Host: src.url.Host, Err: fmt.Errorf("range %d-%d answered with Content-Range %q", start, end-1, cr)}
		}
	case http.StatusOK:
		// The server ignored the range: skip to where this part resumes.
		if _, err := io.CopyN(io.Discard, body, start); err != nil {
			return upstreamError(ctx, src.url.Host, err)
		}
	default:
		return &RemoteError{StatusCode: resp.StatusCode, Body: readSnippet(resp)}
	}

	buf := make([]byte, 256<<10)
	remaining := end - start
	for remaining > 0 {
		n, rerr := body.Read(buf[:min(int64(len(buf)), remaining)])
		if n > 0 {
			if _, werr := f.WriteAt(buf[:n], p.Offset+p.progress()); werr != nil {
				return werr
			}
			p.advance(int64(n))
			d.completed.Add(int64(n))
			remaining -= int64(n)
			last.Store(time.Now().UnixNano())
			if p.progress()-p.saved >= partSaveEvery {
				if err := p.save(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF && remaining > 0 {
			return upstreamError(ctx, src.url.Host, io.ErrUnexpectedEOF)
		}
		if rerr != nil && rerr != io.EOF {
			return upstreamError(ctx, src.url.Host, rerr)
		}
	}
	return nil
}

// shortDigest is the 12 hex digits Ollama's progress statuses name a blob by.
func shortDigest(digest string) string {
	hex := strings.TrimPrefix(digest, digestPrefix)
	return hex[:min(12, len(hex))]
}
