package main

import (
	"context"
	"errors"
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

// Which servers a workload runs on. The chat-model workloads run on hearth, the reference at its default
// and (where parallelism matters) the reference with OLLAMA_NUM_PARALLEL matched; the Go-engine workloads
// add hearth-go, hearth with OLLAMA_NEW_ENGINE=1, which runs bench-gemma3 on Ollama's Go engine.
var (
	chatServers = func(s *server) bool { return !s.spec.GoEngine }
	notMatched  = func(s *server) bool { return !s.spec.GoEngine && !s.spec.Matched }
	goSingle    = func(s *server) bool { return !s.spec.Matched }
	goAll       = func(*server) bool { return true }
)

// llmWorkloads are the chat-model workloads, in the order each repetition runs them.
func (b *bench) llmWorkloads() []workload {
	ws := []workload{
		{Name: "decode", On: notMatched, Run: func(b *bench, ctx context.Context, s *server, rep int) error {
			return b.decode(ctx, s, rep, b.llmName, "decode_tps", b.cfg.DecodeTokens)
		}},
		{Name: "prompt-eval", On: notMatched, Run: func(b *bench, ctx context.Context, s *server, rep int) error {
			return b.promptEval(ctx, s, rep, b.llmName, "prompt_tps")
		}},
	}
	for _, n := range b.cfg.Clients {
		ws = append(ws, workload{Name: fmt.Sprintf("concurrency-%d", n), On: chatServers,
			Run: func(b *bench, ctx context.Context, s *server, rep int) error {
				return b.concurrency(ctx, s, rep, n, b.llmName, "", b.cfg.ConcTokens)
			}})
	}
	ws = append(ws, b.busyWorkloads()...)
	ws = append(ws,
		workload{Name: "prefix-ttft", On: chatServers, Run: (*bench).prefixTTFT},
		workload{Name: "prefix-alternating", On: chatServers, Run: (*bench).prefixAlternating},
		workload{Name: "memory", On: chatServers, Run: (*bench).memory},
		workload{Name: "cold-load", On: notMatched, Run: (*bench).coldLoad},
	)
	return ws
}

// goMaxTokens caps the tokens of the Go-engine rows' completions. The gemma3 models have random weights and
// tie their output projection to the token embeddings, so every token's own logit dominates and even
// sampled continuations repeat one token; the reference aborts a completion after 30 repeats of a token
// (llm/server.go Completion) and ends its stream without a final chunk. 30 tokens stay under that.
const goMaxTokens = 30

// goWorkloads compare Ollama's Go engine in hearth (hearth-go) with the reference, which runs the same
// gemma3 GGUF on its Go engine too; hearth at its default runs it on llama.cpp, measured beside them.
func (b *bench) goWorkloads() []workload {
	return []workload{
		{Name: "go-decode", On: goSingle, Run: func(b *bench, ctx context.Context, s *server, rep int) error {
			return b.decode(ctx, s, rep, b.goName, "go_decode_tps", min(b.cfg.DecodeTokens, goMaxTokens))
		}},
		{Name: "go-prompt-eval", On: goSingle, Run: func(b *bench, ctx context.Context, s *server, rep int) error {
			return b.promptEval(ctx, s, rep, b.goName, "go_prompt_tps")
		}},
		{Name: "go-concurrency-4", On: goAll, Run: func(b *bench, ctx context.Context, s *server, rep int) error {
			return b.concurrency(ctx, s, rep, 4, b.goName, "go_", min(b.cfg.ConcTokens, goMaxTokens))
		}},
	}
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

// Token rates are measured at the client, the same way for every server: neither server's own durations
// are used, since they are not the same quantity (hearth's eval_duration is wall time with sampling, the
// reference's llama.cpp runner sums only its decode calls). Decode is the tokens after the first divided
// by the time from the first streamed token to the final chunk; prompt evaluation is the prompt's tokens
// divided by the time to the first token of a one-token completion, so it includes one HTTP round trip,
// templating and tokenization (well under a millisecond against seconds of evaluation). Token counts
// are the servers' own eval_count and prompt_eval_count, which count the same tokens in both.
const rateMethod = "Token rates are measured at the client, the same way for every server: decode = (eval_count − 1) ÷ time from the first streamed token to the final chunk; prompt evaluation = prompt_eval_count ÷ time to the first token of a 1-token completion of an uncached prompt (one HTTP round trip and tokenization included). The servers' own durations are not used: hearth's eval_duration includes sampling, the reference's llama.cpp runner sums only its decode calls."

// defineMetrics registers every metric up front, so the report keeps one order.
func (b *bench) defineMetrics() {
	r, reps := b.res, b.cfg.Reps
	def := func(id, group, label, unit string, higher bool) {
		r.define(metric{ID: id, Group: group, Label: label, Unit: unit, HigherIsBetter: higher, Expected: reps})
	}
	def("decode_tps", "Generation", "single-stream decode, 1st token to last (client side)", "tok/s", true)
	def("prompt_tps", "Generation", "prompt eval, uncached prompt (prompt tokens ÷ time to first token)", "tok/s", true)
	def("ttft_prefix_cold", "Generation", "time to first token, new long system prompt", "ms", false)
	def("ttft_prefix_warm", "Generation", "time to first token, same system prompt, other clients", "ms", false)
	def("ttft_prefix_alt", "Generation", "time to first token, two system prompts alternating", "ms", false)
	def("cold_load_ttft", "Generation", "cold load to first token (model unloaded first)", "ms", false)
	for _, n := range b.cfg.Clients {
		b.defineConcurrency("", "Concurrency", n)
	}
	def("embed_batch64_ms", "Embeddings", "64 inputs in one request", "ms", false)
	def("embed_conc16_ms", "Embeddings", "16 concurrent single-input requests (wall time)", "ms", false)
	def("embed_single_p50", "Embeddings", "single input, p50", "ms", false)
	def("embed_single_p95", "Embeddings", "single input, p95", "ms", false)
	def("tags_p50", "Server", "GET /api/tags, p50", "ms", false)
	def("show_p50", "Server", "POST /api/show, p50", "ms", false)
	def("rss_llm_mb", "Memory", "resident memory, chat model loaded (process tree)", "MB", false)
	def("rss_over_file", "Memory", "resident memory / GGUF file size, chat model loaded", "x", false)
	r.define(metric{ID: "rss_all_mb", Group: "Memory", Label: "resident memory, chat + embedding model loaded (process tree)",
		Unit: "MB", Expected: 1})

	goGroup := "Go engine: " + b.goRecipe
	godef := func(id, label, unit string, higher bool) {
		r.define(metric{ID: id, Group: goGroup, Label: label, Unit: unit, HigherIsBetter: higher, Subject: "hearth-go", Expected: reps})
	}
	godef("go_decode_tps", "single-stream decode, 1st token to last (client side)", "tok/s", true)
	godef("go_prompt_tps", "prompt eval, uncached prompt (prompt tokens ÷ time to first token)", "tok/s", true)
	b.defineConcurrency("go_", goGroup, 4)
	b.defineBusyMetrics()
}

// defineConcurrency registers the concurrency workload's metrics for n clients, under prefix.
func (b *bench) defineConcurrency(prefix, group string, n int) {
	clients := fmt.Sprintf("%d clients", n)
	if n == 1 {
		clients = "1 client"
	}
	subject := "hearth"
	if prefix != "" {
		subject = "hearth-go"
	}
	for _, m := range []metric{
		{ID: "agg_tps_c%d", Label: "aggregate decode, " + clients, Unit: "tok/s", HigherIsBetter: true},
		{ID: "latency_c%d", Label: "per-client request latency (median), " + clients, Unit: "ms"},
		{ID: "ttft_c%d", Label: "per-client time to first token (median), " + clients, Unit: "ms"},
	} {
		m.ID, m.Group, m.Subject, m.Expected = prefix+fmt.Sprintf(m.ID, n), group, subject, b.cfg.Reps
		b.res.define(m)
	}
}

// decode measures single-stream generation speed at the client: the tokens after the first over the time
// from the first streamed token to the final chunk.
func (b *bench) decode(ctx context.Context, s *server, rep int, model, id string, tokens int) error {
	t, err := s.generate(ctx, &api.GenerateRequest{Model: model, Raw: true,
		Prompt: uniquePrompt("decode", rep, 0, 24), Options: sampling(tokens)})
	if err != nil {
		return b.fail(err, s, id)
	}
	v, err := perSecond(t.Final.EvalCount-1, t.Total-t.TTFT)
	if err != nil {
		return b.fail(err, s, id)
	}
	return b.record(s, id, v, "tok/s")
}

// promptEval measures prompt processing of a prompt no cache holds: its tokens over the time to the first
// token of a one-token completion.
func (b *bench) promptEval(ctx context.Context, s *server, rep int, model, id string) error {
	t, err := s.generate(ctx, &api.GenerateRequest{Model: model, Raw: true,
		Prompt: uniquePrompt("prompt", rep, 0, b.cfg.PromptWords), Options: sampling(1)})
	if err != nil {
		return b.fail(err, s, id)
	}
	b.notePromptTokens(id, rep, s, t.Final.PromptEvalCount)
	v, err := perSecond(t.Final.PromptEvalCount, t.TTFT)
	if err != nil {
		return b.fail(err, s, id)
	}
	return b.record(s, id, v, "tok/s")
}

// concurrency starts n clients at once, each with its own prompt, and measures the tokens all of them
// got per second of wall time, and each client's latency and time to first token.
func (b *bench) concurrency(ctx context.Context, s *server, rep, n int, model, prefix string, tokens int) error {
	timings := make([]timing, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			timings[i], errs[i] = s.generate(ctx, &api.GenerateRequest{Model: model, Raw: true,
				Prompt: uniquePrompt("conc", rep, i, 24), Options: sampling(tokens)})
		})
	}
	wg.Wait()
	wall := time.Since(start)
	id := func(k string) string { return fmt.Sprintf("%s%s_c%d", prefix, k, n) }
	generated := 0
	lat, ttft := make([]float64, n), make([]float64, n)
	for i, t := range timings {
		if errs[i] != nil {
			return b.fail(errs[i], s, id("agg_tps"), id("latency"), id("ttft"))
		}
		generated += t.Final.EvalCount
		lat[i], ttft[i] = ms(t.Total), ms(t.TTFT)
	}
	agg, err := perSecond(generated, wall)
	if err != nil {
		return b.fail(err, s, id("agg_tps"), id("latency"), id("ttft"))
	}
	return errors.Join(b.record(s, id("agg_tps"), agg, "tok/s"),
		b.record(s, id("latency"), summarize(lat).Median, "ms"),
		b.record(s, id("ttft"), summarize(ttft).Median, "ms"))
}

// prefixTTFT sends a long system prompt new to the server (cold), then the same system prompt from
// other clients with their own questions (warm: a prefix cache can skip the shared part).
func (b *bench) prefixTTFT(ctx context.Context, s *server, rep int) error {
	system := fmt.Sprintf("You are assistant number %d. %s", rep, text(uint64(500+rep), b.cfg.SystemWords))
	var warm []float64
	for i := range b.cfg.PrefixClients + 1 {
		t, err := s.chat(ctx, &api.ChatRequest{Model: b.llmName, Options: sampling(4), Messages: []api.Message{
			{Role: "system", Content: system},
			{Role: "user", Content: fmt.Sprintf("Client %d asks: %s", i, text(uint64(900+rep*10+i), 12))},
		}})
		if err != nil {
			return b.fail(err, s, "ttft_prefix_cold", "ttft_prefix_warm")
		}
		if i == 0 {
			if err := b.record(s, "ttft_prefix_cold", ms(t.TTFT), "ms"); err != nil {
				return err
			}
			continue
		}
		warm = append(warm, ms(t.TTFT))
	}
	return b.record(s, "ttft_prefix_warm", summarize(warm).Median, "ms")
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
		t, err := s.chat(ctx, &api.ChatRequest{Model: b.llmName, Options: sampling(4), Messages: []api.Message{
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
	return b.record(s, "ttft_prefix_alt", summarize(ttfts).Median, "ms")
}

// memory reads the resident memory of the server's process tree with the chat model loaded, after the
// concurrency workloads have touched every slot's KV cache.
func (b *bench) memory(_ context.Context, s *server, _ int) error {
	rss, err := s.rss()
	if err != nil {
		return b.fail(err, s, "rss_llm_mb", "rss_over_file")
	}
	return errors.Join(b.record(s, "rss_llm_mb", float64(rss)/1e6, "MB"),
		b.record(s, "rss_over_file", float64(rss)/float64(b.llmBytes), "x"))
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
	t, err := s.generate(ctx, &api.GenerateRequest{Model: b.llmName, Raw: true, Prompt: "Hello", Options: sampling(1)})
	if err != nil {
		return b.fail(err, s, "cold_load_ttft")
	}
	return b.record(s, "cold_load_ttft", ms(t.TTFT), "ms")
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
	return b.record(s, "embed_batch64_ms", ms(d), "ms")
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
	return b.record(s, "embed_conc16_ms", ms(wall), "ms")
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
	return errors.Join(b.record(s, "embed_single_p50", percentile(lat, 50), "ms"),
		b.record(s, "embed_single_p95", percentile(lat, 95), "ms"))
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
	return b.record(s, id, percentile(lat, 50), "ms")
}
