package llama

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/ollama/ollama/fs/ggml"
	llamacpp "github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/batch"
	"github.com/hearthlink/hearth/engine/cputhreads"
	"github.com/hearthlink/hearth/internal/llamaext"
)

// What the scheduler and the handlers expect of an Encoder.
var (
	_ engine.Embedder = (*Encoder)(nil)
	_ engine.Reranker = (*Encoder)(nil)
)

// encoderArchitectures are the GGUF architectures llama.cpp runs without a KV cache (bidirectional
// encoders): many sequences fit one context for free, so an Encoder batches up to maxEncoderSeqs of them.
var encoderArchitectures = map[string]bool{
	"bert": true, "nomic-bert": true, "nomic-bert-moe": true, "jina-bert-v2": true, "jina-bert-v3": true,
	"neo-bert": true, "modern-bert": true, "t5encoder": true,
}

// maxEncoderSeqs is the most sequences one Decode call takes for a cache-less encoder.
const maxEncoderSeqs = 32

// EncoderBatchTokens is how many tokens an Encoder puts in one Decode call when it batches several
// inputs (a longer input still runs, alone). llama.cpp encodes a batch as one sequence of all its tokens
// with a mask between inputs, so attention cost grows with the square of the batch's tokens: on the
// generated bert-embed (1 thread), 32 inputs of about 12 tokens cost 7.6 ms each in one call and 3.8 ms
// each in calls of 64 tokens.
var EncoderBatchTokens = 64

// IsEncoder reports whether a GGUF model embeds or reranks rather than generates: Ollama's rule, a
// <arch>.pooling_type key.
func IsEncoder(kv ggml.KV) bool {
	_, ok := kv[kv.Architecture()+".pooling_type"]
	return ok
}

// Encoder is a loaded GGUF embedding or reranking model (a <arch>.pooling_type model such as bert or
// nomic-bert). A batcher goroutine owns the llama context: the inputs of one request and of concurrent
// requests go into one Decode call as separate sequences, and each sequence's pooled output (a vector, or
// a relevance score under RANK pooling) is read back with llama_get_embeddings_seq. It implements
// engine.Embedder and engine.Reranker.
type Encoder struct {
	model     *llamacpp.Model
	lctx      *llamacpp.Context
	batch     *llamacpp.Batch
	pooling   int
	width     int // floats per pooled output: n_embd, or n_cls_out under RANK pooling
	numCtx    int // tokens per sequence
	truncCtx  int // tokens an input over numCtx is cut to (num_ctx, which may be under numCtx's floor of 4)
	specials  llamaext.SpecialTokens
	wordPiece *wordPiece // Ollama's tokenizer where Ollama runs the architecture itself, else nil
	batcher   *batch.Batcher

	closeOnce sync.Once
}

// OpenEncoder loads the GGUF encoder at path. Each input may hold max(min(cfg.NumCtx, trained context), 4)
// tokens, and a longer one is cut to min(cfg.NumCtx, trained context); one Decode call takes up to
// max(that, cfg.NumBatch) tokens, rounded up to a multiple of the sequences (llama.cpp encodes a batch in
// one micro-batch).
// Init must have run.
func OpenEncoder(path string, cfg engine.LoadConfig) (*Encoder, error) {
	f, _, err := decodeHeader(path)
	if err != nil {
		return nil, err
	}
	if !IsEncoder(f.KV()) {
		return nil, errors.New("the model has no pooling type: it generates text, it does not embed")
	}
	wordPiece, err := ollamaTokenizer(path, f.KV().Architecture())
	if err != nil {
		return nil, err
	}
	seqs := max(cfg.Parallel, 1)
	if encoderArchitectures[f.KV().Architecture()] {
		seqs = maxEncoderSeqs
	}
	threads := cfg.NumThread
	if threads <= 0 {
		threads = cputhreads.Default()
	}
	m, err := llamacpp.LoadModelFromFile(path, llamacpp.ModelParams{UseMmap: cfg.UseMMap >= 0})
	if err != nil {
		return nil, fmt.Errorf("llama.cpp could not load %s (corrupt or unsupported GGUF file)", path)
	}
	// Ollama's rules: an input is cut to min(num_ctx, trained context) tokens, while the runner holds at
	// least 4 tokens, so an input that fits those 4 is never cut.
	truncCtx := llamaext.TrainedContext(m)
	if cfg.NumCtx > 0 && (truncCtx <= 0 || cfg.NumCtx < truncCtx) {
		truncCtx = cfg.NumCtx
	}
	numCtx := max(truncCtx, 4)
	// llama.cpp reserves its worst-case graph as one micro-batch of n_ubatch tokens spread evenly over
	// n_seq_max sequences; a micro-batch that is not a multiple of the sequences fails a ggml assertion under
	// MEAN pooling and aborts the process, so round it up.
	ubatch := max(numCtx, cfg.NumBatch)
	ubatch = (ubatch + seqs - 1) / seqs * seqs
	params := llamacpp.NewContextParams(numCtx*seqs, ubatch, seqs, threads, ml.FlashAttentionDisabled, cfg.KVCacheType)
	lctx, err := llamacpp.NewContextWithModel(m, params)
	if err != nil {
		llamacpp.FreeModel(m)
		return nil, fmt.Errorf("creating an embedding context: %w", err)
	}
	b, err := llamacpp.NewBatch(ubatch, 1, 0)
	if err != nil {
		llamaext.FreeContext(lctx)
		llamacpp.FreeModel(m)
		return nil, err
	}
	e := &Encoder{model: m, lctx: lctx, batch: b, pooling: llamaext.PoolingType(lctx), numCtx: numCtx, truncCtx: truncCtx,
		specials: llamaext.VocabSpecials(m), wordPiece: wordPiece}
	e.width = m.NEmbd()
	if e.pooling == llamaext.PoolingRank {
		e.width = max(llamaext.ClsOutputs(m), 1)
	}
	e.batcher = batch.New(batch.Options{MaxBatch: seqs, MaxTokens: min(ubatch, EncoderBatchTokens)}, e.run)
	return e, nil
}

// ContextLength is the most tokens one input may hold.
func (e *Encoder) ContextLength() int { return e.numCtx }

// Close stops the batcher (queued requests fail with ErrRunnerClosed) and frees the context and weights.
func (e *Encoder) Close() error {
	e.closeOnce.Do(func() {
		e.batcher.Close(ErrRunnerClosed)
		e.batch.Free()
		llamaext.FreeContext(e.lctx)
		llamacpp.FreeModel(e.model)
	})
	return nil
}

// Embed returns one pooled vector per input, as the model computes it (not normalised), and the number of
// tokens read.
func (e *Encoder) Embed(ctx context.Context, inputs []string, truncate bool) ([][]float32, int, error) {
	if e.pooling == llamaext.PoolingRank {
		return nil, 0, &engine.CapabilityError{Capability: engine.CapabilityEmbedding}
	}
	seqs := make([]batch.Seq, len(inputs))
	tokens := 0
	for i, in := range inputs {
		ids, err := e.tokenize(in, truncate)
		if err != nil {
			return nil, 0, err
		}
		seqs[i] = batch.Seq{IDs: ids}
		tokens += len(ids)
	}
	out, err := e.batcher.Do(ctx, seqs)
	return out, tokens, err
}

// Rerank scores each document against query with a RANK-pooling model: llama.cpp's layout
// [BOS] query [EOS] [SEP] document [EOS], the classification head's first output through a sigmoid, so
// scores lie in (0, 1). Over the context, tokens come off the longer of query and document first.
func (e *Encoder) Rerank(ctx context.Context, query string, documents []string, truncate bool) ([]float32, int, error) {
	if e.pooling != llamaext.PoolingRank {
		return nil, 0, &engine.CapabilityError{Capability: engine.CapabilityRerank}
	}
	q, err := e.model.Tokenize(query, false, true)
	if err != nil {
		return nil, 0, err
	}
	seqs := make([]batch.Seq, len(documents))
	tokens := 0
	for i, doc := range documents {
		d, err := e.model.Tokenize(doc, false, true)
		if err != nil {
			return nil, 0, err
		}
		ids, err := e.pair(q, d, truncate)
		if err != nil {
			return nil, 0, err
		}
		seqs[i] = batch.Seq{IDs: ids}
		tokens += len(ids)
	}
	out, err := e.batcher.Do(ctx, seqs)
	if err != nil {
		return nil, 0, err
	}
	scores := make([]float32, len(out))
	for i, o := range out {
		scores[i] = float32(1 / (1 + math.Exp(-float64(o[0]))))
	}
	return scores, tokens, nil
}

// tokenize turns one input into tokens with the model's special tokens; an input over the context is cut
// to truncCtx tokens (keeping the special tokens at both ends) or refused with engine.ErrInputTooLong, and
// with engine.ErrTruncatedTooLong when truncCtx leaves no room for text.
func (e *Encoder) tokenize(text string, truncate bool) ([]int64, error) {
	if e.wordPiece != nil {
		return e.wordPiece.tokenize(text, e.numCtx, e.truncCtx, truncate)
	}
	ids, err := e.model.Tokenize(text, true, true)
	if err != nil {
		return nil, err
	}
	if len(ids) > e.numCtx {
		if !truncate {
			return nil, engine.ErrInputTooLong
		}
		plain, err := e.model.Tokenize(text, false, true)
		if err != nil {
			return nil, err
		}
		var pre, post []int
		if e.specials.AddBOS && e.specials.BOS >= 0 {
			pre = append(pre, e.specials.BOS)
		}
		if e.specials.AddEOS && e.specials.EOS >= 0 {
			post = append(post, e.specials.EOS)
		}
		if e.specials.AddSEP && e.specials.SEP >= 0 {
			post = append(post, e.specials.SEP)
		}
		keep := e.truncCtx - len(pre) - len(post)
		if keep < 1 {
			return nil, engine.ErrTruncatedTooLong
		}
		ids = append(append(pre, plain[:min(keep, len(plain))]...), post...)
	}
	return widen(ids), nil
}

// pair lays out a (query, document) sequence for a reranker.
func (e *Encoder) pair(q, d []int, truncate bool) ([]int64, error) {
	s := e.specials
	var pre, mid, post []int
	if s.AddBOS && s.BOS >= 0 {
		pre = append(pre, s.BOS)
	}
	end := s.EOS
	if end < 0 {
		end = s.SEP
	}
	if s.AddEOS && end >= 0 {
		mid = append(mid, end)
	}
	if s.AddSEP && s.SEP >= 0 {
		mid = append(mid, s.SEP)
	}
	if end >= 0 {
		post = append(post, end)
	}
	budget := e.numCtx - len(pre) - len(mid) - len(post)
	nq, nd := len(q), len(d)
	if nq+nd > budget {
		if !truncate || budget < 2 {
			return nil, engine.ErrInputTooLong
		}
		for nq+nd > budget {
			if nq > nd {
				nq--
			} else {
				nd--
			}
		}
	}
	ids := make([]int, 0, len(pre)+nq+len(mid)+nd+len(post))
	ids = append(append(append(append(append(ids, pre...), q[:nq]...), mid...), d[:nd]...), post...)
	return widen(ids), nil
}

// widen converts llama.cpp token ids to the batcher's int64.
func widen(ids []int) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

// run encodes one batch, each job its own sequence, and reads each sequence's pooled output. Only the
// batcher's goroutine calls it, so it owns the context.
func (e *Encoder) run(jobs []*batch.Job) error {
	e.batch.Clear()
	first := make([]int, len(jobs)) // batch index of each job's first token
	for i, j := range jobs {
		first[i] = e.batch.NumTokens()
		for pos, id := range j.IDs {
			e.batch.Add(int(id), nil, pos, true, i)
		}
	}
	defer e.lctx.KvCacheClear()
	if err := e.lctx.Decode(e.batch); err != nil {
		return fmt.Errorf("llama.cpp failed to encode the batch: %w", err)
	}
	for i, j := range jobs {
		if e.pooling == llamaext.PoolingNone {
			j.Out = e.meanOfTokens(first[i], len(j.IDs))
		} else {
			j.Out = llamaext.EmbeddingsSeq(e.lctx, i, e.width)
		}
		if j.Out == nil {
			return errors.New("llama.cpp returned no embedding for the sequence")
		}
	}
	return nil
}

// meanOfTokens averages the per-token outputs of a sequence, for models without pooling.
func (e *Encoder) meanOfTokens(first, n int) []float32 {
	sum := make([]float64, e.width)
	for t := first; t < first+n; t++ {
		v := e.lctx.GetEmbeddingsIth(t)
		if v == nil {
			return nil
		}
		for k, x := range v {
			sum[k] += float64(x)
		}
	}
	out := make([]float32, e.width)
	for k, s := range sum {
		out[k] = float32(s / float64(max(n, 1)))
	}
	return out
}
