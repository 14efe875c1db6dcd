package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// copyBufferSize is large because blobs are model weights, gigabytes long.
const copyBufferSize = 1 << 20

// Blob describes a blob that WriteBlob put in (or found already in) the store.
type Blob struct {
	// Digest is the blob's sha256:<hex> digest.
	Digest string
	// Size is the blob's length in bytes.
	Size int64
	// Created is true when this call added the blob, false when the store already held it; create
	// reports these as "creating new layer" and "using existing layer".
	Created bool
}

// Layer returns a manifest layer of the given media type for this blob.
func (b Blob) Layer(mediaType string) Layer {
	return Layer{MediaType: mediaType, Digest: b.Digest, Size: b.Size}
}

// WriteBlob streams r into the store and returns the blob's digest and size. The bytes go to a
// temporary file in blobs/ while being hashed; the file is fsynced and, when expectedDigest is not
// empty, checked against it before an atomic rename makes it visible. So a digest mismatch
// (*DigestMismatchError), a malformed expectedDigest (*DigestFormatError, nothing read), a read error,
// a cancelled ctx or a full disk leave nothing behind, and concurrent writers of the same content all
// succeed with one intact blob: each writes its own temporary file and renaming identical content
// over identical content is harmless. The whole stream is always read and hashed, even when the
// blob is already stored; a caller that may skip an upload (POST /api/blobs answers 200 without
// reading the body) checks HasBlob first.
func (s *Store) WriteBlob(ctx context.Context, r io.Reader, expectedDigest string) (Blob, error) {
	var want string
	if expectedDigest != "" {
		var err error
		if want, err = ParseDigest(expectedDigest); err != nil {
			return Blob{}, err
		}
	}

	f, err := os.CreateTemp(s.blobsDir(), tempPrefix+"*")
	if err != nil {
		return Blob{}, fmt.Errorf("writing blob: %w", err)
	}
	tmp := f.Name()
	s.trackTemp(tmp, true)
	defer s.trackTemp(tmp, false)
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()

	h := newDigester()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), ctxReader{ctx, r}, make([]byte, copyBufferSize))
	if err != nil {
		return Blob{}, fmt.Errorf("writing blob: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		return Blob{}, fmt.Errorf("writing blob: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Blob{}, fmt.Errorf("writing blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return Blob{}, fmt.Errorf("writing blob: %w", err)
	}

	got := digestOf(h)
	if want != "" && got != want {
		return Blob{}, &DigestMismatchError{Expected: want, Got: got}
	}

	final := s.blobPath(got)
	crashPoint("blob-rename")
	// A blob of the right size is the same content (the name is its hash); one of another size was
	// damaged outside the store's control, and the fresh copy replaces it.
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == n {
		return Blob{Digest: got, Size: n}, nil
	}
	if err := os.Rename(tmp, final); err != nil {
		return Blob{}, fmt.Errorf("writing blob: %w", err)
	}
	committed = true
	if err := syncDir(s.blobsDir()); err != nil {
		return Blob{}, fmt.Errorf("writing blob: %w", err)
	}
	return Blob{Digest: got, Size: n, Created: true}, nil
}

// trackTemp records (or forgets) a temporary blob file being written, so Prune spares it.
func (s *Store) trackTemp(path string, active bool) {
	s.tempMu.Lock()
	defer s.tempMu.Unlock()
	if active {
		s.temps[filepath.Base(path)] = struct{}{}
	} else {
		delete(s.temps, filepath.Base(path))
	}
}

// isActiveTemp reports whether a blobs/ entry is a blob write still in flight.
func (s *Store) isActiveTemp(name string) bool {
	s.tempMu.Lock()
	defer s.tempMu.Unlock()
	_, ok := s.temps[name]
	return ok
}

// blobPath is the file of a canonical digest.
func (s *Store) blobPath(digest string) string {
	return filepath.Join(s.blobsDir(), blobFileName(digest))
}

// BlobPath returns the file a blob lives (or would live) in, after checking the digest's format.
func (s *Store) BlobPath(digest string) (string, error) {
	d, err := ParseDigest(digest)
	if err != nil {
		return "", err
	}
	return s.blobPath(d), nil
}

// HasBlob reports whether the store holds the blob; a malformed digest is simply not held.
func (s *Store) HasBlob(digest string) bool {
	p, err := s.BlobPath(digest)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// OpenBlob opens a blob for reading. A blob the store lacks is an error matching fs.ErrNotExist.
func (s *Store) OpenBlob(digest string) (*os.File, error) {
	p, err := s.BlobPath(digest)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// BlobLayer returns a layer of the given media type for a blob already in the store (uploaded
// through /api/blobs, or taken from another model), with its size read from disk.
func (s *Store) BlobLayer(digest, mediaType string) (Layer, error) {
	d, err := ParseDigest(digest)
	if err != nil {
		return Layer{}, err
	}
	fi, err := os.Stat(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return Layer{}, fmt.Errorf("blob %s: %w", d, fs.ErrNotExist)
	} else if err != nil {
		return Layer{}, err
	}
	return Layer{MediaType: mediaType, Digest: d, Size: fi.Size()}, nil
}
