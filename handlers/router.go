package handlers

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/modelfacts"
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
	// Engine serves generate, chat, embed, classify and rerank (engine.Pipeline); nil leaves the inference
	// routes out.
	Engine Engine
	// Scheduler lists the loaded models for /api/ps and /metrics.
	Scheduler *engine.Scheduler
	// Facts answers what each model is and does for /api/show and the Anthropic route; give it the one
	// the Engine uses. nil makes one over Store.
	Facts *modelfacts.Cache
	// RegistryTimeout is how long a registry has to start answering each request of a pull or push
	// before it is answered with 504; 0 is registry.TransferOptions' default.
	RegistryTimeout time.Duration
	// RegistryClient sends the requests of pulls and pushes (a create's pull of its `from` model too);
	// nil is registry.TransferOptions' default. Tests confine it to loopback.
	RegistryClient *http.Client
}

// Engine is everything the inference routes ask of the engine.
type Engine interface {
	completer
	embedder
	classifier
	reranker
}

// retryAfterSeconds is what a 503 tells a client to wait: a slot or a load frees up in about that long for
// the small models a queue usually fills for; clients back off further themselves.
const retryAfterSeconds = 1

// server carries the dependencies every route handler shares.
type server struct {
	log   *slog.Logger
	store *registry.Store
	facts *modelfacts.Cache
	// registryTimeout and registryClient are Options.RegistryTimeout and RegistryClient.
	registryTimeout time.Duration
	registryClient  *http.Client

	// What the inference routes use, nil when the server has no engine.
	completer  completer
	embedder   embedder
	classifier classifier
	reranker   reranker
	residents  residents
}

// New returns the complete HTTP handler: middleware in the order a request meets it, then every route.
func New(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{log: log, store: opts.Store, facts: opts.Facts, registryTimeout: opts.RegistryTimeout, registryClient: opts.RegistryClient}
	if opts.Engine != nil {
		s.completer, s.embedder, s.classifier, s.reranker = opts.Engine, opts.Engine, opts.Engine, opts.Engine
	}
	if opts.Scheduler != nil {
		s.residents = opts.Scheduler
	}
	if s.facts == nil {
		s.facts = modelfacts.NewCache(opts.Store)
	}
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
		RetryAfter(retryAfterSeconds),
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
