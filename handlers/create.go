package handlers

import (
	"context"
	"net/http"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/registry"
	"github.com/hearthlink/hearth/registry/quantize"
)

// createModel answers POST /api/create: the store builds the model from uploaded files or another
// model and the progress streams back as Ollama's statuses. Request mistakes (bad names, file paths,
// digests, files of the wrong kind, a template that does not parse) are 400s.
func (s *server) createModel(w http.ResponseWriter, r *http.Request) {
	var req api.CreateRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	serveStream(w, r, streamOptions[api.ProgressResponse]{Stream: req.Stream, Status: storeErrorStatus},
		func(ctx context.Context, emit func(api.ProgressResponse) error) error {
			return s.store.Create(ctx, req, registry.CreateOptions{
				Progress: func(p api.ProgressResponse) { _ = emit(p) },
				Quantize: quantize.GGUF,
				Pull:     s.transferOptions(false),
			})
		})
}
