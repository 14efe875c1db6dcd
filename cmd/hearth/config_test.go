package main

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, warnings := LoadConfig(envOf(nil))
	if len(warnings) != 0 {
		t.Fatalf("warnings for an empty environment: %v", warnings)
	}
	if c.Listen != "127.0.0.1:11434" {
		t.Errorf("Listen = %q, want 127.0.0.1:11434", c.Listen)
	}
	if !strings.HasSuffix(c.ModelsDir, "/.ollama/models") {
		t.Errorf("ModelsDir = %q, want ~/.ollama/models", c.ModelsDir)
	}
	if c.KeepAlive != 5*time.Minute || c.MaxQueue != 512 || c.MaxLoadedModels != 3 || c.NumParallel != 4 {
		t.Errorf("defaults: keep_alive %v, max_queue %d, max_loaded %d, num_parallel %d",
			c.KeepAlive, c.MaxQueue, c.MaxLoadedModels, c.NumParallel)
	}
	if c.LogLevel != "info" || !c.DefaultModels || c.MaxRequestBytes != defaultMaxRequestBytes {
		t.Errorf("defaults: log %q, default models %v, max request %d", c.LogLevel, c.DefaultModels, c.MaxRequestBytes)
	}
}

func TestLoadConfigOllamaHost(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "127.0.0.1:11434",
		"0.0.0.0":            "0.0.0.0:11434",
		"0.0.0.0:8080":       "0.0.0.0:8080",
		":9000":              ":9000",
		"http://10.0.0.1":    "10.0.0.1:80",
		"https://example":    "example:443",
		"http://[::1]:7000/": "[::1]:7000",
		"[::1]":              "[::1]:11434",
		"localhost:99999":    "localhost:11434",
		` "127.0.0.1:1234" `: "127.0.0.1:1234",
	} {
		c, _ := LoadConfig(envOf(map[string]string{"OLLAMA_HOST": in}))
		if c.Listen != want {
			t.Errorf("OLLAMA_HOST=%q: Listen = %q, want %q", in, c.Listen, want)
		}
	}
}

func TestLoadConfigValues(t *testing.T) {
	c, warnings := LoadConfig(envOf(map[string]string{
		"OLLAMA_MODELS":            "/srv/models",
		"OLLAMA_KEEP_ALIVE":        "90",
		"OLLAMA_NUM_PARALLEL":      "4",
		"OLLAMA_MAX_LOADED_MODELS": "2",
		"OLLAMA_MAX_QUEUE":         "7",
		"OLLAMA_CONTEXT_LENGTH":    "8192",
		"OLLAMA_ORIGINS":           "https://a.example, http://b.example:3000,,",
		"OLLAMA_DEBUG":             "2",
		"OLLAMA_KV_CACHE_TYPE":     "Q8_0",
		"OLLAMA_NOPRUNE":           "true",
		"OLLAMA_NEW_ENGINE":        "1",
		"HEARTH_API_KEY":           "s3cret",
		"HEARTH_ONNX_THREADS":      "1",
		"HEARTH_ONNX_SPIN":         "true",
		"HEARTH_ONNX_BATCH_WINDOW": "2ms",
		"HEARTH_REGISTRY_TIMEOUT":  "45s",
	}))
	if len(warnings) != 0 {
		t.Fatalf("unexpected warnings: %v", warnings)
	}
	if c.ModelsDir != "/srv/models" || c.KeepAlive != 90*time.Second || c.NumParallel != 4 ||
		c.MaxLoadedModels != 2 || c.MaxQueue != 7 || c.ContextLength != 8192 || c.LogLevel != "trace" ||
		c.KVCacheType != "q8_0" || !c.NoPrune || !c.NewEngine || c.APIKey != "s3cret" || c.ONNXThreads != 1 || !c.ONNXSpin ||
		c.ONNXBatchWindow != 2*time.Millisecond || c.RegistryTimeout != 45*time.Second {
		t.Errorf("config = %+v", c)
	}
	if want := []string{"https://a.example", "http://b.example:3000"}; !reflect.DeepEqual(c.Origins, want) {
		t.Errorf("Origins = %q, want %q", c.Origins, want)
	}
}

func TestLoadConfigKeepAlive(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"10m":  10 * time.Minute,
		"0":    0,
		"3600": time.Hour,
		"-1":   time.Duration(math.MaxInt64),
		"-5m":  time.Duration(math.MaxInt64),
	} {
		c, w := LoadConfig(envOf(map[string]string{"OLLAMA_KEEP_ALIVE": in}))
		if c.KeepAlive != want || len(w) != 0 {
			t.Errorf("OLLAMA_KEEP_ALIVE=%q: KeepAlive = %v (warnings %v), want %v", in, c.KeepAlive, w, want)
		}
	}
}

// Invalid values fall back to the default with a warning, as Ollama's do, instead of stopping the server.
func TestLoadConfigInvalidValuesWarn(t *testing.T) {
	c, warnings := LoadConfig(envOf(map[string]string{
		"OLLAMA_NUM_PARALLEL":      "four",
		"OLLAMA_MAX_QUEUE":         "-3",
		"OLLAMA_KEEP_ALIVE":        "soon",
		"OLLAMA_FLASH_ATTENTION":   "maybe",
		"OLLAMA_KV_CACHE_TYPE":     "q2",
		"HEARTH_ONNX_BATCH_WINDOW": "-1ms",
	}))
	if c.NumParallel != 4 || c.MaxQueue != 512 || c.KeepAlive != 5*time.Minute || c.FlashAttention || c.KVCacheType != "" ||
		c.ONNXBatchWindow != 500*time.Microsecond {
		t.Errorf("invalid values not replaced by defaults: %+v", c)
	}
	if len(warnings) != 6 {
		t.Fatalf("got %d warnings, want 6: %v", len(warnings), warnings)
	}
	for _, w := range warnings {
		if !strings.HasPrefix(w, "invalid OLLAMA_") && !strings.HasPrefix(w, "invalid HEARTH_") {
			t.Errorf("warning %q does not name the variable", w)
		}
	}
}

func TestLogLevel(t *testing.T) {
	for in, want := range map[string]string{"": "info", "0": "info", "false": "info", "1": "debug", "true": "debug", "2": "trace", "x": "info"} {
		if got := logLevel(in); got != want {
			t.Errorf("logLevel(%q) = %q, want %q", in, got, want)
		}
	}
}

// A count of 0 is Ollama's "automatic", the default; a duration of 0 is none.
func TestLoadConfigZeroes(t *testing.T) {
	c, warnings := LoadConfig(envOf(map[string]string{
		"OLLAMA_NUM_PARALLEL":      "0",
		"OLLAMA_MAX_LOADED_MODELS": "0",
		"OLLAMA_MAX_QUEUE":         "0",
		"OLLAMA_CONTEXT_LENGTH":    "0",
		"OLLAMA_LOAD_TIMEOUT":      "0",
		"HEARTH_ONNX_BATCH_WINDOW": "0",
	}))
	if len(warnings) != 0 {
		t.Fatalf("unexpected warnings: %v", warnings)
	}
	if c.NumParallel != 4 || c.MaxLoadedModels != 3 || c.MaxQueue != 512 || c.ContextLength != 4096 ||
		c.LoadTimeout != 0 || c.ONNXBatchWindow != 0 {
		t.Errorf("config = %+v", c)
	}
	if c, _ := LoadConfig(envOf(nil)); c.LoadTimeout != 5*time.Minute || c.ContextLength != 4096 {
		t.Errorf("defaults: load timeout %v, context length %d", c.LoadTimeout, c.ContextLength)
	}
}
