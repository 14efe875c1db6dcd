package handlers_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/ollama/ollama/api"
)

// metricValue returns the value of the first sample of /metrics whose line matches pattern (a regular
// expression for the series name and labels), or -1.
func metricValue(t *testing.T, body, pattern string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + pattern + ` ([0-9.e+-]+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// TestMetrics drives two generations that share a prompt and checks that /metrics reports what happened:
// requests by route and status, tokens in and out, time to first token, batch sizes, prefix-cache reuse
// and the loaded model's memory.
func TestMetrics(t *testing.T) {
	e := newInferEnv(t, envConfig{NumParallel: 2}, nil)
	e.importTiny("metrics-m", "tiny-llama")
	stream := false
	for range 2 {
		req := &api.GenerateRequest{Model: "metrics-m", Prompt: "the same prompt both times, long enough to cache",
			Stream: &stream, Options: map[string]any{"num_predict": 4, "temperature": 0}}
		if err := e.client.Generate(t.Context(), req, func(api.GenerateResponse) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.client.Show(t.Context(), &api.ShowRequest{Model: "no-such-model"}); err == nil {
		t.Fatal("show of a missing model succeeded")
	}
	body := scrape(t, e.srv.URL)

	for pattern, min := range map[string]float64{
		`hearth_http_requests_total\{method="POST",route="/api/generate",status="200"\}`: 2,
		`hearth_http_requests_total\{method="POST",route="/api/show",status="404"\}`:     1,
		`hearth_generated_tokens_total\{model="metrics-m:latest"\}`:                      8,
		`hearth_prompt_tokens_total\{model="metrics-m:latest"\}`:                         2,
		`hearth_time_to_first_token_seconds_count\{model="metrics-m:latest"\}`:           2,
		`hearth_batch_tokens_count`:                             8,
		`hearth_batch_sequences_count`:                          8,
		`hearth_prefix_cache_reused_tokens_total`:               1,
		`hearth_loaded_models`:                                  1,
		`hearth_model_memory_bytes\{model="metrics-m:latest"\}`: 1,
		`hearth_queue_depth`:                                    0,
	} {
		if v := metricValue(t, body, pattern); v < min {
			t.Errorf("%s = %v, want >= %v", pattern, v, min)
		}
	}
}
