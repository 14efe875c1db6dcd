package handlers

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/registry"
)

// Options are what the HTTP layer needs from the process that serves it.
type Options struct {
	// Logger receives access logs and recovered panics; nil discards them.
	Logger *slog.Logger
	// MaxRequestBytes caps request bodies other than blob uploads; 0 means no cap.
	MaxRequestBytes int64
	// Store is the model store behind the model-management routes.
	Store *registry.Store
	// Origins are CORS origins allowed besides DefaultOrigins (OLLAMA_ORIGINS).
	Origins []string
	// Listen is the address the server is bound to; on loopback the DNS-rebinding Host guard is on.
	Listen net.Addr
	// APIKey, when set, is required as a bearer token on every route but /.
	APIKey string
	// Scheduler runs models for /api/generate, /api/chat and /api/ps; nil leaves those routes out.
	Scheduler *engine.Scheduler
}

// server carries the dependencies every route handler shares.
type server struct {
	log   *slog.Logger
	store *registry.Store
	sched *engine.Scheduler
}

// New returns the complete HTTP handler: middleware in the order a request meets it, then every route.
func New(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{log: log, store: opts.Store, sched: opts.Scheduler}
	metrics, metricsHandler := newMetrics(opts.Scheduler)
	r := chi.NewRouter()
	r.Use(
		Recover(log),
		metrics.middleware,
		AccessLog(log),
		CORS(append(DefaultOrigins(), opts.Origins...)),
		HostGuard(opts.Listen),
		RequireAPIKey(opts.APIKey),
		LimitBody(opts.MaxRequestBytes),
		Compress(),
	)
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)

	r.Get("/", root)
	r.Head("/", root)
	r.Get("/api/version", version)
	r.Head("/api/version", version)
	r.Method(http.MethodGet, "/metrics", metricsHandler)
	s.routes(r)
	return r
}

// routes mounts the route families; each family's handlers live in a file of their own.
func (s *server) routes(r chi.Router) {
	s.modelRoutes(r)
	s.inferenceRoutes(r)
	s.embedRoutes(r)
	s.classifyRoutes(r)
	s.rerankRoutes(r)
	s.v2Routes(r)
	s.openAIRoutes(r)
	s.anthropicRoutes(r)
}
