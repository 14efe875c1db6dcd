package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// maxManifestSize bounds a manifest read from a registry; real ones are a few KiB.
const maxManifestSize = 4 << 20

// Pull downloads a model from the OCI registry its name points at (registry.ollama.ai unless the name
// has a host) into the store, reporting Ollama's progress: "pulling manifest", "pulling <12 hex>" per
// blob, "verifying sha256 digest", "writing manifest", "removing unused layers" when a replaced
// manifest leaves blobs unused, "success". Blobs already in the store are not fetched again; missing
// ones are downloaded in parallel ranged parts into blobs/sha256-<hex>-partial, resuming whatever an
// interrupted pull (in hearth or Ollama) recorded there, and verified against their digest before
// they become visible. A registry that does not know the model answers an error that reads
// "pull model manifest: file does not exist" and matches ErrRemoteNotFound and fs.ErrNotExist; a
// registry that cannot be reached or does not answer is an *UpstreamError, one that answers with an
// error status a *RemoteError, and an http:// name without opts.Insecure ErrInsecureProtocol.
func (s *Store) Pull(ctx context.Context, name string, opts TransferOptions) error {
	n, err := ParseName(name)
	if err != nil {
		return err
	}
	n = s.canonical(n)
	r, err := newRemote(n, &opts)
	if err != nil {
		return err
	}

	opts.progress(api.ProgressResponse{Status: "pulling manifest"})
	m, err := r.pullManifest(ctx, n.Tag)
	if err != nil {
		return fmt.Errorf("pull model manifest: %w", err)
	}

	for _, l := range pullOrder(m) {
		if _, err := s.fetchBlob(ctx, r, l, &opts); err != nil {
			return err
		}
	}
	// Every blob was verified before it was renamed into place; the status is kept for clients that
	// show it.
	opts.progress(api.ProgressResponse{Status: "verifying sha256 digest"})

	opts.progress(api.ProgressResponse{Status: "writing manifest"})
	unused, err := s.writePulledManifest(name, n, m)
	if err != nil {
		return err
	}
	if unused {
		opts.progress(api.ProgressResponse{Status: "removing unused layers"})
	}
	opts.progress(api.ProgressResponse{Status: "success"})
	return nil
}

// pullOrder is the order Ollama fetches a manifest's blobs in: the layers, then the config.
func pullOrder(m Manifest) []Layer {
	blobs := append([]Layer(nil), m.Layers...)
	if m.Config.Digest != "" {
		blobs = append(blobs, m.Config)
	}
	return blobs
}

// pullManifest fetches and checks the manifest of tag (or digest). A 404 matches fs.ErrNotExist.
func (r *remote) pullManifest(ctx context.Context, ref string) (Manifest, error) {
	resp, err := r.do(ctx, request{
		method: http.MethodGet,
		url:    r.url("manifests", ref),
		header: http.Header{"Accept": {MediaTypeManifest}},
	})
	if err != nil {
		return Manifest{}, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		readSnippet(resp)
		return Manifest{}, ErrRemoteNotFound
	case resp.StatusCode >= http.StatusBadRequest:
		return Manifest{}, &RemoteError{StatusCode: resp.StatusCode, Body: readSnippet(resp)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return Manifest{}, upstreamError(ctx, r.base.Host, err)
	}
	if len(data) > maxManifestSize {
		return Manifest{}, &BadAnswerError{Host: r.base.Host, Err: fmt.Errorf("manifest is larger than %d bytes", maxManifestSize)}
	}
	m, err := decodeManifest(data)
	if err != nil {
		return Manifest{}, &BadAnswerError{Host: r.base.Host, Err: err}
	}
	return m, nil
}

// decodeManifest decodes and checks a manifest as a registry sent it.
func decodeManifest(data []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

// writePulledManifest stores a pulled manifest the way Ollama's pull does (json.Marshal, so without a
// trailing newline: the same bytes, hence the same ID in `ollama list`, as Ollama would write) and
// reports whether the manifest it replaced leaves blobs unused.
func (s *Store) writePulledManifest(name string, n model.Name, m Manifest) (bool, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n = s.canonical(n)
	unused := false
	if old, err := s.readManifestFile(n); err == nil && !s.noPrune {
		keep := make(map[string]bool)
		for _, l := range m.Blobs() {
			keep[l.Digest] = true
		}
		for _, l := range old.Manifest.Blobs() {
			unused = unused || !keep[l.Digest]
		}
	}
	if _, err := s.writeManifestDataLocked(name, n, m, data); err != nil {
		return false, err
	}
	return unused, nil
}
