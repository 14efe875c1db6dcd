package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/registry"
)

// embedder runs embedding requests (engine.Pipeline).
type embedder interface {
	// Embed serves an /api/embed request for m.
	Embed(ctx context.Context, m *registry.Model, req *api.EmbedRequest) (*api.EmbedResponse, error)
	// Embeddings serves a legacy /api/embeddings request for m.
	Embeddings(ctx context.Context, m *registry.Model, req *api.EmbeddingRequest) (*api.EmbeddingResponse, error)
}

// embedRoutes mounts /api/embed and the legacy /api/embeddings when the server has an engine.
func (s *server) embedRoutes(r chi.Router) {
	if s.embedder == nil {
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
	resp, serr := s.runEmbed(r.Context(), &req)
	if serr != nil {
		writeError(w, serr.status, serr.msg)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// runEmbed serves an /api/embed request, which the OpenAI embeddings route is translated into.
func (s *server) runEmbed(ctx context.Context, req *api.EmbedRequest) (*api.EmbedResponse, *statusError) {
	m, serr := s.lookupModel(req.Model, false)
	if serr != nil {
		return nil, serr
	}
	resp, err := s.embedder.Embed(ctx, m, req)
	if err != nil {
		return nil, &statusError{engineErrorStatus(err), err.Error()}
	}
	return resp, nil
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
	resp, err := s.embedder.Embeddings(r.Context(), m, &req)
	if err != nil {
		status := engineErrorStatus(err)
		if errors.Is(err, engine.ErrEmbeddingsUnsupported) {
			status = http.StatusInternalServerError // Ollama's legacy route answers a runner's refusal with 500
		}
		writeError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// resolveModel finds the model a request names and answers the client itself when it cannot, as
// lookupModel describes.
func (s *server) resolveModel(w http.ResponseWriter, name string, invalidIs400 bool) (*registry.Model, bool) {
	m, err := s.lookupModel(name, invalidIs400)
	if err != nil {
		writeError(w, err.status, err.msg)
		return nil, false
	}
	return m, true
}

// lookupModel finds the model a request names. A name that does not parse is 400 "model is required" when
// invalidIs400 (Ollama's chat, legacy embeddings and hearth's own routes) and otherwise, as on /api/embed
// and /api/generate, a missing model like any other: 404 "model '<name>' not found".
func (s *server) lookupModel(name string, invalidIs400 bool) (*registry.Model, *statusError) {
	m, err := s.store.Resolve(name)
	if err == nil {
		return m, nil
	}
	var invalid *registry.InvalidNameError
	switch {
	case errors.As(err, &invalid) && invalidIs400:
		return nil, &statusError{http.StatusBadRequest, "model is required"}
	case errors.As(err, &invalid), errors.Is(err, registry.ErrNotFound):
		return nil, &statusError{http.StatusNotFound, fmt.Sprintf("model '%s' not found", name)}
	default:
		return nil, &statusError{http.StatusInternalServerError, err.Error()}
	}
}
