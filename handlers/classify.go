package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/registry"
)

// classifier runs classification requests (engine.Pipeline).
type classifier interface {
	// Classify serves an /api/classify request for m.
	Classify(ctx context.Context, m *registry.Model, req *hapi.ClassifyRequest) (*hapi.ClassifyResponse, error)
}

// classifyRoutes mounts hearth's POST /api/classify when the server has an engine.
func (s *server) classifyRoutes(r chi.Router) {
	if s.classifier == nil {
		return
	}
	r.Post("/api/classify", s.classify)
}

// classify is POST /api/classify: a string or an array of strings in, per input the model's labels with
// their probabilities (highest first, top_k of them when set) out.
func (s *server) classify(w http.ResponseWriter, r *http.Request) {
	var req hapi.ClassifyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	m, ok := s.resolveModel(w, req.Model, true)
	if !ok {
		return
	}
	resp, err := s.classifier.Classify(r.Context(), m, &req)
	if err != nil {
		writeError(w, engineErrorStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
