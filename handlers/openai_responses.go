package handlers

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/openai"
)

// zstdWindow caps the memory a zstd request body's decoder may use, as Ollama does.
const zstdWindow = 8 << 20

// openAIResponses is POST /v1/responses, the stateless Responses API: the request becomes a native chat
// (instructions as the system message, input items as messages) and the answer a response object, or
// with stream:true the named events of the Responses stream. Bodies may be zstd-compressed
// (Content-Encoding: zstd), which the Codex CLI sends.
func (s *server) openAIResponses(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Encoding") == "zstd" {
		dec, err := zstd.NewReader(r.Body, zstd.WithDecoderMaxMemory(zstdWindow))
		if err != nil {
			openAIInvalid(w, http.StatusBadRequest, "failed to decompress zstd body")
			return
		}
		defer dec.Close()
		r.Body = io.NopCloser(dec)
		r.Header.Del("Content-Encoding")
	}
	var req openai.ResponsesRequest
	if !decodeOpenAI(w, r, &req) {
		return
	}
	translated, err := openai.FromResponsesRequest(req)
	if err != nil {
		openAIInvalid(w, http.StatusBadRequest, err.Error())
		return
	}
	stream := req.Stream != nil && *req.Stream // the Responses API does not stream by default
	translated.Stream = &stream
	var native api.ChatRequest
	if err := toNative(translated, &native); err != nil {
		openAIFailed(w, http.StatusInternalServerError, err.Error())
		return
	}
	responseID := fmt.Sprintf("resp_%d", rand.IntN(999999))
	itemID := fmt.Sprintf("msg_%d", rand.IntN(999999))
	s.serveChat(w, r, &native, &responsesFormat{
		conv:       openai.NewResponsesStreamConverter(responseID, itemID, req.Model, req),
		responseID: responseID,
		itemID:     itemID,
		req:        req,
	})
}

// responsesFormat writes response objects and the Responses API's named events. The converter carries
// the event sequence (item ids, output indexes, sequence numbers) across chunks.
type responsesFormat struct {
	conv       *openai.ResponsesStreamConverter
	responseID string
	itemID     string
	req        openai.ResponsesRequest
}

func (f *responsesFormat) streamHeader(h http.Header) { setSSEHeaders(h) }

func (f *responsesFormat) chunk(w io.Writer, v api.ChatResponse) error {
	for _, ev := range f.conv.Process(v) {
		if err := writeSSE(w, ev.Event, ev.Data); err != nil {
			return err
		}
	}
	return nil
}

func (f *responsesFormat) end(io.Writer) error { return nil }

// streamError reports a failure mid-stream as the Responses API's "error" event, which the SDKs raise.
func (f *responsesFormat) streamError(w io.Writer, err error) error {
	return writeSSE(w, "error", map[string]any{"type": "error", "code": nil, "message": err.Error(), "param": nil})
}

func (f *responsesFormat) reply(w http.ResponseWriter, v api.ChatResponse) {
	resp := openai.ToResponse(f.req.Model, f.responseID, f.itemID, v, f.req)
	completed := time.Now().Unix()
	resp.CompletedAt = &completed
	writeCompatJSON(w, http.StatusOK, resp)
}

func (f *responsesFormat) fail(w http.ResponseWriter, status int, msg string) {
	openAIFailed(w, status, msg)
}
