package handlers

import (
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/ollama/ollama/anthropic"
	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// anthropicRoutes mounts the Anthropic-compatible POST /v1/messages. The request is translated with
// Ollama's own anthropic package into a native chat, run through serveChat, and the answer translated
// back into a message or the Messages stream's events. Anthropic's server-side web_search tool is passed
// to the model as an ordinary function tool: running the search is an ollama.com cloud feature.
func (s *server) anthropicRoutes(r chi.Router) {
	if s.completer == nil {
		return
	}
	r.Post("/v1/messages", s.anthropicMessages)
}

// anthropicError answers {"type":"error","error":{"type","message"},"request_id"} with status; the error
// type follows the status (invalid_request_error for 400, not_found_error for 404, ...).
func anthropicError(w http.ResponseWriter, status int, msg string) {
	writeCompatJSON(w, status, anthropic.NewError(status, msg))
}

// anthropicMessages is POST /v1/messages.
func (s *server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	var req anthropic.MessagesRequest
	if status, err := decodeCompat(r, &req); err != nil {
		anthropicError(w, status, err.Error())
		return
	}
	var msg string
	switch {
	case req.Model == "":
		msg = "model is required"
	case req.MaxTokens <= 0:
		msg = "max_tokens is required and must be positive"
	case len(req.Messages) == 0:
		msg = "messages is required"
	}
	if msg != "" {
		anthropicError(w, http.StatusBadRequest, msg)
		return
	}
	translated, err := anthropic.FromMessagesRequest(req)
	if err != nil {
		anthropicError(w, http.StatusBadRequest, err.Error())
		return
	}
	var native api.ChatRequest
	if err := toNative(translated, &native); err != nil {
		anthropicError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// Clients such as Claude Code ask every model to think; Ollama drops the request for models that
	// cannot rather than refusing it, as /api/chat would.
	if native.Think != nil && native.Think.Bool() && !s.thinks(native.Model) {
		native.Think = nil
	}
	id := anthropic.GenerateMessageID()
	s.serveChat(w, r, &native, &anthropicFormat{
		id:   id,
		conv: anthropic.NewStreamConverter(id, req.Model, anthropic.EstimateInputTokens(req)),
	})
}

// thinks reports whether the named model can think. A model that cannot be resolved reports true, so
// that serveChat answers the lookup error itself.
func (s *server) thinks(name string) bool {
	m, err := s.store.Resolve(name)
	if err != nil {
		return true
	}
	facts, err := s.facts.Of(m)
	if err != nil {
		return true
	}
	return facts.Has(model.CapabilityThinking)
}

// anthropicFormat writes Messages API replies and stream events (message_start, content_block_start,
// content_block_delta, content_block_stop, message_delta, message_stop); the converter carries the open
// content block across chunks.
type anthropicFormat struct {
	id   string
	conv *anthropic.StreamConverter
}

func (f *anthropicFormat) streamHeader(h http.Header) { setSSEHeaders(h) }

func (f *anthropicFormat) chunk(w io.Writer, v api.ChatResponse) error {
	for _, ev := range f.conv.Process(v) {
		if err := writeSSE(w, ev.Event, ev.Data); err != nil {
			return err
		}
	}
	return nil
}

func (f *anthropicFormat) end(io.Writer) error { return nil }

// streamError reports a failure mid-stream as the Messages stream's "error" event, which the SDK raises.
func (f *anthropicFormat) streamError(w io.Writer, err error) error {
	return writeSSE(w, "error", anthropic.StreamErrorEvent{
		Type:  "error",
		Error: anthropic.Error{Type: "api_error", Message: err.Error()},
	})
}

func (f *anthropicFormat) reply(w http.ResponseWriter, v api.ChatResponse) {
	writeCompatJSON(w, http.StatusOK, anthropic.ToMessagesResponse(f.id, v))
}

func (f *anthropicFormat) fail(w http.ResponseWriter, status int, msg string) {
	anthropicError(w, status, msg)
}
