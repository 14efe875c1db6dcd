package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
)

// workload is one measurement run against one server per call.
type workload struct {
	// Name labels progress lines.
	Name string
	// On says which servers run it.
	On func(t *server) bool
	// Run measures once (one repetition) and records into b.res.
	Run func(b *bench, ctx context.Context, s *server, rep int) error
}

// Which servers a workload runs on.
var (
	everyServer = func(*server) bool { return true }
	notMatched  = func(s *server) bool { return !s.matched }
)

// llmWorkloads are the chat-model workloads, in the order each repetition runs them.
func (b *bench) llmWorkloads() []workload {
	ws := []workload{
		{Name: "decode", On: notMatched, Run: (*bench).decode},
		{Name: "prompt-eval", On: notMatched, Run: (*bench).promptEval},
	}
	for _, n := range b.cfg.Clients {
		ws = append(ws, workload{Name: fmt.Sprintf("concurrency-%d", n), On: everyServer,
			Run: func(b *bench, ctx context.Context, s *server, rep int) error { return b.concurrency(ctx, s, rep, n) }})
	}
	ws = append(ws, b.busyWorkloads()...)
	ws = append(ws,
		workload{Name: "prefix-ttft", On: everyServer, Run: (*bench).prefixTTFT},
		workload{Name: "prefix-alternating", On: everyServer, Run: (*bench).prefixAlternating},
		workload{Name: "memory", On: everyServer, Run: (*bench).memory},
		workload{Name: "cold-load", On: notMatched, Run: (*bench).coldLoad},
	)
	return ws
}

// embedWorkloads use the GGUF bert embedding model in every server.
func (b *bench) embedWorkloads() []workload {
	return []workload{
		{Name: "embed-batch", On: notMatched, Run: (*bench).embedBatch},
		{Name: "embed-concurrent", On: notMatched, Run: (*bench).embedConcurrent},
		{Name: "embed-single", On: notMatched, Run: (*bench).embedSingle},
	}
}

// serverWorkloads measure the model-management routes.
func (b *bench) serverWorkloads() []workload {
	return []workload{
		{Name: "tags", On: notMatched, Run: (*bench).tags},
		{Name: "show", On: notMatched, Run: (*bench).show},
	}
}

// defineMetrics registers every metric up front, so the report keeps one order.
func (b *bench) defineMetrics() {
	r := b.res
	r.define("decode_tps", "Generation", "single-stream decode (eval_count / eval_duration)", "tok/s", true)
	r.define("prompt_tps", "Generation", "prompt eval, uncached prompt (prompt_eval_count / prompt_eval_duration)", "tok/s", true)
	r.define("ttft_prefix_cold", "Generation", "time to first token, new long system prompt", "ms", false)
	r.define("ttft_prefix_warm", "Generation", "time to first token, same system prompt, other clients", "ms", false)
	r.define("ttft_prefix_alt", "Generation", "time to first token, two system prompts alternating", "ms", false)
	r.define("cold_load_ttft", "Generation", "cold load to first token (model unloaded first)", "ms", false)
	for _, n := range b.cfg.Clients {
		clients := fmt.Sprintf("%d clients", n)
		if n == 1 {
			clients = "1 client"
		}
		r.define(fmt.Sprintf("agg_tps_c%d", n), "Concurrency", "aggregate decode, "+clients, "tok/s", true)
		r.define(fmt.Sprintf("latency_c%d", n), "Concurrency", "per-client request latency (median), "+clients, "ms", false)
		r.define(fmt.Sprintf("ttft_c%d", n), "Concurrency", "per-client time to first token (median), "+clients, "ms", false)
	}
	r.define("embed_batch64_ms", "Embeddings", "64 inputs in one request", "ms", false)
	r.define("embed_conc16_ms", "Embeddings", "16 concurrent single-input requests (wall time)", "ms", false)
	r.define("embed_single_p50", "Embeddings", "single input, p50", "ms", false)
	r.define("embed_single_p95", "Embeddings", "single input, p95", "ms", false)
	r.define("tags_p50", "Server", "GET /api/tags, p50", "ms", false)
	r.define("show_p50", "Server", "POST /api/show, p50", "ms", false)
	r.define("rss_llm_mb", "Memory", "resident memory, chat model loaded (process tree)", "MB", false)
	r.define("rss_over_file", "Memory", "resident memory / GGUF file size, chat model loaded", "x", false)
	r.define("rss_all_mb", "Memory", "resident memory, chat + embedding model loaded (process tree)", "MB", false)
	b.defineBusyMetrics()
}

// decode measures single-stream generation speed from the server's own final-chunk counts.
func (b *bench) decode(ctx context.Context, s *server, rep int) error {
	raw := true
	t, err := s.generate(ctx, &api.GenerateRequest{Model: b.llmName, Raw: raw,
		Prompt: uniquePrompt("decode", rep, 0, 24), Options: greedy(b.cfg.DecodeTokens)})
	if err != nil {
		return b.fail(err, s, "decode_tps")
	}
	b.record(s, "decode_tps", perSecond(t.Final.EvalCount, t.Final.EvalDuration), "tok/s")
	return nil
}

// promptEval measures prompt processing of a prompt no cache holds.
func (b *bench) promptEval(ctx context.Context, s *server, rep int) error {
	t, err := s.generate(ctx, &api.GenerateRequest{Model: b.llmName, Raw: true,
		Prompt: uniquePrompt("prompt", rep, 0, b.cfg.PromptWords), Options: greedy(1)})
	if err != nil {
		return b.fail(err, s, "prompt_tps")
	}
	b.record(s, "prompt_tps", perSecond(t.Final.PromptEvalCount, t.Final.PromptEvalDuration), "tok/s")
	return nil
}

// concurrency starts n clients at once, each with its own prompt, and measures the tokens all of them
// got per second of wall time, and each client's latency and time to first token.
func (b *bench) concurrency(ctx context.Context, s *server, rep, n int) error {
	timings := make([]timing, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			timings[i], errs[i] = s.generate(ctx, &api.GenerateRequest{Model: b.llmName, Raw: true,
				Prompt: uniquePrompt("conc", rep, i, 24), Options: greedy(b.cfg.ConcTokens)})
		})
	}
	wg.Wait()
	wall := time.Since(start)
	id := func(k string) string { return fmt.Sprintf("%s_c%d", k, n) }
	tokens := 0
	lat, ttft := make([]float64, n), make([]float64, n)
	for i, t := range timings {
		if errs[i] != nil {
			return b.fail(errs[i], s, id("agg_tps"), id("latency"), id("ttft"))
		}
		tokens += t.Final.EvalCount
		lat[i], ttft[i] = ms(t.Total), ms(t.TTFT)
	}
	b.record(s, id("agg_tps"), perSecond(tokens, wall), "tok/s")
	b.record(s, id("latency"), summarize(lat).Median, "ms")
	b.record(s, id("ttft"), summarize(ttft).Median, "ms")
	return nil
}

// prefixTTFT sends a long system prompt new to the server (cold), then the same system prompt from
// other clients with their own questions (warm: a prefix cache can skip the shared part).
func (b *bench) prefixTTFT(ctx context.Context, s *server, rep int) error {
	system := fmt.Sprintf("You are assistant number %d. %s", rep, text(uint64(500+rep), b.cfg.SystemWords))
	var warm []float64
	for i := range b.cfg.PrefixClients + 1 {
		t, err := s.chat(ctx, &api.ChatRequest{Model: b.llmName, Options: greedy(4), Messages: []api.Message{
			{Role: "system", Content: system},
			{Role: "user", Content: fmt.Sprintf("Client %d asks: %s", i, text(uint64(900+rep*10+i), 12))},
		}})
		if err != nil {
			return b.fail(err, s, "ttft_prefix_cold", "ttft_prefix_warm")
		}
		if i == 0 {
			b.record(s, "ttft_prefix_cold", ms(t.TTFT), "ms")
			continue
		}
		warm = append(warm, ms(t.TTFT))
	}
	b.record(s, "ttft_prefix_warm", summarize(warm).Median, "ms")
	return nil
}

// prefixAlternating is two applications sharing a server: each has its own system prompt (half the long
// one's length), both are seen once, then four clients alternate between them (A, B, A, B), each with a
// new user message. A server that keeps one cached prefix evaluates the other system prompt again on every
// switch; one that matches the longest prefix across all its slots does not.
func (b *bench) prefixAlternating(ctx context.Context, s *server, rep int) error {
	var systems [2]string
	for k := range systems {
		systems[k] = fmt.Sprintf("You are application %d of run %d. %s", k, rep, text(uint64(700+rep*2+k), b.cfg.SystemWords/2))
	}
	var ttfts []float64
	for i := range 6 {
		t, err := s.chat(ctx, &api.ChatRequest{Model: b.llmName, Options: greedy(4), Messages: []api.Message{
			{Role: "system", Content: systems[i%2]},
			{Role: "user", Content: fmt.Sprintf("User %d asks: %s", i, text(uint64(1300+rep*10+i), 12))},
		}})
		if err != nil {
			return b.fail(err, s, "ttft_prefix_alt")
		}
		if i >= 2 { // the first two saw their system prompt for the first time
			ttfts = append(ttfts, ms(t.TTFT))
		}
	}
	b.record(s, "ttft_prefix_alt", summarize(ttfts).Median, "ms")
	return nil
}

// memory reads the resident memory of the server's process tree with the chat model loaded, after the
// concurrency workloads have touched every slot's KV cache.
func (b *bench) memory(_ context.Context, s *server, _ int) error {
	rss := s.rss()
	b.record(s, "rss_llm_mb", float64(rss)/1e6, "MB")
	b.res.add("rss_over_file", s.spec.Name, float64(rss)/float64(b.llmBytes))
	return nil
}

// coldLoad unloads the chat model and times the request that loads it again, to its first token.
func (b *bench) coldLoad(ctx context.Context, s *server, _ int) error {
	if err := s.unload(ctx, b.llmName); err != nil {
		return b.fail(err, s, "cold_load_ttft")
	}
	// Ollama's runner process may still be exiting after /api/ps dropped the model.
	for deadline := time.Now().Add(10 * time.Second); s.processes() > 1 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	t, err := s.generate(ctx, &api.GenerateRequest{Model: b.llmName, Raw: true, Prompt: "Hello", Options: greedy(1)})
	if err != nil {
		return b.fail(err, s, "cold_load_ttft")
	}
	b.record(s, "cold_load_ttft", ms(t.TTFT), "ms")
	return nil
}

// embedInputs returns n distinct sentences of about a dozen words.
func embedInputs(rep, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = text(uint64(10_000+rep*1000+i), 12)
	}
	return out
}

// embedBatch embeds 64 inputs in one request.
func (b *bench) embedBatch(ctx context.Context, s *server, rep int) error {
	d, err := s.embed(ctx, b.embedName, embedInputs(rep, 64))
	if err != nil {
		return b.fail(err, s, "embed_batch64_ms")
	}
	b.record(s, "embed_batch64_ms", ms(d), "ms")
	return nil
}

// embedConcurrent sends 16 single-input requests at once and measures until the last answer.
func (b *bench) embedConcurrent(ctx context.Context, s *server, rep int) error {
	inputs := embedInputs(rep+100, 16)
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, in := range inputs {
		wg.Go(func() { _, errs[i] = s.embed(ctx, b.embedName, []string{in}) })
	}
	wg.Wait()
	wall := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return b.fail(err, s, "embed_conc16_ms")
		}
	}
	b.record(s, "embed_conc16_ms", ms(wall), "ms")
	return nil
}

// embedSingle sends single-input requests one after another and reports their p50 and p95.
func (b *bench) embedSingle(ctx context.Context, s *server, rep int) error {
	var lat []float64
	for i, in := range embedInputs(rep+200, b.cfg.EmbedSingles) {
		d, err := s.embed(ctx, b.embedName, []string{in})
		if err != nil {
			return b.fail(fmt.Errorf("request %d: %w", i, err), s, "embed_single_p50", "embed_single_p95")
		}
		lat = append(lat, ms(d))
	}
	b.record(s, "embed_single_p50", percentile(lat, 50), "ms")
	b.record(s, "embed_single_p95", percentile(lat, 95), "ms")
	return nil
}

// tags times GET /api/tags.
func (b *bench) tags(ctx context.Context, s *server, _ int) error {
	return b.repeat(ctx, s, "tags_p50", func() (time.Duration, error) { return s.do(ctx, "GET", "/api/tags", nil) })
}

// show times POST /api/show of the chat model.
func (b *bench) show(ctx context.Context, s *server, _ int) error {
	return b.repeat(ctx, s, "show_p50", func() (time.Duration, error) {
		return s.post(ctx, "/api/show", map[string]string{"model": b.llmName})
	})
}

// repeat runs f MetaRequests times and records the median.
func (b *bench) repeat(_ context.Context, s *server, id string, f func() (time.Duration, error)) error {
	var lat []float64
	for range b.cfg.MetaRequests {
		d, err := f()
		if err != nil {
			return b.fail(err, s, id)
		}
		lat = append(lat, ms(d))
	}
	b.record(s, id, percentile(lat, 50), "ms")
	return nil
}
