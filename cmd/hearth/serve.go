package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ollama/ollama/model/renderers"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/llama"
	"github.com/hearthlink/hearth/engine/ollamaengine"
	"github.com/hearthlink/hearth/engine/onnx"
	"github.com/hearthlink/hearth/handlers"
	"github.com/hearthlink/hearth/internal/malloc"
	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry"
)

// shutdownGrace bounds how long in-flight requests may run after SIGINT/SIGTERM.
const shutdownGrace = 10 * time.Second

func serve(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments; configure it with OLLAMA_* variables")
	}
	cfg, warnings := LoadConfig(os.Getenv)
	log := newLogger(os.Stderr, cfg.LogLevel)
	for _, w := range warnings {
		log.Warn(w)
	}

	libPath := cfg.LibraryPath
	if libPath == "" {
		libPath = llama.DefaultLibraryPath(cfg.CacheDir)
	}
	// Before any model loads: glibc would otherwise keep what each unload frees (internal/malloc).
	fixed := malloc.BoundFragmentation()
	sys := llama.Init(libPath)
	log.Info("inference backend ready", "library_path", sys.LibraryPath, "cpu_features", sys.CPUFeatures(),
		"amx", sys.AMX(), "malloc_mmap_threshold_fixed", fixed)

	store, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	// As Ollama's server does when it starts (server/routes.go): renderers mark images with [img] tags.
	renderers.RenderImgTags = true
	// One answer to "what is this model and what can it do", for the engine and /api/show alike.
	facts := modelfacts.NewCache(store)
	llamaBackend := llama.NewBackend(libPath)
	// One prober for both engines: each new file is tried in a child by the engine that will load it.
	prober := newProber(libPath, cfg.CacheDir)
	llamaBackend.Prober = prober
	goBackend := ollamaengine.NewBackend(libPath)
	goBackend.Prober = prober
	goBackend.All = cfg.NewEngine
	sched := engine.NewScheduler(engine.Config{
		// The first backend that supports a model runs it: Ollama's Go engine takes the architectures
		// Ollama runs there and llama.cpp cannot (ollamaengine.Runs), or with OLLAMA_NEW_ENGINE every one it
		// supports; llama.cpp every other GGUF.
		Backends: []engine.Backend{
			goBackend,
			llamaBackend,
			onnx.NewBackend(ortLibraryPath(cfg), onnx.Options{Threads: cfg.ONNXThreads, Spin: cfg.ONNXSpin, BatchWindow: cfg.ONNXBatchWindow}),
		},
		MaxLoadedModels: cfg.MaxLoadedModels,
		MaxQueue:        cfg.MaxQueue,
		MemoryLimit:     engine.DefaultMemoryLimit(),
		LoadTimeout:     cfg.LoadTimeout,
		Logger:          log,
	})
	defer sched.Close()
	pipeline := engine.NewPipeline(sched, facts, engine.PipelineConfig{
		KeepAlive:      cfg.KeepAlive,
		NumParallel:    cfg.NumParallel,
		NumCtx:         cfg.ContextLength,
		KVCacheType:    cfg.KVCacheType,
		FlashAttention: cfg.FlashAttention,
		Logger:         log,
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler: handlers.New(handlers.Options{
			Logger:          log,
			MaxRequestBytes: cfg.MaxRequestBytes,
			Store:           store,
			Origins:         cfg.Origins,
			Listen:          ln.Addr(),
			APIKey:          cfg.APIKey,
			Engine:          pipeline,
			Scheduler:       sched,
			Facts:           facts,
			RegistryTimeout: cfg.RegistryTimeout,
		}),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	log.Info("hearth is listening", "listen", ln.Addr().String(), "models", cfg.ModelsDir,
		"version", version, "ollama_api", handlers.OllamaVersion)
	if cfg.DefaultModels {
		go func() {
			if err := registerDefaults(ctx, log, store, "http://"+ln.Addr().String()); err != nil {
				log.Warn("registering the default models", "error", err)
			}
		}()
	}
	return serveUntilDone(ctx, log, srv, ln)
}

// ortLibraryPath is HEARTH_ORT_LIBRARY, else lib/libonnxruntime.so beside the binary's folder (the
// `make build` and container layout), else the bootstrap cache's copy.
func ortLibraryPath(cfg Config) string {
	if cfg.ORTLibrary != "" {
		return cfg.ORTLibrary
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		p := filepath.Join(filepath.Dir(exe), "..", "lib", "libonnxruntime.so")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(cfg.CacheDir, "lib", "libonnxruntime.so")
}

// openStore opens the model store and, unless OLLAMA_NOPRUNE is set, removes what no model references
// (interrupted downloads, crash leftovers, blobs of deleted models), as Ollama does at startup.
func openStore(cfg Config, log *slog.Logger) (*registry.Store, error) {
	store, err := registry.Open(cfg.ModelsDir, registry.Options{NoPrune: cfg.NoPrune, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("model store %s: %w", cfg.ModelsDir, err)
	}
	if !cfg.NoPrune {
		report, err := store.Prune()
		if err != nil {
			log.Warn("pruning the model store", "error", err)
		} else if report.Bytes > 0 {
			log.Info("pruned the model store", "junk", len(report.Junk), "unused", len(report.Unused),
				"bytes", report.Bytes)
		}
	}
	return store, nil
}

// serveUntilDone runs srv on ln until ctx ends (SIGINT/SIGTERM), then stops accepting connections and
// gives in-flight requests shutdownGrace to finish.
func serveUntilDone(ctx context.Context, log *slog.Logger, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
