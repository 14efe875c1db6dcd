package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/hearthlink/hearth/registry"
)

// Options are what the HTTP layer needs from the process that serves it.
type Options struct {
	// Logger receives access logs and recovered panics.
	Logger zerolog.Logger
	// MaxRequestBytes caps request bodies other than blob uploads; 0 means no cap.
	MaxRequestBytes int64
	// Store is the model store behind the model-management routes.
	Store *registry.Store
}

// server carries the dependencies every route handler shares.
type server struct {
	log   zerolog.Logger
	store *registry.Store
}

// New returns the complete HTTP handler: middleware in the order a request meets it, then every route.
func New(opts Options) http.Handler {
	s := &server{log: opts.Logger, store: opts.Store}
	r := chi.NewRouter()
	r.Use(
		Recover(opts.Logger),
		AccessLog(opts.Logger),
		LimitBody(opts.MaxRequestBytes),
		Compress(),
	)
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)

	r.Get("/", root)
	r.Head("/", root)
	r.Get("/api/version", version)
	r.Head("/api/version", version)
	s.routes(r)
	return r
}

// routes mounts the route families; each family's handlers live in a file of their own.
func (s *server) routes(r chi.Router) {
	_ = s
}
