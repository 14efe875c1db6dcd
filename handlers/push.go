package handlers

import (
	"cmp"
	"context"
	"net/http"

	"github.com/ollama/ollama/api"
)

// pushModel answers POST /api/push: the store uploads the model to the registry its name names,
// streaming Ollama's progress ("retrieving manifest", "pushing <digest>"..., "pushing manifest",
// "success").
func (s *server) pushModel(w http.ResponseWriter, r *http.Request) {
	var req api.PushRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	//lint:ignore SA1019 Ollama still honours the deprecated name field
	name := cmp.Or(req.Model, req.Name)
	if name == "" {
		writeError(w, http.StatusBadRequest, "model is required")
		return
	}
	serveStream(w, r, streamOptions[api.ProgressResponse]{Stream: req.Stream, Status: storeErrorStatus},
		func(ctx context.Context, emit func(api.ProgressResponse) error) error {
			opts := s.transferOptions(req.Insecure)
			opts.Progress = func(p api.ProgressResponse) { _ = emit(p) }
			return s.store.Push(ctx, name, opts)
		})
}
