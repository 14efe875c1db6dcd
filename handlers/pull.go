package handlers

import (
	"cmp"
	"context"
	"net/http"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/registry"
)

// pullModel answers POST /api/pull: the store downloads the model from its registry, streaming
// Ollama's progress ("pulling manifest", "pulling <digest>"..., "success"). A failure is answered by
// storeErrorStatus (400 for the request's mistake, 502/504 for a registry unreachable or silent, the
// registry's 401/403/404), or once the stream has started, as its last line {"error": ...}.
func (s *server) pullModel(w http.ResponseWriter, r *http.Request) {
	var req api.PullRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	//lint:ignore SA1019 Ollama still honours the deprecated name field
	name := cmp.Or(req.Model, req.Name)
	if _, err := registry.ParseName(name); err != nil {
		writeError(w, http.StatusBadRequest, "invalid model name")
		return
	}
	serveStream(w, r, streamOptions[api.ProgressResponse]{Stream: req.Stream, Status: storeErrorStatus},
		func(ctx context.Context, emit func(api.ProgressResponse) error) error {
			opts := s.transferOptions(req.Insecure)
			opts.Progress = func(p api.ProgressResponse) { _ = emit(p) }
			return s.store.Pull(ctx, name, opts)
		})
}

// transferOptions are the settings of a pull or push this server makes.
func (s *server) transferOptions(insecure bool) registry.TransferOptions {
	return registry.TransferOptions{Insecure: insecure, Client: s.registryClient, ResponseTimeout: s.registryTimeout}
}
