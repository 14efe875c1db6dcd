package ollamaengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	llamacpp "github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"
	_ "github.com/ollama/ollama/model/models" // registers every architecture of the Go engine
	"github.com/ollama/ollama/runner/ollamarunner"
	"github.com/ollama/ollama/sample"
	"github.com/ollama/ollama/tokenizer"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/cputhreads"
	"github.com/hearthlink/hearth/engine/decode"
	"github.com/hearthlink/hearth/engine/gguf"
	"github.com/hearthlink/hearth/engine/stream"
)

// ErrRunnerClosed ends the sequences of a model that was unloaded while they ran (decode.ErrUnloaded, the
// same for every engine).
var ErrRunnerClosed = decode.ErrUnloaded

// oneSequence are the architectures whose caches take one sequence per forward pass (recurrent or hybrid
// state: "unsupported batch layout" otherwise); Ollama clamps them to num_parallel 1 (server/sched.go).
var oneSequence = []string{"mllama", "qwen3vl", "qwen3vlmoe", "qwen35", "qwen35moe", "qwen3next", "lfm2", "lfm2moe", "nemotron_h", "nemotron_h_moe"}

// Runner is one model loaded into Ollama's Go engine: the model with its KV cache of one slot per parallel
// sequence, Ollama's input cache over those slots (prompt prefix reuse, context shift), and the decode
// loop goroutine that owns them. Requests from any goroutine become sequences that the loop advances
// together, one forward pass per step.
type Runner struct {
	model    model.Model
	tok      tokenizer.Tokenizer
	cache    *ollamarunner.InputCache
	arch     string
	numCtx   int // per slot
	batch    int // tokens per step
	parallel int

	// threads picks each forward pass's thread count.
	threads *cputhreads.Tuner

	queue     *decode.Admission[*sequence] // Generate's sequences on their way to the loop
	closeOnce sync.Once

	// Only the loop goroutine touches what follows.
	active []*sequence
	next   int // round-robin start for prompt chunks

	// beforeForward, when set (by tests, before the first Generate), runs in each step just before the
	// forward pass.
	beforeForward func()
}

// Open loads the GGUF model at path into the Go engine and starts its decode loop: the weights' layout,
// the KV cache of cfg.Parallel slots of cfg.NumCtx tokens, a worst-case graph reserve for a full batch and
// for one token (so memory runs out here rather than mid-request), then the weights themselves. The engine
// reports failures by panicking; Open turns them into errors. cfg.NumThread 0 picks the threads
// (cputhreads.Default) and lets a cputhreads.Tuner lower them pass by pass; a count the request set is used
// as it is.
func Open(ctx context.Context, path string, cfg engine.LoadConfig) (r *Runner, err error) {
	if cfg.NumCtx <= 0 || cfg.NumBatch <= 0 || cfg.Parallel <= 0 || cfg.NumThread < 0 {
		return nil, fmt.Errorf("invalid load config %+v", cfg)
	}
	tuner := cputhreads.Fixed(cfg.NumThread)
	if cfg.NumThread == 0 {
		cfg.NumThread = cputhreads.Default()
		tuner = cputhreads.NewTuner(cfg.NumThread)
	}
	var m model.Model
	var cache *ollamarunner.InputCache
	defer func() {
		if p := recover(); p != nil {
			// The engine panics on a file whose tensors do not match its architecture (a missing tensor is
			// a nil pointer): the client sees the panic's words, the server goes on.
			err = fmt.Errorf("the engine panicked: %v", p)
		}
		if err != nil {
			if cache != nil {
				cache.Close()
			}
			if m != nil {
				m.Backend().Close()
			}
		}
	}()
	fa := ml.FlashAttentionDisabled
	if cfg.FlashAttention || flashAttentionByDefault(path) {
		fa = ml.FlashAttentionEnabled
	}
	m, err = model.New(path, ml.BackendParams{AllocMemory: true, NumThreads: cfg.NumThread, FlashAttention: fa})
	if err != nil {
		return nil, err
	}
	tok, ok := m.(tokenizer.Tokenizer)
	if !ok {
		m.Backend().Close()
		return nil, errors.New("the model has no tokenizer the engine can use")
	}
	arch := m.Backend().Config().Architecture()
	parallel, batch := cfg.Parallel, min(cfg.NumBatch, cfg.NumCtx)
	if slices.Contains(oneSequence, arch) {
		parallel = 1
	}
	if m.Config().Cache == nil { // no KV cache: every step evaluates a whole sequence
		parallel, batch = 1, cfg.NumCtx
	}
	cache, err = ollamarunner.NewInputCache(m, cfg.KVCacheType, int32(cfg.NumCtx*parallel), parallel, batch, true)
	if err != nil {
		return nil, err
	}
	if err := reserveWorstCase(m, batch, parallel); err != nil {
		return nil, fmt.Errorf("reserving compute memory: %w", err)
	}
	if err := reserveWorstCase(m, 1, parallel); err != nil {
		return nil, fmt.Errorf("reserving compute memory: %w", err)
	}
	if err := m.Backend().Load(ctx, func(float32) {}); err != nil {
		return nil, fmt.Errorf("loading the weights of %s: %w", path, err)
	}
	r = &Runner{
		model:    m,
		tok:      tok,
		cache:    cache,
		arch:     arch,
		numCtx:   cfg.NumCtx,
		batch:    batch,
		parallel: parallel,
		threads:  tuner,
		queue:    decode.NewAdmission[*sequence](parallel),
	}
	go r.loop()
	return r, nil
}

// flashAttentionByDefault is Ollama's choice for its Go engine when OLLAMA_FLASH_ATTENTION is not set
// (llm/server.go NewLlamaServer): on for the architectures fs/ggml lists as wanting it (gemma3, qwen3,
// gptoss, olmo3, ...) when the model supports it (equal K and V head sizes, no pooling).
func flashAttentionByDefault(path string) bool {
	f, _, err := gguf.DecodeHeader(path)
	return err == nil && f.FlashAttention() && f.SupportsFlashAttention()
}

// reserveWorstCase builds the graph of a batch of n tokens of one sequence with outputs for parallel
// sequences and has ggml allocate its compute buffers now, as Ollama's runner does before loading weights.
func reserveWorstCase(m model.Model, n, parallel int) error {
	ctx := m.Backend().NewContext()
	defer ctx.Close()
	b := input.Batch{Positions: make([]int32, n), Sequences: make([]int, n)}
	for i := range n {
		b.Positions[i] = int32(i)
	}
	b.Inputs = ctx.Input().FromInts(make([]int32, n), n)
	b.Outputs = ctx.Input().Empty(ml.DTypeI32, parallel)
	if c := m.Config().Cache; c != nil {
		if err := c.StartForward(ctx, b, true); err != nil {
			return err
		}
	}
	t, err := m.Forward(ctx, b)
	if err != nil {
		return err
	}
	ctx.SetBatchSize(n)
	computeMu.Lock()
	defer computeMu.Unlock()
	ctx.Forward(t).Reserve()
	return nil
}

// ContextLength is the context of each slot, in tokens.
func (r *Runner) ContextLength() int { return r.numCtx }

// Parallel is the number of slots: cfg.Parallel, or 1 for architectures that take one sequence per batch.
func (r *Runner) Parallel() int { return r.parallel }

// Close stops the decode loop, ends the sequences in flight with ErrRunnerClosed and frees the cache and
// the weights.
func (r *Runner) Close() error {
	r.closeOnce.Do(func() {
		r.queue.Close()
		r.cache.Close()
		r.model.Backend().Close()
	})
	return nil
}

// Tokenize turns text into tokens with the model's own tokenizer, adding its BOS where it wants one and
// parsing special tokens written in the text.
func (r *Runner) Tokenize(text string) ([]int, error) {
	ids, err := r.tok.Encode(text, true)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out, nil
}

// Detokenize concatenates the tokens' pieces.
func (r *Runner) Detokenize(tokens []int) (string, error) {
	n := len(r.tok.Vocabulary().Values)
	ids := make([]int32, len(tokens))
	for i, t := range tokens {
		if t < 0 || t >= n {
			return "", fmt.Errorf("token %d is outside the vocabulary (0-%d)", t, n-1)
		}
		ids[i] = int32(t)
	}
	return r.tok.Decode(ids)
}

// Generate tokenizes the prompt, builds the sequence's sampler and queues it for a slot; it waits for a free
// slot while all are busy, until ctx ends.
func (r *Runner) Generate(ctx context.Context, req engine.GenerateRequest) (<-chan engine.Chunk, error) {
	seq, err := r.newSequence(ctx, req)
	if err != nil {
		return nil, err
	}
	seq.state = decode.Queued
	if err := r.queue.Submit(ctx, seq); err != nil {
		seq.free()
		return nil, err
	}
	return seq.out.Chan(ctx), nil
}

// newSequence prepares a request on the caller's goroutine: inputs, truncation, sampler. It follows
// Ollama's runner: num_keep counts from the first input, the sampler takes temperature, top_k, top_p, min_p
// and seed (Ollama's Go engine applies no repeat penalties), and a format becomes a grammar.
func (r *Runner) newSequence(ctx context.Context, req engine.GenerateRequest) (seq *sequence, err error) {
	all, images, err := r.inputs(req.Prompt, req.Images)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			images.close()
		}
	}()
	inputs, limits, err := decode.Fit(all, req, r.numCtx, false)
	if err != nil {
		return nil, err
	}
	if len(inputs) < len(all) && slices.ContainsFunc(all, func(in *input.Input) bool { return in.SameBatch > 0 }) {
		if inputs, err = fit(all, limits.NumKeep, r.numCtx); err != nil {
			return nil, err
		}
	}
	grammarText := req.Grammar
	if grammarText == "" {
		if grammarText, err = engine.GrammarFor(req.Format, llamacpp.SchemaToGrammar); err != nil {
			return nil, err
		}
	}
	var grammar *sample.GrammarSampler
	if grammarText != "" {
		if grammar, err = sample.NewGrammarSampler(r.tok, grammarText); err != nil {
			return nil, &engine.RequestError{Msg: "invalid format: the grammar could not be compiled"}
		}
	}
	opts := req.Options
	return &sequence{
		ctx:         ctx,
		prompt:      inputs,
		images:      images,
		sampler:     sample.NewSampler(opts.Temperature, opts.TopK, opts.TopP, opts.MinP, opts.Seed, grammar),
		grammar:     grammar,
		limits:      limits,
		shift:       req.Shift,
		logprobs:    req.Logprobs,
		topLogprobs: req.TopLogprobs,
		out:         stream.New(opts.Stop),
	}, nil
}
