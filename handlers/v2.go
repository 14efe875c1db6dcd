package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/hearthlink/hearth/registry"
)

// The read-only OCI distribution registry over the model store, so that another hearth or an Ollama
// can pull from this one (`ollama pull --insecure host:11434/library/m:latest`): a fleet shares models
// without each machine fetching them from the internet.

// registryAPIVersion is the header every distribution registry answers with.
const registryAPIVersion = "registry/2.0"

// v2Routes mounts GET and HEAD of /v2/, manifests and blobs. Anything that would write (pushes) finds
// no route and is answered 405 or 404.
func (s *server) v2Routes(r chi.Router) {
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r.MethodFunc(m, "/v2/", v2Base)
		r.MethodFunc(m, "/v2/{namespace}/{model}/manifests/{reference}", s.v2Manifest)
		r.MethodFunc(m, "/v2/{namespace}/{model}/blobs/{digest}", s.v2Blob)
	}
}

// v2Base answers the API version check clients start with.
func v2Base(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", registryAPIVersion)
	writeJSON(w, http.StatusOK, struct{}{})
}

// v2Manifest serves a manifest file byte for byte, with its digest.
func (s *server) v2Manifest(w http.ResponseWriter, r *http.Request) {
	m, err := s.store.RegistryManifest(chi.URLParam(r, "namespace"), chi.URLParam(r, "model"), chi.URLParam(r, "reference"))
	if err != nil {
		v2StoreError(w, err, "MANIFEST_UNKNOWN", "manifest unknown")
		return
	}
	h := w.Header()
	h.Set("Docker-Distribution-API-Version", registryAPIVersion)
	h.Set("Content-Type", m.MediaType)
	h.Set("Content-Length", strconv.Itoa(len(m.Data)))
	h.Set("Docker-Content-Digest", m.Digest)
	h.Set("ETag", `"`+m.Digest+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(m.Data)
	}
}

// v2Blob serves a blob with range support. It also sends a Location header naming itself: Ollama's
// client insists on learning a "direct URL" from the first blob GET (a CDN redirect on ollama.com) and
// then fetches ranges from it, so this is what lets an Ollama pull from hearth.
func (s *server) v2Blob(w http.ResponseWriter, r *http.Request) {
	digest := chi.URLParam(r, "digest")
	f, err := s.store.OpenBlob(digest)
	if err != nil {
		v2StoreError(w, err, "BLOB_UNKNOWN", "blob unknown to registry")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		v2Error(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	d, _ := registry.ParseDigest(digest)
	h := w.Header()
	h.Set("Docker-Distribution-API-Version", registryAPIVersion)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d)
	h.Set("ETag", `"`+d+`"`)
	h.Set("Cache-Control", "max-age=31536000") // content-addressed: never changes
	h.Set("Location", r.URL.Path)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// v2StoreError answers a store error in the distribution API's error shape.
func v2StoreError(w http.ResponseWriter, err error, unknownCode, unknownMessage string) {
	switch {
	case errors.Is(err, registry.ErrInvalidName):
		v2Error(w, http.StatusBadRequest, "NAME_INVALID", err.Error())
	case errors.Is(err, registry.ErrInvalidDigest):
		v2Error(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrMissingBlob), errors.Is(err, fs.ErrNotExist):
		v2Error(w, http.StatusNotFound, unknownCode, unknownMessage+": "+err.Error())
	default:
		v2Error(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
	}
}

// v2Error writes {"errors":[{"code","message"}]}, the distribution API's error body.
func v2Error(w http.ResponseWriter, status int, code, message string) {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
	w.Header().Set("Docker-Distribution-API-Version", registryAPIVersion)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
