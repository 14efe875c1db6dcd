package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/registry"
)

// reranker runs rerank requests (engine.Pipeline).
type reranker interface {
	// Rerank serves an /api/rerank request for m.
	Rerank(ctx context.Context, m *registry.Model, req *hapi.RerankRequest) (*hapi.RerankResponse, error)
}

// rerankRoutes mounts POST /api/rerank and its llama.cpp/Jina/Cohere-compatible twin POST /v1/rerank
// when the server has an engine.
func (s *server) rerankRoutes(r chi.Router) {
	if s.reranker == nil {
		return
	}
	r.Post("/api/rerank", s.rerank)
	r.Post("/v1/rerank", s.rerank)
}

// rerank scores each document against the query with a reranker and answers the documents' indexes,
// most relevant first (top_n of them when set), with their scores and, when asked, their text.
func (s *server) rerank(w http.ResponseWriter, r *http.Request) {
	var req hapi.RerankRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	m, ok := s.resolveModel(w, req.Model, true)
	if !ok {
		return
	}
	resp, err := s.reranker.Rerank(r.Context(), m, &req)
	if err != nil {
		writeError(w, engineErrorStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
