package llama

import (
	"context"
	"fmt"
	"strings"
	"sync"

	llamacpp "github.com/ollama/ollama/llama"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/cputhreads"
	"github.com/hearthlink/hearth/engine/decode"
	"github.com/hearthlink/hearth/engine/stream"
	"github.com/hearthlink/hearth/internal/llamaext"
)

// ErrRunnerClosed ends the sequences of a model that was unloaded while they ran (decode.ErrUnloaded, the
// same for every engine).
var ErrRunnerClosed = decode.ErrUnloaded

// Runner is one loaded GGUF model: the weights, one llama context whose slots share one pool of KV cells,
// and the decode loop goroutine that owns the context. Requests from any goroutine become sequences that
// the loop advances together, one Decode call per step.
type Runner struct {
	model    *llamacpp.Model
	lctx     *llamacpp.Context
	numCtx   int // the most tokens one sequence holds, and the pool's size
	batch    int // tokens per step
	parallel int
	unified  bool // the slots share one pool of numCtx KV cells (kvlayout.go), not numCtx each
	memory   residentMemory

	abort *llamaext.Abort // stops a Decode whose requests have all ended
	// threads picks each Decode's thread count.
	threads *cputhreads.Tuner

	queue     *decode.Admission[*sequence] // Generate's sequences on their way to the loop
	closeOnce sync.Once

	// Only the loop goroutine touches what follows.
	pool       *pool
	slots      []*slot
	active     []*sequence
	next       int    // round-robin start for prompt chunks
	admissions uint64 // sequences assigned a slot so far
	maxBatch   int    // the most tokens decoded in one step so far

	// beforeDecode, when set (by tests, before the first Generate), runs in each step between arming the
	// step's abort watch and llama_decode.
	beforeDecode func()
}

// Open loads the GGUF model at path (with optional LoRA adapters) and starts its decode loop. Its
// cfg.Parallel slots share one KV pool of cfg.NumCtx cells (llama.cpp's unified KV cache): one sequence may
// use the whole context, concurrent ones share it (see room.go); with flash attention or a quantized KV
// cache each slot has cfg.NumCtx cells of its own instead (kvlayout.go). Init must have run.
// cfg.NumThread 0 picks the threads (cputhreads.Default) and lets a cputhreads.Tuner lower them call by
// call while decoding; a count the request set is used as it is.
func Open(path string, adapters []string, cfg engine.LoadConfig) (*Runner, error) {
	if err := checkGGUF(path); err != nil {
		return nil, err
	}
	if cfg.NumCtx <= 0 || cfg.NumBatch <= 0 || cfg.Parallel <= 0 || cfg.NumThread < 0 {
		return nil, fmt.Errorf("invalid load config %+v", cfg)
	}
	cfg.NumBatch = min(cfg.NumBatch, cfg.NumCtx)
	tuner := cputhreads.Fixed(cfg.NumThread)
	if cfg.NumThread == 0 {
		cfg.NumThread = cputhreads.Default()
		tuner = cputhreads.NewTuner(cfg.NumThread)
	}
	before := anonymousResident()
	mmap := cfg.UseMMap >= 0 && len(adapters) == 0
	m, err := llamacpp.LoadModelFromFile(path, llamacpp.ModelParams{
		NumGpuLayers: 0,
		UseMmap:      mmap,
	})
	if err != nil {
		return nil, fmt.Errorf("llama.cpp could not load %s (corrupt or unsupported GGUF file)", path)
	}
	if mmap {
		releaseMappedPages(path)
	}
	params, cells, err := contextParams(cfg)
	if err != nil {
		llamacpp.FreeModel(m)
		return nil, err
	}
	lctx, err := llamacpp.NewContextWithModel(m, params)
	if err != nil {
		llamacpp.FreeModel(m)
		return nil, fmt.Errorf("creating a context of %d tokens: %w", cells, err)
	}
	if _, seqCells := llamaext.ContextCells(lctx); seqCells < cfg.NumCtx {
		llamaext.FreeContext(lctx)
		llamacpp.FreeModel(m)
		return nil, fmt.Errorf("llama.cpp gave each sequence %d KV cells of the %d asked for", seqCells, cfg.NumCtx)
	}
	for _, a := range adapters {
		if err := m.ApplyLoraFromFile(lctx, a, 1.0, cfg.NumThread); err != nil {
			llamaext.FreeContext(lctx)
			llamacpp.FreeModel(m)
			return nil, fmt.Errorf("applying adapter %s: %w", a, err)
		}
	}
	r := &Runner{
		model:    m,
		lctx:     lctx,
		numCtx:   cfg.NumCtx,
		batch:    cfg.NumBatch,
		parallel: cfg.Parallel,
		abort:    llamaext.NewAbort(lctx),
		threads:  tuner,
		queue:    decode.NewAdmission[*sequence](cfg.Parallel),
		pool:     newPool(cells),
		unified:  unifiedKV(cfg),
	}
	r.memory.path = path
	r.memory.grew(before)
	for i := range cfg.Parallel {
		r.slots = append(r.slots, &slot{id: i})
	}
	go r.loop()
	return r, nil
}

// ContextLength is the context one sequence may use, in tokens.
func (r *Runner) ContextLength() int { return r.numCtx }

// Parallel is the number of slots.
func (r *Runner) Parallel() int { return r.parallel }

// Close stops the decode loop, ends the sequences in flight with ErrRunnerClosed and frees the context and
// the weights.
func (r *Runner) Close() error {
	r.closeOnce.Do(func() {
		r.queue.Close()
		llamaext.FreeContext(r.lctx)
		r.abort.Free()
		llamacpp.FreeModel(r.model)
	})
	return nil
}

// Tokenize turns text into tokens, with the model's BOS where it wants one and special tokens parsed.
func (r *Runner) Tokenize(text string) ([]int, error) {
	return r.model.Tokenize(text, true, true)
}

// Detokenize concatenates the tokens' pieces.
func (r *Runner) Detokenize(tokens []int) (string, error) {
	var b strings.Builder
	n := r.model.NumVocab()
	for _, t := range tokens {
		if t < 0 || t >= n {
			return "", fmt.Errorf("token %d is outside the vocabulary (0-%d)", t, n-1)
		}
		b.WriteString(r.model.TokenToPiece(t))
	}
	return b.String(), nil
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
		return nil, err
	}
	return seq.out.Chan(ctx), nil
}

// newSequence prepares a request on the caller's goroutine: tokens, truncation, sampler.
func (r *Runner) newSequence(ctx context.Context, req engine.GenerateRequest) (*sequence, error) {
	tokens, err := r.model.Tokenize(req.Prompt, true, true)
	if err != nil {
		return nil, err
	}
	tokens, limits, err := decode.Fit(tokens, req, r.numCtx, r.model.AddBOSToken())
	if err != nil {
		return nil, err
	}
	opts := req.Options
	grammar := req.Grammar
	if grammar == "" {
		if grammar, err = engine.GrammarFor(req.Format, llamacpp.SchemaToGrammar); err != nil {
			return nil, err
		}
	}
	sampler, err := llamacpp.NewSamplingContext(r.model, llamacpp.SamplingParams{
		TopK:           opts.TopK,
		TopP:           opts.TopP,
		MinP:           opts.MinP,
		TypicalP:       opts.TypicalP,
		Temp:           opts.Temperature,
		RepeatLastN:    opts.RepeatLastN,
		PenaltyRepeat:  opts.RepeatPenalty,
		PenaltyFreq:    opts.FrequencyPenalty,
		PenaltyPresent: opts.PresencePenalty,
		Seed:           uint32(opts.Seed),
		Grammar:        grammar,
	})
	if err != nil {
		if grammar != "" {
			return nil, &engine.RequestError{Msg: "invalid format: the grammar could not be compiled"}
		}
		return nil, err
	}
	for _, t := range tokens {
		sampler.Accept(t, false)
	}
	return &sequence{
		ctx:         ctx,
		prompt:      tokens,
		sampler:     sampler,
		limits:      limits,
		shift:       req.Shift,
		logprobs:    req.Logprobs,
		topLogprobs: req.TopLogprobs,
		out:         stream.New(opts.Stop),
	}, nil
}

// Resident is the memory the model keeps resident now, in bytes: what its load took (repacked weights,
// the KV pool, compute buffers) and the pages of its GGUF file mapped in.
func (r *Runner) Resident() int64 { return r.memory.bytes() }
