package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PruneReport says what Prune removed.
type PruneReport struct {
	// Junk lists the blobs/ files removed because their names are not digests: partial downloads
	// (sha256-<hex>-partial, ...-partial-N), temporary files left by a crash, stray files.
	Junk []string
	// Unused lists the digests of blobs removed because no manifest references them.
	Unused []string
	// Bytes is the space freed.
	Bytes int64
}

// Prune cleans the store the way Ollama does at startup unless OLLAMA_NOPRUNE is set: it renames
// colon-named blobs to the dash form, removes blobs/ files whose names are not digests (partial
// downloads abandoned for longer than partialTTL included; recent ones stay for a pull to resume,
// where Ollama deletes them), removes blobs no manifest references, removes temporary manifest files
// and prunes empty manifest folders. If a manifest cannot be decoded, unreferenced blobs are kept (the
// broken manifest might have needed them) and the returned error, matching ErrCorruptManifest, says
// which manifest to fix or delete; the rest of the cleaning still happens. Blob writes in flight in this process are left alone.
func (s *Store) Prune() (PruneReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var report PruneReport

	if err := s.fixBlobNames(); err != nil {
		return report, err
	}

	entries, err := os.ReadDir(s.blobsDir())
	if err != nil {
		return report, err
	}
	var stored []string
	for _, e := range entries {
		name := e.Name()
		if d, ok := digestOfFileName(name); ok {
			if !e.IsDir() {
				stored = append(stored, d) // a symbolic link to a blob elsewhere counts too
			}
			continue
		}
		if e.IsDir() || s.isActiveTemp(name) || freshPartial(e) {
			continue
		}
		size := fileSize(e)
		if err := os.Remove(filepath.Join(s.blobsDir(), name)); err != nil {
			s.log.Warn("couldn't remove blob", "blob", name, "error", err)
			continue
		}
		report.Junk = append(report.Junk, name)
		report.Bytes += size
	}

	refs, refErr := s.referencedBlobs(true)
	if refErr == nil {
		for _, d := range stored {
			if _, used := refs[d]; used {
				continue
			}
			if size, ok := s.removeBlob(d); ok {
				report.Unused = append(report.Unused, d)
				report.Bytes += size
			}
		}
	}

	s.removeManifestTemps()
	s.pruneEmptyDirs(s.manifestsDir(), true)
	s.log.Info("pruned model store", "junk", len(report.Junk), "unused", len(report.Unused), "bytes", report.Bytes)
	if refErr != nil {
		return report, fmt.Errorf("kept unused blobs: %w", refErr)
	}
	return report, nil
}

// partialTTL is how long an interrupted download is kept for a later pull to resume. Ollama removes
// partial downloads at every start; hearth keeps them so a pull resumes after a restart, and still
// reclaims the space of downloads nobody came back for.
const partialTTL = 7 * 24 * time.Hour

// freshPartial reports whether e is a partial download (sha256-<hex>-partial, or one of its part files
// sha256-<hex>-partial-<n>) written to within partialTTL.
func freshPartial(e fs.DirEntry) bool {
	name := e.Name()
	i := strings.Index(name, "-partial")
	if i < 0 {
		return false
	}
	if _, ok := digestOfFileName(name[:i]); !ok {
		return false
	}
	info, err := e.Info()
	return err == nil && time.Since(info.ModTime()) < partialTTL
}

// referencedBlobs returns the digests every manifest references. With strict, a manifest that does
// not decode is an error (wrapping a *CorruptManifestError); otherwise it is skipped, as Ollama's
// deletion does, so that a broken manifest elsewhere does not stop a delete from freeing space.
func (s *Store) referencedBlobs(strict bool) (map[string]struct{}, error) {
	names, err := s.manifestNames()
	if err != nil {
		return nil, err
	}
	refs := make(map[string]struct{})
	for _, n := range names {
		mf, err := s.readManifestFile(n)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			if strict {
				return nil, &CorruptManifestError{Name: n.DisplayShortest(), Err: err}
			}
			s.log.Warn("ignoring bad manifest while collecting garbage", "name", n.String(), "error", err)
			continue
		}
		for _, l := range mf.Manifest.Blobs() {
			if d, err := ParseDigest(l.Digest); err == nil {
				refs[d] = struct{}{}
			}
		}
	}
	return refs, nil
}

// removeUnreferenced removes those of the given blobs that no manifest references any more: the
// garbage collection after a delete or a replacement. Failures are logged, not returned: the model
// change has already happened and a leftover blob only costs space until the next Prune. s.mu must
// be held.
func (s *Store) removeUnreferenced(blobs []Layer) {
	if len(blobs) == 0 {
		return
	}
	refs, err := s.referencedBlobs(false)
	if err != nil {
		s.log.Warn("couldn't collect unused blobs", "error", err)
		return
	}
	for _, l := range blobs {
		d, err := ParseDigest(l.Digest)
		if err != nil {
			continue
		}
		if _, used := refs[d]; !used {
			s.removeBlob(d)
		}
	}
}

// removeBlob deletes one blob and forgets its cached GGUF metadata, reporting its size and whether
// it was removed by this call.
func (s *Store) removeBlob(digest string) (int64, bool) {
	p := s.blobPath(digest)
	fi, err := os.Stat(p)
	if err != nil {
		return 0, false
	}
	if err := os.Remove(p); err != nil {
		s.log.Warn("couldn't remove blob", "digest", digest, "error", err)
		return 0, false
	}
	s.changed()
	s.gguf.forget(digest)
	s.configs.Delete(digest)
	return fi.Size(), true
}

// removeManifestTemps removes temporary manifest files a crash left at the top of manifests/.
func (s *Store) removeManifestTemps() {
	entries, err := os.ReadDir(s.manifestsDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), tempPrefix) {
			os.Remove(filepath.Join(s.manifestsDir(), e.Name()))
		}
	}
}

// pruneEmptyDirs removes the empty folders below dir (and dir itself unless top), without following
// symbolic links, and reports whether dir is now gone.
func (s *Store) pruneEmptyDirs(dir string, top bool) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	left := len(entries)
	for _, e := range entries {
		if e.IsDir() && s.pruneEmptyDirs(filepath.Join(dir, e.Name()), false) {
			left--
		}
	}
	if top || left > 0 {
		return false
	}
	return os.Remove(dir) == nil
}

// fileSize is a directory entry's size, or 0 if it cannot be read.
func fileSize(e os.DirEntry) int64 {
	fi, err := e.Info()
	if err != nil {
		return 0
	}
	return fi.Size()
}
