package registry

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ollama/ollama/types/model"
)

// WriteManifest stores m as the manifest of name, replacing any manifest the name had. The name is
// matched case-insensitively against the store first, so writing "Foo" over an existing "foo"
// replaces "foo". The manifest is checked (schema 2, canonical digests, safe ONNX file names) and
// every blob it references must already be in the store (*MissingBlobError otherwise); the file is
// then written atomically (temporary file, fsync, rename, fsync of the folder). Unless the store was
// opened with NoPrune, blobs that only the replaced manifest referenced are removed.
func (s *Store) WriteManifest(name string, m Manifest) (*ManifestFile, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeManifestLocked(name, s.canonical(n), m)
}

// writeManifestLocked is WriteManifest for a parsed, canonical name, with s.mu held.
func (s *Store) writeManifestLocked(name string, n model.Name, m Manifest) (*ManifestFile, error) {
	data, err := m.encode()
	if err != nil {
		return nil, err
	}
	return s.writeManifestDataLocked(name, n, m, data)
}

// writeManifestDataLocked is writeManifestLocked with the manifest already encoded as data (a pull
// keeps Ollama's encoding of pulled manifests), with s.mu held.
func (s *Store) writeManifestDataLocked(name string, n model.Name, m Manifest, data []byte) (*ManifestFile, error) {
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("manifest for %s: %w", name, err)
	}
	for _, l := range m.Blobs() {
		if fi, err := os.Stat(s.blobPath(l.Digest)); err != nil || !fi.Mode().IsRegular() {
			return nil, &MissingBlobError{Name: name, Digest: l.Digest, MediaType: l.MediaType}
		}
	}
	old, _ := s.readManifestFile(n)
	mf, err := s.commitManifest(n, data)
	if err != nil {
		return nil, err
	}
	if old != nil && !s.noPrune {
		s.removeUnreferenced(old.Manifest.Blobs())
	}
	return mf, nil
}

// commitManifest atomically makes data the manifest file of n. The temporary file lives at the top
// of manifests/, a depth at which neither hearth nor Ollama looks for manifests.
func (s *Store) commitManifest(n model.Name, data []byte) (*ManifestFile, error) {
	path := s.manifestPath(n)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("writing manifest: %w", err)
	}
	if err := writeFileAtomic(s.manifestsDir(), path, data); err != nil {
		s.changed()
		return nil, fmt.Errorf("writing manifest: %w", err)
	}
	s.changed()
	crashPoint("manifest-renamed")
	return s.readManifestFile(n)
}

// readManifestFile reads and decodes the manifest file of a canonical name, without checking its
// blobs. A missing file is an error matching fs.ErrNotExist; an undecodable one is returned as the
// JSON error.
func (s *Store) readManifestFile(n model.Name) (*ManifestFile, error) {
	r, err := s.readManifestData(n)
	if err != nil {
		return nil, err
	}
	return r.file, nil
}

// manifestRead is one read of a manifest file: the decoded manifest, the bytes it was decoded from, and
// the file's information as the open file reported it, which the resolve cache checks later reads against.
type manifestRead struct {
	file *ManifestFile
	data []byte
	info os.FileInfo
}

// readManifestData is readManifestFile keeping the file's bytes and information.
func (s *Store) readManifestData(n model.Name) (*manifestRead, error) {
	path := s.manifestPath(n)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	mf, err := decodeManifestFile(n, path, data, fi.ModTime())
	if err != nil {
		return nil, err
	}
	return &manifestRead{file: mf, data: data, info: fi}, nil
}

// ReadManifest returns the manifest of a model, found case-insensitively. It answers
// *InvalidNameError, *NotFoundError, *CorruptManifestError for a manifest that does not decode or
// has malformed digests, and *MissingBlobError when a blob it references is not in the store.
func (s *Store) ReadManifest(name string) (*ManifestFile, error) {
	r, err := s.readManifest(name)
	if err != nil {
		return nil, err
	}
	return r.file, nil
}

// readManifest is ReadManifest keeping the file's bytes and information.
func (s *Store) readManifest(name string) (*manifestRead, error) {
	n, _, err := s.lookup("name", name)
	if err != nil {
		return nil, err
	}
	r, err := s.readManifestData(n)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &NotFoundError{Name: name}
	case err != nil:
		return nil, &CorruptManifestError{Name: name, Err: err}
	}
	for _, l := range r.file.Manifest.Blobs() {
		d, err := ParseDigest(l.Digest)
		if err != nil {
			return nil, &CorruptManifestError{Name: name, Err: err}
		}
		if fi, err := os.Stat(s.blobPath(d)); err != nil || !fi.Mode().IsRegular() {
			return nil, &MissingBlobError{Name: name, Digest: d, MediaType: l.MediaType}
		}
	}
	return r, nil
}

// Copy makes dst a second name for src by copying src's manifest file byte for byte (so both report
// the same digest); blobs are shared, not copied. Both names are matched case-insensitively. Errors
// are *InvalidNameError with Field "source" or "destination", and *NotFoundError for src. If dst
// named another model, the blobs only that model used are removed unless the store has NoPrune.
func (s *Store) Copy(src, dst string) error {
	sn, err := ParseName(src)
	if err != nil {
		return &InvalidNameError{Field: "source", Name: src}
	}
	dn, err := ParseName(dst)
	if err != nil {
		return &InvalidNameError{Field: "destination", Name: dst}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	sn, dn = s.canonical(sn), s.canonical(dn)
	data, err := os.ReadFile(s.manifestPath(sn))
	if errors.Is(err, fs.ErrNotExist) {
		return &NotFoundError{Name: src}
	} else if err != nil {
		return err
	}
	if s.manifestPath(sn) == s.manifestPath(dn) {
		return nil
	}
	old, _ := s.readManifestFile(dn)
	if _, err := s.commitManifest(dn, data); err != nil {
		return err
	}
	if old != nil && !s.noPrune {
		s.removeUnreferenced(old.Manifest.Blobs())
	}
	return nil
}

// Delete removes a model: its manifest file, the folders left empty above it, and every blob of it
// that no remaining manifest references. A manifest too corrupt to read is still removed (its blobs
// are then left for Prune). Errors are *InvalidNameError and *NotFoundError.
func (s *Store) Delete(name string) error {
	n, _, err := s.lookup("name", name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	mf, readErr := s.readManifestFile(n)
	path := s.manifestPath(n)
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		return &NotFoundError{Name: name}
	} else if err != nil {
		return err
	}
	s.changed()
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	s.pruneEmptyParents(filepath.Dir(path))
	crashPoint("delete-unlinked")
	if readErr != nil {
		s.log.Warn("deleted a corrupt manifest; its blobs will be removed by the next prune", "name", n.String(), "error", readErr)
		return nil
	}
	s.removeUnreferenced(mf.Manifest.Blobs())
	return nil
}

// pruneEmptyParents removes dir and its parents while they are empty, stopping at manifests/.
func (s *Store) pruneEmptyParents(dir string) {
	top := s.manifestsDir()
	for dir != top && len(dir) > len(top) {
		if err := os.Remove(dir); err != nil {
			return // not empty, or gone
		}
		dir = filepath.Dir(dir)
	}
}
