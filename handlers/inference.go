package handlers

import (
	"context"
	"errors"
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
	s.serveGenerate(w, r, &req, ndjson[api.GenerateResponse]{})
}

// serveGenerate runs a generate request and answers it in format: /api/generate and the OpenAI
// completions route translated into it share everything but the wire format.
func (s *server) serveGenerate(w http.ResponseWriter, r *http.Request, req *api.GenerateRequest, format wireFormat[api.GenerateResponse]) {
	if req.TopLogprobs < 0 || req.TopLogprobs > 20 {
		format.fail(w, http.StatusBadRequest, "top_logprobs must be between 0 and 20")
		return
	}
	// Ollama answers an invalid name on this route as a missing model.
	m, serr := s.lookupModel(req.Model, false)
	if serr != nil {
		format.fail(w, serr.status, serr.msg)
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
		Single: func(v api.GenerateResponse) bool { return isNDJSON(format) && loadReply(v.DoneReason) },
		Status: engineErrorStatus,
		Format: format,
	}, func(ctx context.Context, emit func(api.GenerateResponse) error) error {
		return s.sched.Generate(ctx, m, req, emit)
	})
}

// chat is POST /api/chat.
func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	var req api.ChatRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	s.serveChat(w, r, &req, ndjson[api.ChatResponse]{})
}

// serveChat runs a chat request and answers it in format: /api/chat and the OpenAI chat, Responses and
// Anthropic Messages routes translated into it share everything but the wire format.
func (s *server) serveChat(w http.ResponseWriter, r *http.Request, req *api.ChatRequest, format wireFormat[api.ChatResponse]) {
	if req.TopLogprobs < 0 || req.TopLogprobs > 20 {
		format.fail(w, http.StatusBadRequest, "top_logprobs must be between 0 and 20")
		return
	}
	m, serr := s.lookupModel(req.Model, true)
	if serr != nil {
		format.fail(w, serr.status, serr.msg)
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
		Single: func(v api.ChatResponse) bool { return isNDJSON(format) && loadReply(v.DoneReason) },
		Status: engineErrorStatus,
		Format: format,
	}, func(ctx context.Context, emit func(api.ChatResponse) error) error {
		return s.sched.Chat(ctx, m, req, emit)
	})
}

// loadReply reports whether a done reason is that of a load or unload request (empty prompt or messages),
// which Ollama answers as one JSON object whatever "stream" says.
func loadReply(reason string) bool { return reason == "load" || reason == "unload" }

// isNDJSON reports whether format is Ollama's own; the OpenAI routes keep streaming their protocol.
func isNDJSON[T any](format wireFormat[T]) bool {
	_, ok := format.(ndjson[T])
	return ok
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
