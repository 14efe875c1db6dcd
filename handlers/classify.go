package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	hapi "github.com/hearthlink/hearth/api"
)

// classifyRoutes mounts hearth's POST /api/classify when the server has a scheduler.
func (s *server) classifyRoutes(r chi.Router) {
	if s.sched == nil {
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
	resp, err := s.sched.Classify(r.Context(), m, &req)
	if err != nil {
		writeError(w, engineErrorStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
