package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The engine's Prometheus metrics. They are plain collectors, registered by whoever serves /metrics
// (MetricsCollectors), so several schedulers in one test binary never collide in a global registry.
var (
	promptTokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_prompt_tokens_total",
		Help: "Prompt tokens evaluated or taken from the prefix cache, by model.",
	}, []string{"model"})
	generatedTokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_generated_tokens_total",
		Help: "Tokens generated, by model.",
	}, []string{"model"})
	timeToFirstToken = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hearth_time_to_first_token_seconds",
		Help:    "Time from a generate or chat request's arrival to its first generated text, by model.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"model"})
	batchTokens = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hearth_batch_tokens",
		Help:    "Tokens in each llama.cpp decode call (prompt chunks and generated tokens of all sequences).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 13),
	})
	batchSequences = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hearth_batch_sequences",
		Help:    "Sequences advanced by each llama.cpp decode call (continuous batching width).",
		Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 32},
	})
	prefixPromptTokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_prefix_cache_prompt_tokens_total",
		Help: "Prompt tokens of sequences assigned to a slot; the denominator of the prefix-cache hit rate.",
	})
	prefixReusedTokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_prefix_cache_reused_tokens_total",
		Help: "Prompt tokens whose KV was reused from the prefix cache instead of evaluated.",
	})
	kvPreemptions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_kv_preemptions_total",
		Help: "Sequences whose KV cells were freed for older ones when the slots' shared KV pool was full; each is evaluated again once there is room.",
	})
	encoderBatchInputs = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hearth_encoder_batch_inputs",
		Help:    "Inputs in each encoder model call (embedding, classification, rerank dynamic batching).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
	})
	cancelledSequences = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_cancelled_sequences_total",
		Help: "Decode-loop sequences (generate, chat, llama.cpp embeddings) ended because their request ended (the client went away) before they finished.",
	})
	stepsAfterCancel = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_decode_steps_after_cancel_total",
		Help: "Sequences in a decode step that ran to its end although their request had ended: the step in flight when the client went away, at most one per cancelled sequence.",
	})
	abortedSteps = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_aborted_decode_steps_total",
		Help: "Decode steps stopped in flight because the requests of all their sequences had ended (llama.cpp only).",
	})
	rejectedRequests = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_rejected_requests_total",
		Help: "Requests answered 503 because OLLAMA_MAX_QUEUE requests were already waiting (for a load or for a model's sequences).",
	})
)

// ObserveBatch records one decode call of a generative backend: its tokens and the sequences it advanced.
func ObserveBatch(tokens, sequences int) {
	batchTokens.Observe(float64(tokens))
	batchSequences.Observe(float64(sequences))
}

// ObservePrefixCache records a sequence assigned to a slot: its prompt length and how many of those
// tokens were already in the slot's KV cache.
func ObservePrefixCache(prompt, reused int) {
	prefixPromptTokens.Add(float64(prompt))
	prefixReusedTokens.Add(float64(reused))
}

// ObserveCancelled records a sequence ended because its request ended; afterStep reports that it had
// been in a decode step that completed after the request ended (the step in flight, not aborted).
func ObserveCancelled(afterStep bool) {
	cancelledSequences.Inc()
	if afterStep {
		stepsAfterCancel.Inc()
	}
}

// ObserveAbortedStep records a decode step stopped in flight because all its requests had ended.
func ObserveAbortedStep() { abortedSteps.Inc() }

// ObservePreemption records a sequence preempted because the KV pool its model's slots share was full.
func ObservePreemption() { kvPreemptions.Inc() }

// ObserveEncoderBatch records one call of an encoder model with n inputs.
func ObserveEncoderBatch(n int) { encoderBatchInputs.Observe(float64(n)) }

// streamObserver records the token counts and time to first token of one generate or chat request.
type streamObserver struct {
	model string
	start time.Time
	first bool
}

func newStreamObserver(model string, start time.Time) *streamObserver {
	return &streamObserver{model: model, start: start}
}

// chunk is called for each chunk a Generator sends.
func (o *streamObserver) chunk(c Chunk) {
	if !o.first && (c.Text != "" || c.EvalCount > 0) {
		o.first = true
		timeToFirstToken.WithLabelValues(o.model).Observe(time.Since(o.start).Seconds())
	}
	if c.Done {
		promptTokens.WithLabelValues(o.model).Add(float64(c.PromptEvalCount))
		generatedTokens.WithLabelValues(o.model).Add(float64(c.EvalCount))
	}
}

// schedulerCollector reports the scheduler's state at scrape time.
type schedulerCollector struct {
	s       *Scheduler
	queue   *prometheus.Desc
	loaded  *prometheus.Desc
	memory  *prometheus.Desc
	maxLoad *prometheus.Desc
}

// MetricsCollectors returns every engine metric, plus s's queue depth and loaded models, for a
// Prometheus registry.
func MetricsCollectors(s *Scheduler) []prometheus.Collector {
	cs := []prometheus.Collector{
		promptTokens, generatedTokens, timeToFirstToken, batchTokens, batchSequences,
		prefixPromptTokens, prefixReusedTokens, kvPreemptions, encoderBatchInputs, rejectedRequests,
		cancelledSequences, stepsAfterCancel, abortedSteps,
	}
	if s != nil {
		cs = append(cs, &schedulerCollector{
			s: s,
			queue: prometheus.NewDesc("hearth_queue_depth",
				"Requests waiting for a model to load.", nil, nil),
			loaded: prometheus.NewDesc("hearth_loaded_models",
				"Models loaded or loading.", nil, nil),
			memory: prometheus.NewDesc("hearth_model_memory_bytes",
				"Estimated memory of each loaded model (weights, KV cache, compute buffers).", []string{"model"}, nil),
			maxLoad: prometheus.NewDesc("hearth_max_loaded_models",
				"OLLAMA_MAX_LOADED_MODELS in effect.", nil, nil),
		})
	}
	return cs
}

// Describe implements prometheus.Collector.
func (c *schedulerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queue
	ch <- c.loaded
	ch <- c.memory
	ch <- c.maxLoad
}

// Collect implements prometheus.Collector.
func (c *schedulerCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	pending := c.s.pending
	c.s.mu.Unlock()
	models := c.s.Loaded()
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(c.loaded, prometheus.GaugeValue, float64(len(models)))
	ch <- prometheus.MustNewConstMetric(c.maxLoad, prometheus.GaugeValue, float64(c.s.cfg.MaxLoadedModels))
	for _, m := range models {
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(m.Size), m.Name)
	}
}
