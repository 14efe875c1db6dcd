package main

import (
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/onnx"
	"github.com/hearthlink/hearth/registry"
)

// Config is everything `hearth serve` reads from its environment. The names and meanings are Ollama's
// (OLLAMA_*), so a deployment that configures Ollama configures hearth; HEARTH_* variables cover what
// Ollama has no setting for.
type Config struct {
	// Listen is the host:port the server binds (OLLAMA_HOST).
	Listen string
	// ModelsDir is the model store root (OLLAMA_MODELS).
	ModelsDir string
	// KeepAlive is how long an idle model stays loaded; 0 unloads it at once, negative means forever
	// (OLLAMA_KEEP_ALIVE, default engine.DefaultKeepAlive).
	KeepAlive time.Duration
	// NumParallel is the number of sequences each loaded model serves at once (OLLAMA_NUM_PARALLEL,
	// default engine.DefaultParallel).
	NumParallel int
	// MaxLoadedModels caps resident models (OLLAMA_MAX_LOADED_MODELS, default engine.DefaultMaxLoadedModels).
	MaxLoadedModels int
	// MaxQueue is how many requests may wait for a model before the server answers 503 (OLLAMA_MAX_QUEUE,
	// default engine.DefaultMaxQueue).
	MaxQueue int
	// ContextLength is the default num_ctx (OLLAMA_CONTEXT_LENGTH, default engine.DefaultNumCtx).
	ContextLength int
	// Origins are extra CORS origins (OLLAMA_ORIGINS).
	Origins []string
	// LogLevel is "info", "debug" or "trace" (OLLAMA_DEBUG).
	LogLevel string
	// LoadTimeout bounds a model load; 0 means no bound (OLLAMA_LOAD_TIMEOUT, default
	// engine.DefaultLoadTimeout).
	LoadTimeout time.Duration
	// FlashAttention turns on flash attention for GGUF models (OLLAMA_FLASH_ATTENTION).
	FlashAttention bool
	// KVCacheType is the KV cache element type: f16 (default), q8_0 or q4_0 (OLLAMA_KV_CACHE_TYPE).
	KVCacheType string
	// NoPrune skips removing unreferenced blobs at startup (OLLAMA_NOPRUNE).
	NoPrune bool
	// NewEngine runs every generative architecture Ollama's Go engine supports on it, those llama.cpp also
	// runs (gemma3 text, qwen3, ...) included, as Ollama does with the same variable (OLLAMA_NEW_ENGINE).
	NewEngine bool
	// APIKey, when set, is required as a bearer token on every route but / (HEARTH_API_KEY).
	APIKey string
	// MaxRequestBytes caps JSON request bodies; blob uploads are exempt (HEARTH_MAX_REQUEST_BYTES).
	MaxRequestBytes int64
	// LibraryPath lists the folders holding ggml's CPU backends (OLLAMA_LIBRARY_PATH).
	LibraryPath string
	// ORTLibrary is the path of libonnxruntime.so (HEARTH_ORT_LIBRARY).
	ORTLibrary string
	// CacheDir holds fetched libraries and generated models (HEARTH_CACHE).
	CacheDir string
	// DefaultModels registers the generated default models on start when the store lacks them
	// (HEARTH_DEFAULT_MODELS, default true).
	DefaultModels bool
	// ONNXThreads is ONNX Runtime's intra-op thread count per model; 0 means one per core
	// (HEARTH_ONNX_THREADS).
	ONNXThreads int
	// ONNXSpin lets ONNX Runtime's idle threads spin between operators and runs: lower latency, but busy
	// cores that a GGUF model decoding at the same time would miss (HEARTH_ONNX_SPIN, default false).
	ONNXSpin bool
	// ONNXBatchWindow is how long an idle ONNX model waits for concurrent requests to join a batch (only
	// once requests have been overlapping); 0 means no wait (HEARTH_ONNX_BATCH_WINDOW, default
	// onnx.DefaultBatchWindow).
	ONNXBatchWindow time.Duration
	// RegistryTimeout is how long a registry has to start answering each request of a pull or push before
	// the transfer fails with 504 (HEARTH_REGISTRY_TIMEOUT, default registry.DefaultResponseTimeout).
	RegistryTimeout time.Duration
}

// defaultMaxRequestBytes fits a chat request carrying several large base64 images.
const defaultMaxRequestBytes = 256 << 20

// LoadConfig reads the configuration through getenv (os.Getenv in production). Values that do not parse
// fall back to their defaults, as Ollama's do; each such fallback is returned as a warning for the log.
func LoadConfig(getenv func(string) string) (Config, []string) {
	var warnings []string
	env := func(k string) string { return cleanEnv(getenv(k)) }
	warn := func(k, v, def string) {
		warnings = append(warnings, fmt.Sprintf("invalid %s=%q, using %s", k, v, def))
	}
	intVar := func(k string, def int) int {
		v := env(k)
		if v == "" {
			return def
		}
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil {
			warn(k, v, strconv.Itoa(def))
			return def
		}
		return int(n)
	}
	boolVar := func(k string, def bool) bool {
		v := env(k)
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			warn(k, v, strconv.FormatBool(def))
			return def
		}
		return b
	}
	// countVar reads a count where 0, like unset, picks the default (Ollama's "automatic").
	countVar := func(k string, def int) int {
		if n := intVar(k, def); n > 0 {
			return n
		}
		return def
	}
	durationVar := func(k string, def time.Duration) time.Duration {
		v := env(k)
		if v == "" {
			return def
		}
		d, err := parseDurationEnv(v)
		if err != nil {
			warn(k, v, def.String())
			return def
		}
		return d
	}

	home, _ := os.UserHomeDir()
	c := Config{
		Listen:          listenAddr(env("OLLAMA_HOST")),
		ModelsDir:       env("OLLAMA_MODELS"),
		KeepAlive:       durationVar("OLLAMA_KEEP_ALIVE", engine.DefaultKeepAlive),
		NumParallel:     countVar("OLLAMA_NUM_PARALLEL", engine.DefaultParallel),
		MaxLoadedModels: countVar("OLLAMA_MAX_LOADED_MODELS", engine.DefaultMaxLoadedModels),
		MaxQueue:        countVar("OLLAMA_MAX_QUEUE", engine.DefaultMaxQueue),
		ContextLength:   countVar("OLLAMA_CONTEXT_LENGTH", engine.DefaultNumCtx),
		LogLevel:        logLevel(env("OLLAMA_DEBUG")),
		LoadTimeout:     durationVar("OLLAMA_LOAD_TIMEOUT", engine.DefaultLoadTimeout),
		FlashAttention:  boolVar("OLLAMA_FLASH_ATTENTION", false),
		KVCacheType:     strings.ToLower(env("OLLAMA_KV_CACHE_TYPE")),
		NoPrune:         boolVar("OLLAMA_NOPRUNE", false),
		NewEngine:       boolVar("OLLAMA_NEW_ENGINE", false),
		APIKey:          env("HEARTH_API_KEY"),
		MaxRequestBytes: int64(intVar("HEARTH_MAX_REQUEST_BYTES", defaultMaxRequestBytes)),
		CacheDir:        env("HEARTH_CACHE"),
		DefaultModels:   boolVar("HEARTH_DEFAULT_MODELS", true),
		ONNXThreads:     intVar("HEARTH_ONNX_THREADS", 0),
		ONNXSpin:        boolVar("HEARTH_ONNX_SPIN", false),
		ONNXBatchWindow: onnx.DefaultBatchWindow,
		RegistryTimeout: durationVar("HEARTH_REGISTRY_TIMEOUT", registry.DefaultResponseTimeout),
	}
	if v := env("HEARTH_ONNX_BATCH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			warn("HEARTH_ONNX_BATCH_WINDOW", v, onnx.DefaultBatchWindow.String())
		} else {
			c.ONNXBatchWindow = d
		}
	}
	if c.ModelsDir == "" {
		c.ModelsDir = filepath.Join(home, ".ollama", "models")
	}
	if c.KeepAlive < 0 {
		c.KeepAlive = time.Duration(math.MaxInt64)
	}
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = 0
	}
	switch c.KVCacheType {
	case "", "f16", "q8_0", "q4_0":
	default:
		warn("OLLAMA_KV_CACHE_TYPE", c.KVCacheType, "f16")
		c.KVCacheType = ""
	}
	if o := env("OLLAMA_ORIGINS"); o != "" {
		for _, s := range strings.Split(o, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.Origins = append(c.Origins, s)
			}
		}
	}
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(home, ".cache", "hearth")
	}
	c.LibraryPath = env("OLLAMA_LIBRARY_PATH")
	c.ORTLibrary = env("HEARTH_ORT_LIBRARY")
	return c, warnings
}

// cleanEnv strips the surrounding spaces and quotes Ollama strips from every variable.
func cleanEnv(v string) string {
	return strings.Trim(strings.TrimSpace(v), "\"'")
}

// parseDurationEnv reads a Go duration ("5m", "-1h") or a whole number of seconds, as OLLAMA_KEEP_ALIVE does.
func parseDurationEnv(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(n) * time.Second, nil
}

// listenAddr turns OLLAMA_HOST into a host:port to bind, with Ollama's defaults: 127.0.0.1, port 11434
// without a scheme, 80 for http:// and 443 for https:// when no port is given.
func listenAddr(s string) string {
	defaultPort := "11434"
	scheme, hostport, ok := strings.Cut(s, "://")
	switch {
	case !ok:
		hostport = s
	case scheme == "http":
		defaultPort = "80"
	case scheme == "https":
		defaultPort = "443"
	}
	hostport, _, _ = strings.Cut(hostport, "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = "127.0.0.1", defaultPort
		if ip := net.ParseIP(strings.Trim(hostport, "[]")); ip != nil {
			host = ip.String()
		} else if hostport != "" {
			host = hostport
		}
	}
	if n, err := strconv.ParseInt(port, 10, 32); err != nil || n < 0 || n > 65535 {
		port = defaultPort
	}
	return net.JoinHostPort(host, port)
}

// logLevel maps OLLAMA_DEBUG ("1"/"true" debug, "2" trace) to a level name.
func logLevel(v string) string {
	if b, err := strconv.ParseBool(v); err == nil {
		if b {
			return "debug"
		}
		return "info"
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 2 {
		return "trace"
	} else if err == nil && n == 1 {
		return "debug"
	}
	return "info"
}
