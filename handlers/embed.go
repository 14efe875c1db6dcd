package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/registry"
)

// embedRoutes mounts /api/embed and the legacy /api/embeddings when the server has a scheduler.
func (s *server) embedRoutes(r chi.Router) {
	if s.sched == nil {
		return
	}
	r.Post("/api/embed", s.embed)
	r.Post("/api/embeddings", s.embeddings)
}

// embed is POST /api/embed: a string or an array of strings in, one L2-normalised vector per input out.
func (s *server) embed(w http.ResponseWriter, r *http.Request) {
	var req api.EmbedRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	m, ok := s.resolveModel(w, req.Model, false)
	if !ok {
		return
	}
	resp, err := s.sched.Embed(r.Context(), m, &req)
	if err != nil {
		writeError(w, engineErrorStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// embeddings is the legacy POST /api/embeddings: one prompt in, one vector (not normalised) out.
func (s *server) embeddings(w http.ResponseWriter, r *http.Request) {
	var req api.EmbeddingRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	m, ok := s.resolveModel(w, req.Model, true)
	if !ok {
		return
	}
	resp, err := s.sched.Embeddings(r.Context(), m, &req)
	if err != nil {
		writeError(w, engineErrorStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// resolveModel finds the model a request names and answers the client itself when it cannot: a name
// that does not parse is 400 "model is required" when invalidIs400 (Ollama's legacy embeddings and
// hearth's own routes) and otherwise, as on /api/embed, a missing model like any other: 404
// "model '<name>' not found".
func (s *server) resolveModel(w http.ResponseWriter, name string, invalidIs400 bool) (*registry.Model, bool) {
	m, err := s.store.Resolve(name)
	if err == nil {
		return m, true
	}
	var invalid *registry.InvalidNameError
	switch {
	case errors.As(err, &invalid) && invalidIs400:
		writeError(w, http.StatusBadRequest, "model is required")
	case errors.As(err, &invalid), errors.Is(err, registry.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", name))
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
	return nil, false
}
