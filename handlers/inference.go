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

// inferenceRoutes mounts /api/generate, /api/chat and /api/ps when the server has a scheduler.
func (s *server) inferenceRoutes(r chi.Router) {
	if s.sched == nil {
		return
	}
	r.Post("/api/generate", s.generate)
	r.Post("/api/chat", s.chat)
	r.Get("/api/ps", s.ps)
}

// generate is POST /api/generate.
func (s *server) generate(w http.ResponseWriter, r *http.Request) {
	var req api.GenerateRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.TopLogprobs < 0 || req.TopLogprobs > 20 {
		writeError(w, http.StatusBadRequest, "top_logprobs must be between 0 and 20")
		return
	}
	m, err := s.store.Resolve(req.Model)
	if err != nil {
		var invalid *registry.InvalidNameError
		if errors.As(err, &invalid) || errors.Is(err, registry.ErrNotFound) {
			// Ollama answers an invalid name on this route as a missing model.
			writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
			return
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	serveStream(w, r, streamOptions[api.GenerateResponse]{
		Stream: req.Stream,
		Reduce: func(acc, next api.GenerateResponse) api.GenerateResponse {
			next.Response = acc.Response + next.Response
			next.Thinking = acc.Thinking + next.Thinking
			next.Logprobs = append(acc.Logprobs, next.Logprobs...)
			return next
		},
		Status: engineErrorStatus,
	}, func(ctx context.Context, emit func(api.GenerateResponse) error) error {
		return s.sched.Generate(ctx, m, &req, emit)
	})
}

// chat is POST /api/chat.
func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	var req api.ChatRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.TopLogprobs < 0 || req.TopLogprobs > 20 {
		writeError(w, http.StatusBadRequest, "top_logprobs must be between 0 and 20")
		return
	}
	m, err := s.store.Resolve(req.Model)
	if err != nil {
		var invalid *registry.InvalidNameError
		switch {
		case errors.As(err, &invalid):
			writeError(w, http.StatusBadRequest, "model is required")
		case errors.Is(err, registry.ErrNotFound):
			writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		default:
			writeError(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	hasTools := len(req.Tools) > 0
	serveStream(w, r, streamOptions[api.ChatResponse]{
		Stream: req.Stream,
		Reduce: func(acc, next api.ChatResponse) api.ChatResponse {
			calls := next.Message.ToolCalls
			next.Message.Content = acc.Message.Content + next.Message.Content
			next.Message.Thinking = acc.Message.Thinking + next.Message.Thinking
			next.Logprobs = append(acc.Logprobs, next.Logprobs...)
			if hasTools {
				next.Message.ToolCalls = append(acc.Message.ToolCalls, calls...)
			}
			return next
		},
		Status: engineErrorStatus,
	}, func(ctx context.Context, emit func(api.ChatResponse) error) error {
		return s.sched.Chat(ctx, m, &req, emit)
	})
}

// ps is GET /api/ps.
func (s *server) ps(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.ProcessResponse{Models: s.sched.Loaded()})
}

// engineErrorStatus maps the engine's errors to Ollama's status codes.
func engineErrorStatus(err error) int {
	switch {
	case errors.Is(err, engine.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, engine.ErrServerBusy):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return 499
	case errors.Is(err, registry.ErrNotFound):
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}
