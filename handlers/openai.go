package handlers

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/openai"
)

// openAIRoutes mounts the OpenAI-compatible routes. Each one translates its request with Ollama's own
// openai package into the native request, runs it through the native route's logic (serveChat,
// serveGenerate, runEmbed, modelList, show) and translates the answer back, so the translation rules are
// Ollama's exactly. The Responses route lives in openai_responses.go.
func (s *server) openAIRoutes(r chi.Router) {
	r.Get("/v1/models", s.openAIListModels)
	r.Get("/v1/models/{model}", s.openAIRetrieveModel)
	if s.completer == nil {
		return
	}
	r.Post("/v1/chat/completions", s.openAIChat)
	r.Post("/v1/completions", s.openAICompletions)
	r.Post("/v1/embeddings", s.openAIEmbeddings)
	r.Post("/v1/responses", s.openAIResponses)
}

// openAIInvalid answers a request the translation refused: the status (400 unless the body was too big)
// with {"error":{"message","type":"invalid_request_error","param":null,"code":null}}.
func openAIInvalid(w http.ResponseWriter, status int, msg string) {
	writeCompatJSON(w, status, openai.NewError(status, msg))
}

// openAIFailed answers an error of the native route behind a translated one: Ollama keeps the native
// status and reports every such error with type "api_error".
func openAIFailed(w http.ResponseWriter, status int, msg string) {
	writeCompatJSON(w, status, openai.NewError(http.StatusInternalServerError, msg))
}

// decodeOpenAI reads an OpenAI request body, answering the client itself when that fails.
func decodeOpenAI(w http.ResponseWriter, r *http.Request, v any) bool {
	if status, err := decodeCompat(r, v); err != nil {
		openAIInvalid(w, status, err.Error())
		return false
	}
	return true
}

// openAIChat is POST /v1/chat/completions.
func (s *server) openAIChat(w http.ResponseWriter, r *http.Request) {
	var req openai.ChatCompletionRequest
	if !decodeOpenAI(w, r, &req) {
		return
	}
	if len(req.Messages) == 0 {
		openAIInvalid(w, http.StatusBadRequest, "[] is too short - 'messages'")
		return
	}
	translated, err := openai.FromChatRequest(req)
	if err != nil {
		openAIInvalid(w, http.StatusBadRequest, err.Error())
		return
	}
	var native api.ChatRequest
	if err := toNative(translated, &native); err != nil {
		openAIFailed(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.serveChat(w, r, &native, &openAIChatFormat{
		id:           fmt.Sprintf("chatcmpl-%d", rand.IntN(999)),
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	})
}

// openAIChatFormat writes chat.completion objects and chat.completion.chunk events.
type openAIChatFormat struct {
	id           string
	includeUsage bool
	toolCallSent bool // once a chunk carried tool calls, the final one finishes with "tool_calls"
}

func (f *openAIChatFormat) streamHeader(h http.Header) { h.Set("Content-Type", "text/event-stream") }

// chunk writes the chunk's event and, after the last one, the usage-only chunk when include_usage asks.
func (f *openAIChatFormat) chunk(w io.Writer, v api.ChatResponse) error {
	c := openai.ToChunk(f.id, v, f.toolCallSent)
	if len(c.Choices) > 0 && len(c.Choices[0].Delta.ToolCalls) > 0 {
		f.toolCallSent = true
	}
	if err := writeSSE(w, "", c); err != nil {
		return err
	}
	if v.Done && f.includeUsage {
		u := openai.ToUsage(v)
		c.Usage, c.Choices = &u, []openai.ChunkChoice{}
		return writeSSE(w, "", c)
	}
	return nil
}

func (f *openAIChatFormat) end(w io.Writer) error { return writeSSEDone(w) }
func (f *openAIChatFormat) streamError(w io.Writer, err error) error {
	return writeSSE(w, "", openai.NewError(http.StatusInternalServerError, err.Error()))
}
func (f *openAIChatFormat) reply(w http.ResponseWriter, v api.ChatResponse) {
	writeCompatJSON(w, http.StatusOK, openai.ToChatCompletion(f.id, v))
}
func (f *openAIChatFormat) fail(w http.ResponseWriter, status int, msg string) {
	openAIFailed(w, status, msg)
}

// writeSSEDone ends an OpenAI event stream.
func writeSSEDone(w io.Writer) error {
	_, err := io.WriteString(w, "data: [DONE]\n\n")
	return err
}

// openAICompletions is POST /v1/completions, the legacy text completion route.
func (s *server) openAICompletions(w http.ResponseWriter, r *http.Request) {
	var req openai.CompletionRequest
	if !decodeOpenAI(w, r, &req) {
		return
	}
	translated, err := openai.FromCompleteRequest(req)
	if err != nil {
		openAIInvalid(w, http.StatusBadRequest, err.Error())
		return
	}
	var native api.GenerateRequest
	if err := toNative(translated, &native); err != nil {
		openAIFailed(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.serveGenerate(w, r, &native, &openAICompletionFormat{
		id:           fmt.Sprintf("cmpl-%d", rand.IntN(999)),
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	})
}

// openAICompletionFormat writes text_completion objects and their stream.
type openAICompletionFormat struct {
	id           string
	includeUsage bool
}

func (f *openAICompletionFormat) streamHeader(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
}

// chunk writes the chunk's event, then the usage chunk after the last. As in Ollama, with include_usage
// every text chunk carries a zero usage object.
func (f *openAICompletionFormat) chunk(w io.Writer, v api.GenerateResponse) error {
	c := openai.ToCompleteChunk(f.id, v)
	if f.includeUsage {
		c.Usage = &openai.Usage{}
	}
	if err := writeSSE(w, "", c); err != nil {
		return err
	}
	if v.Done && f.includeUsage {
		u := openai.ToUsageGenerate(v)
		c.Usage, c.Choices = &u, []openai.CompleteChunkChoice{}
		return writeSSE(w, "", c)
	}
	return nil
}

func (f *openAICompletionFormat) end(w io.Writer) error { return writeSSEDone(w) }
func (f *openAICompletionFormat) streamError(w io.Writer, err error) error {
	return writeSSE(w, "", openai.NewError(http.StatusInternalServerError, err.Error()))
}
func (f *openAICompletionFormat) reply(w http.ResponseWriter, v api.GenerateResponse) {
	writeCompatJSON(w, http.StatusOK, openai.ToCompletion(f.id, v))
}
func (f *openAICompletionFormat) fail(w http.ResponseWriter, status int, msg string) {
	openAIFailed(w, status, msg)
}

// openAIEmbeddings is POST /v1/embeddings: vectors as float arrays or base64 little-endian float32.
func (s *server) openAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req openai.EmbedRequest
	if !decodeOpenAI(w, r, &req) {
		return
	}
	if req.EncodingFormat != "" && !strings.EqualFold(req.EncodingFormat, "float") && !strings.EqualFold(req.EncodingFormat, "base64") {
		openAIInvalid(w, http.StatusBadRequest, fmt.Sprintf("Invalid value for 'encoding_format' = %s. Supported values: ['float', 'base64'].", req.EncodingFormat))
		return
	}
	if req.Input == "" {
		req.Input = []string{""}
	}
	if in, ok := req.Input.([]any); req.Input == nil || ok && len(in) == 0 {
		openAIInvalid(w, http.StatusBadRequest, "invalid input")
		return
	}
	resp, serr := s.runEmbed(r.Context(), &api.EmbedRequest{Model: req.Model, Input: req.Input, Dimensions: req.Dimensions})
	if serr != nil {
		openAIFailed(w, serr.status, serr.msg)
		return
	}
	writeCompatJSON(w, http.StatusOK, openai.ToEmbeddingList(req.Model, *resp, req.EncodingFormat))
}

// openAIListModels is GET /v1/models.
func (s *server) openAIListModels(w http.ResponseWriter, r *http.Request) {
	list, err := s.modelList()
	if err != nil {
		openAIFailed(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeCompatJSON(w, http.StatusOK, openai.ToListCompletion(list))
}

// openAIRetrieveModel is GET /v1/models/{model}.
func (s *server) openAIRetrieveModel(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "model")
	resp, err := s.show(name, api.ShowRequest{Model: name})
	if err != nil {
		openAIFailed(w, showErrorStatus(err), err.Error())
		return
	}
	writeCompatJSON(w, http.StatusOK, openai.ToModel(*resp, name))
}
