package handlers

import (
	"cmp"
	"context"
	"net/http"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/registry"
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
			return s.store.Push(ctx, name, registry.TransferOptions{
				Insecure:        req.Insecure,
				Progress:        func(p api.ProgressResponse) { _ = emit(p) },
				ResponseTimeout: s.registryTimeout,
			})
		})
}
