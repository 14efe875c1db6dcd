package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/hearthlink/hearth/registry"
)

// headBlob answers HEAD /api/blobs/{digest}: 200 when the store holds the blob, 404 when it does
// not, 400 for a malformed digest. The CLI asks before uploading a file for create.
func (s *server) headBlob(w http.ResponseWriter, r *http.Request) {
	digest := chi.URLParam(r, "digest")
	if _, err := registry.ParseDigest(digest); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.store.HasBlob(digest) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("blob %q not found", digest))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// createBlob answers POST /api/blobs/{digest}: the raw body becomes a blob, verified against the
// digest before it is visible (201), or is not read at all when the store already holds it (200). A
// body that hashes to something else is a 400 and leaves nothing behind.
func (s *server) createBlob(w http.ResponseWriter, r *http.Request) {
	digest := chi.URLParam(r, "digest")
	if _, err := registry.ParseDigest(digest); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.store.HasBlob(digest) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, err := s.store.WriteBlob(r.Context(), r.Body, digest); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, registry.ErrDigestMismatch) || errors.Is(err, io.ErrUnexpectedEOF) {
			status = http.StatusBadRequest // the upload was wrong or cut short; nothing was kept
		}
		writeError(w, status, err.Error())
		return
	}
	w.WriteHeader(http.StatusCreated)
}
