package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/registry"
)

// listModels answers GET/HEAD /api/tags: every stored model, most recently modified first.
func (s *server) listModels(w http.ResponseWriter, r *http.Request) {
	resp, err := s.modelList()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// modelList is what /api/tags lists, and /v1/models after translation.
func (s *server) modelList() (api.ListResponse, error) {
	models, err := s.store.List()
	if err != nil {
		return api.ListResponse{}, err
	}
	resp := api.ListResponse{Models: make([]api.ListModelResponse, 0, len(models))}
	for _, m := range models {
		name := m.Name.DisplayShortest()
		resp.Models = append(resp.Models, api.ListModelResponse{
			Name:        name,
			Model:       name,
			RemoteModel: m.Config.RemoteModel,
			RemoteHost:  m.Config.RemoteHost,
			ModifiedAt:  m.ModifiedAt,
			Size:        m.Size,
			Digest:      m.Digest,
			Details:     m.Details(),
		})
	}
	return resp, nil
}

// copyModel answers POST /api/copy: a second name for a model's manifest. 200 with an empty body.
func (s *server) copyModel(w http.ResponseWriter, r *http.Request) {
	var req api.CopyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	err := s.store.Copy(req.Source, req.Destination)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, registry.ErrInvalidName):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, registry.ErrNotFound):
		// Copy is the one route whose not-found message quotes the name with %q.
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q not found", req.Source))
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// deleteModel answers DELETE /api/delete: removes the manifest and the blobs no other model uses.
func (s *server) deleteModel(w http.ResponseWriter, r *http.Request) {
	var req api.DeleteRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	//lint:ignore SA1019 Ollama still honours the deprecated name field
	err := s.store.Delete(cmp.Or(req.Model, req.Name))
	if err != nil {
		writeError(w, storeErrorStatus(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

// storeErrorStatus is the status of a model store error, pulls and pushes included: 400 for what the
// request got wrong, 404 for a model (or a blob of it) that is not there, here or on the registry; for a
// registry's failure, the gateway statuses (502 unreachable or answering nonsense, 504 silent) or the
// registry's own refusal (401, 403, 429); 500 for the rest, which is hearth's own failure.
func storeErrorStatus(err error) int {
	var remote *registry.RemoteError
	switch {
	// The registry's failures come first: a blob it sent that does not match its digest is a
	// DigestMismatchError too, but no fault of the request.
	case errors.Is(err, registry.ErrRegistryTimeout):
		return http.StatusGatewayTimeout
	case errors.Is(err, registry.ErrUnreachable), errors.Is(err, registry.ErrBadRegistryAnswer):
		return http.StatusBadGateway
	case errors.Is(err, registry.ErrRemoteNotFound):
		return http.StatusNotFound
	case errors.As(err, &remote):
		return remoteStatus(remote.StatusCode)
	case errors.Is(err, registry.ErrInsecureProtocol),
		errors.Is(err, registry.ErrInvalidName), errors.Is(err, registry.ErrInvalidDigest),
		errors.Is(err, registry.ErrInvalidInput), errors.Is(err, registry.ErrDigestMismatch):
		return http.StatusBadRequest
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrMissingBlob):
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

// remoteStatus is what a client is answered when the registry answered code: the refusals that mean
// the same to the client keep their status (no credentials, no access, not there, slow down); a
// registry timing out is a gateway timeout; anything else the registry refused or failed at is a bad
// gateway, with the registry's status and words in the message.
func remoteStatus(code int) int {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests:
		return code
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}

// modelRoutes mounts the model-management routes: list, show, copy, delete, blobs, create, pull, push.
func (s *server) modelRoutes(r chi.Router) {
	r.Get("/api/tags", s.listModels)
	r.Head("/api/tags", s.listModels)
	r.Post("/api/show", s.showModel)
	r.Post("/api/copy", s.copyModel)
	r.Delete("/api/delete", s.deleteModel)
	r.Head("/api/blobs/{digest}", s.headBlob)
	r.Post("/api/blobs/{digest}", s.createBlob)
	r.Post("/api/create", s.createModel)
	r.Post("/api/pull", s.pullModel)
	r.Post("/api/push", s.pushModel)
}
