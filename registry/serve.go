package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ollama/ollama/types/model"
)

// defaultHost is the host of names without one, whose models the store serves first under /v2/.
const defaultHost = "registry.ollama.ai"

// ServedManifest is a manifest as hearth's read-only registry serves it: the file's exact bytes, so
// the digest a client computes matches the one announced.
type ServedManifest struct {
	// Data is the manifest file's content.
	Data []byte
	// Digest is sha256:<hex> of Data.
	Digest string
	// MediaType is the manifest's own media type.
	MediaType string
}

// RegistryManifest finds the manifest that /v2/<namespace>/<repo>/manifests/<reference> names in
// this store, for serving the store as an OCI registry. The store may hold the repository under
// several hosts (registry.ollama.ai/library/m, hf.co/library/m...): models of the default host are
// preferred, then hosts in name order. reference is a tag, or a sha256: digest of the manifest.
// Names are matched case-insensitively. Errors are *InvalidNameError, *NotFoundError, and
// *MissingBlobError when the manifest references blobs the store lacks (serving it would only make
// the pull fail half-way).
func (s *Store) RegistryManifest(namespace, repo, reference string) (*ServedManifest, error) {
	byDigest := strings.HasPrefix(reference, digestPrefix)
	tag := reference
	if byDigest {
		if _, err := ParseDigest(reference); err != nil {
			return nil, err
		}
		tag = "latest" // only to validate the other parts
	}
	display := namespace + "/" + repo + ":" + reference
	probe := model.ParseName(namespace + "/" + repo + ":" + tag)
	if !probe.IsValid() || strings.ContainsAny(namespace+repo, "/\\") {
		return nil, &InvalidNameError{Name: display}
	}

	for _, host := range s.hostsByPreference() {
		n := model.Name{Host: host, Namespace: namespace, Model: repo, Tag: tag}
		if !n.IsValid() {
			continue // a stray folder, not a host
		}
		n = s.canonical(n)
		if !byDigest {
			if sm, err := s.serveManifestFile(n, display); err == nil || !errors.Is(err, fs.ErrNotExist) {
				return sm, err
			}
			continue
		}
		tags, err := os.ReadDir(filepath.Dir(s.manifestPath(n)))
		if err != nil {
			continue
		}
		for _, t := range tags {
			n.Tag = t.Name()
			if !n.IsValid() {
				continue
			}
			sm, err := s.serveManifestFile(n, display)
			if err == nil && sm.Digest == reference {
				return sm, nil
			}
		}
	}
	return nil, &NotFoundError{Name: display}
}

// hostsByPreference lists the host folders under manifests/, the default host first.
func (s *Store) hostsByPreference() []string {
	entries, err := os.ReadDir(s.manifestsDir())
	if err != nil {
		return nil
	}
	var hosts []string
	for _, e := range entries {
		if isDir(e, filepath.Join(s.manifestsDir(), e.Name())) {
			hosts = append(hosts, e.Name())
		}
	}
	slices.SortFunc(hosts, func(a, b string) int {
		switch {
		case strings.EqualFold(a, defaultHost) && !strings.EqualFold(b, defaultHost):
			return -1
		case strings.EqualFold(b, defaultHost) && !strings.EqualFold(a, defaultHost):
			return 1
		}
		return strings.Compare(a, b)
	})
	return hosts
}

// serveManifestFile reads the manifest of n, checking it decodes and its blobs are all present.
func (s *Store) serveManifestFile(n model.Name, display string) (*ServedManifest, error) {
	path := s.manifestPath(n)
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fs.ErrNotExist
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, &CorruptManifestError{Name: display, Err: err}
	}
	if err := m.validate(); err != nil {
		return nil, &CorruptManifestError{Name: display, Err: err}
	}
	for _, l := range m.Blobs() {
		if !s.HasBlob(l.Digest) {
			return nil, &MissingBlobError{Name: display, Digest: l.Digest, MediaType: l.MediaType}
		}
	}
	sum := sha256.Sum256(data)
	mediaType := m.MediaType
	if mediaType == "" {
		mediaType = MediaTypeManifest
	}
	return &ServedManifest{Data: data, Digest: digestPrefix + hex.EncodeToString(sum[:]), MediaType: mediaType}, nil
}
