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

// completer runs generate and chat requests (engine.Pipeline).
type completer interface {
	// Generate serves an /api/generate request for m, calling fn with each response chunk in order.
	Generate(ctx context.Context, m *registry.Model, req *api.GenerateRequest, fn func(api.GenerateResponse) error) error
	// Chat serves an /api/chat request for m, calling fn with each response chunk in order.
	Chat(ctx context.Context, m *registry.Model, req *api.ChatRequest, fn func(api.ChatResponse) error) error
}

// residents lists the loaded models (engine.Scheduler).
type residents interface {
	// Loaded lists the loaded models as /api/ps reports them.
	Loaded() []api.ProcessModelResponse
}

// inferenceRoutes mounts /api/generate, /api/chat and /api/ps when the server has an engine.
func (s *server) inferenceRoutes(r chi.Router) {
	if s.completer == nil {
		return
	}
	r.Post("/api/generate", s.generate)
	r.Post("/api/chat", s.chat)
	if s.residents != nil {
		r.Get("/api/ps", s.ps)
	}
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
	serveCompletion(s, w, r, completionCall[api.GenerateResponse]{
		model: req.Model, topLogprobs: req.TopLogprobs, stream: req.Stream, format: format,
		// Ollama answers an invalid name on this route as a missing model.
		strictName: false,
		reduce: func(acc, next api.GenerateResponse) api.GenerateResponse {
			next.Response = acc.Response + next.Response
			next.Thinking = acc.Thinking + next.Thinking
			next.Logprobs = append(acc.Logprobs, next.Logprobs...)
			return next
		},
		doneReason: func(v api.GenerateResponse) string { return v.DoneReason },
		run: func(ctx context.Context, m *registry.Model, emit func(api.GenerateResponse) error) error {
			return s.completer.Generate(ctx, m, req, emit)
		},
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
	hasTools := len(req.Tools) > 0
	serveCompletion(s, w, r, completionCall[api.ChatResponse]{
		model: req.Model, topLogprobs: req.TopLogprobs, stream: req.Stream, format: format, strictName: true,
		reduce: func(acc, next api.ChatResponse) api.ChatResponse {
			calls := next.Message.ToolCalls
			next.Message.Content = acc.Message.Content + next.Message.Content
			next.Message.Thinking = acc.Message.Thinking + next.Message.Thinking
			next.Logprobs = append(acc.Logprobs, next.Logprobs...)
			if hasTools {
				next.Message.ToolCalls = append(acc.Message.ToolCalls, calls...)
			}
			return next
		},
		doneReason: func(v api.ChatResponse) string { return v.DoneReason },
		run: func(ctx context.Context, m *registry.Model, emit func(api.ChatResponse) error) error {
			return s.completer.Chat(ctx, m, req, emit)
		},
	})
}

// completionCall is what serveCompletion needs of a generate or chat request.
type completionCall[T any] struct {
	model       string
	topLogprobs int
	stream      *bool
	format      wireFormat[T]
	// strictName makes an invalid model name a 400; otherwise it is answered as a missing model.
	strictName bool
	// reduce folds the next chunk into those before, for stream:false.
	reduce func(acc, next T) T
	// doneReason reads a chunk's done reason.
	doneReason func(T) string
	// run serves the request, emitting each chunk.
	run func(ctx context.Context, m *registry.Model, emit func(T) error) error
}

// serveCompletion checks what every completion route checks before the engine sees the request
// (top_logprobs, then the model's name and existence, in Ollama's order), then streams the engine's chunks
// in the call's wire format.
func serveCompletion[T any](s *server, w http.ResponseWriter, r *http.Request, c completionCall[T]) {
	if c.topLogprobs < 0 || c.topLogprobs > 20 {
		c.format.fail(w, http.StatusBadRequest, "top_logprobs must be between 0 and 20")
		return
	}
	m, serr := s.lookupModel(c.model, c.strictName)
	if serr != nil {
		c.format.fail(w, serr.status, serr.msg)
		return
	}
	serveStream(w, r, streamOptions[T]{
		Stream: c.stream,
		Reduce: c.reduce,
		Single: func(v T) bool { return isNDJSON(c.format) && loadReply(c.doneReason(v)) },
		Status: engineErrorStatus,
		Format: c.format,
	}, func(ctx context.Context, emit func(T) error) error {
		return c.run(ctx, m, emit)
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
	writeJSON(w, http.StatusOK, api.ProcessResponse{Models: s.residents.Loaded()})
}

// engineErrorStatus maps the engine's errors to Ollama's status codes.
func engineErrorStatus(err error) int {
	switch {
	case errors.Is(err, engine.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, engine.ErrServerBusy):
		return http.StatusServiceUnavailable
	case errors.Is(err, engine.ErrEmbeddingsUnsupported):
		return http.StatusNotImplemented
	case errors.Is(err, context.Canceled):
		return 499
	case errors.Is(err, registry.ErrNotFound):
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}
