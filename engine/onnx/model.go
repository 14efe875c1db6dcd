package onnx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/types/model"

	hapi "github.com/hearthlink/hearth/api"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/batch"
	"github.com/hearthlink/hearth/onnxspec"
)

// ErrModelClosed ends the requests of a model that was unloaded while they waited.
var ErrModelClosed = batch.ErrClosed

// Options tune how a loaded model runs. A zero count picks its default; a zero BatchWindow is no wait.
type Options struct {
	// Threads is ONNX Runtime's intra-op thread count (0: one per CPU).
	Threads int
	// Spin lets idle ONNX Runtime threads spin-wait between runs: lower latency on an idle machine, but a
	// core kept busy, and slower on a machine shared with other work (measured here).
	Spin bool
	// BatchWindow is how long an idle model waits after a request arrives for concurrent ones to join
	// its batch, once requests have overlapped within the last second (batch.ConcurrencyMemory); a
	// client sending one request at a time never waits. 0 is no wait; hearth serve uses DefaultBatchWindow.
	BatchWindow time.Duration
	// MaxBatch is the most sequences in one model call (0: DefaultMaxBatch).
	MaxBatch int
	// MaxBatchTokens bounds sequences × padded length of one model call (0: DefaultMaxBatchTokens).
	MaxBatchTokens int
	// MaxLength lowers the most tokens per input below the model's own maximum (0: the model's), as a
	// request's num_ctx does for GGUF models.
	MaxLength int
}

// Defaults of Options.
const (
	DefaultBatchWindow    = 500 * time.Microsecond
	DefaultMaxBatch       = 32
	DefaultMaxBatchTokens = 8192
)

// Model is a loaded ONNX encoder: its tokenizer, one ONNX Runtime session and the batcher that feeds it.
// It implements engine.Embedder, engine.Classifier and engine.Reranker; each refuses with an
// *engine.CapabilityError what the model was not made for. Every method is safe for concurrent use, and
// concurrent requests share model calls.
type Model struct {
	spec    *onnxspec.Spec
	tok     *tokenizer
	sess    *session
	batcher *batch.Batcher
	padID   int64
	// tmpDir is the folder of links the model was loaded from, removed on Close ("" for none).
	tmpDir string
	// calls counts model calls (batches run), for tests and metrics.
	calls atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

// LoadDir loads the ONNX model folder dir (model.onnx, tokenizer.json or vocab.txt, config.json and
// optionally hearth.json). Init must have succeeded.
func LoadDir(dir string, opts Options) (*Model, error) {
	f, err := onnxspec.DirFiles(dir)
	if err != nil {
		return nil, err
	}
	graph, err := graphName(f)
	if err != nil {
		return nil, err
	}
	return load(f, graph, opts)
}

// load loads a model from its files; graph names the ONNX graph among them.
func load(f files, graph string, opts Options) (*Model, error) {
	s, err := onnxspec.Read(f)
	if err != nil {
		return nil, err
	}
	if opts.MaxLength > 0 && opts.MaxLength < s.MaxLength {
		s.MaxLength = opts.MaxLength
	}
	tk, err := loadTokenizer(f, s.MaxLength)
	if err != nil {
		return nil, err
	}
	if opts.Threads <= 0 {
		opts.Threads = defaultThreads()
	}
	sess, err := openSession(f[graph], s.Output, sessionOptions{threads: opts.Threads, spin: opts.Spin})
	if err != nil {
		return nil, err
	}
	if s.Task != onnxspec.TaskEmbedding && sess.outputRank != 2 {
		sess.close()
		return nil, fmt.Errorf("the graph's output %q has %d dimensions; a %s model outputs [batch, labels]", sess.output, sess.outputRank, s.Task)
	}
	m := &Model{spec: s, tok: tk, sess: sess}
	if id, ok := tk.tk.TokenToId("[PAD]"); ok {
		m.padID = int64(id)
	}
	bo := batch.Options{Window: opts.BatchWindow, MaxBatch: opts.MaxBatch, MaxTokens: opts.MaxBatchTokens, Padded: true}
	if bo.MaxBatch <= 0 {
		bo.MaxBatch = DefaultMaxBatch
	}
	if bo.MaxTokens <= 0 {
		bo.MaxTokens = DefaultMaxBatchTokens
	}
	m.batcher = batch.New(bo, m.runBatch)
	return m, nil
}

// ContextLength is the most tokens one input may hold, special tokens included.
func (m *Model) ContextLength() int { return m.spec.MaxLength }

// run tokenizes texts (each after query, when there is one) and runs them through the graph, one output
// row per text, refusing the call when the model does not do c (onnxspec decides, as for /api/show).
func (m *Model) run(ctx context.Context, c model.Capability, texts []string, query *string, truncate bool) ([][]float32, int, error) {
	if !slices.Contains(m.spec.Capabilities(), c) {
		return nil, 0, &engine.CapabilityError{Capability: string(c)}
	}
	encs, tokens, err := m.encode(texts, query, truncate)
	if err != nil {
		return nil, 0, err
	}
	rows, err := m.infer(ctx, encs)
	if err != nil {
		return nil, 0, err
	}
	return rows, tokens, nil
}

// Labels returns the class names of a classification model, in logit order.
func (m *Model) Labels() []string { return slices.Clone(m.spec.Labels) }

// Close stops the batcher (queued requests fail with ErrModelClosed), frees the session and removes the
// model's folder of links.
func (m *Model) Close() error {
	m.closeOnce.Do(func() {
		m.batcher.Close(ErrModelClosed)
		m.closeErr = m.sess.close()
		if m.tmpDir != "" {
			os.RemoveAll(m.tmpDir)
		}
	})
	return m.closeErr
}

// Embed returns one vector per input (L2-normalised when the model's config asks for it) and the number
// of tokens read.
func (m *Model) Embed(ctx context.Context, inputs []string, truncate bool) ([][]float32, int, error) {
	rows, tokens, err := m.run(ctx, model.CapabilityEmbedding, inputs, nil, truncate)
	if err != nil {
		return nil, 0, err
	}
	if m.spec.Normalize {
		for _, r := range rows {
			Normalize(r)
		}
	}
	return rows, tokens, nil
}

// Classify returns, per input, every label with its probability, highest first: a softmax over the
// labels, or one sigmoid per label for a multi-label model.
func (m *Model) Classify(ctx context.Context, inputs []string, truncate bool) ([][]engine.LabelScore, int, error) {
	rows, tokens, err := m.run(ctx, hapi.CapabilityClassification, inputs, nil, truncate)
	if err != nil {
		return nil, 0, err
	}
	out := make([][]engine.LabelScore, len(rows))
	for i, logits := range rows {
		if len(logits) != len(m.spec.Labels) {
			return nil, 0, fmt.Errorf("the model output %d logits for %d labels", len(logits), len(m.spec.Labels))
		}
		probs := make([]float32, len(logits))
		if m.spec.MultiLabel {
			for k, x := range logits {
				probs[k] = sigmoid(x)
			}
		} else {
			probs = softmax(logits)
		}
		scores := make([]engine.LabelScore, len(probs))
		for k, p := range probs {
			scores[k] = engine.LabelScore{Label: m.spec.Labels[k], Score: p}
		}
		slices.SortStableFunc(scores, func(a, b engine.LabelScore) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
		out[i] = scores
	}
	return out, tokens, nil
}

// Rerank scores each document's relevance to query, in document order: the cross-encoder reads
// "[CLS] query [SEP] document [SEP]" and its logit goes through a sigmoid (sentence-transformers'
// CrossEncoder default), so scores lie in (0, 1). Over the model's length the longer of query and document
// is cut first.
func (m *Model) Rerank(ctx context.Context, query string, documents []string, truncate bool) ([]float32, int, error) {
	rows, tokens, err := m.run(ctx, hapi.CapabilityRerank, documents, &query, truncate)
	if err != nil {
		return nil, 0, err
	}
	scores := make([]float32, len(rows))
	for i, r := range rows {
		if len(r) == 0 {
			return nil, 0, errors.New("the model output no logit")
		}
		// A two-label head scores relevance as the last label's probability.
		if len(r) == 2 {
			scores[i] = softmax(r)[1]
		} else {
			scores[i] = sigmoid(r[0])
		}
	}
	return scores, tokens, nil
}

// encode tokenizes every input, as (query, input) pairs when query is set, and counts the tokens.
func (m *Model) encode(inputs []string, query *string, truncate bool) ([]batch.Seq, int, error) {
	encs := make([]batch.Seq, len(inputs))
	tokens := 0
	for i, in := range inputs {
		var err error
		if query != nil {
			encs[i], err = m.tok.encodePair(*query, &in, truncate)
		} else {
			encs[i], err = m.tok.encode(in, truncate)
		}
		if err != nil {
			return nil, 0, err
		}
		tokens += len(encs[i].IDs)
	}
	return encs, tokens, nil
}

// infer runs the encodings through the batcher and returns their rows of output.
func (m *Model) infer(ctx context.Context, encs []batch.Seq) ([][]float32, error) {
	rows, err := m.batcher.Do(ctx, encs)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if !finite(r) {
			return nil, errors.New("the model output NaN or Inf values")
		}
	}
	return rows, nil
}

// runBatch pads a batch to its longest sequence, runs the session and sets each job's row: the pooled
// vector of an embedding model, the logits of a classifier.
func (m *Model) runBatch(jobs []*batch.Job) error {
	n, length := len(jobs), 0
	for _, j := range jobs {
		length = max(length, len(j.IDs))
	}
	in := &batchInput{
		n:      n,
		length: length,
		ids:    make([]int64, n*length),
		mask:   make([]int64, n*length),
		typeID: make([]int64, n*length),
	}
	for r, j := range jobs {
		row := r * length
		for t := range length {
			if t < len(j.IDs) {
				in.ids[row+t], in.mask[row+t] = j.IDs[t], 1
				if t < len(j.TypeIDs) {
					in.typeID[row+t] = j.TypeIDs[t]
				}
			} else {
				in.ids[row+t] = m.padID
			}
		}
	}
	m.calls.Add(1)
	out, shape, err := m.sess.run(in)
	if err != nil {
		return err
	}
	switch {
	case len(shape) == 3 && shape[0] == int64(n) && shape[1] == int64(length):
		hidden := int(shape[2])
		for r, j := range jobs {
			if m.spec.Pooling == "cls" {
				j.Out = clsPool(out, length, hidden, r)
			} else {
				j.Out = meanPool(out, length, hidden, r, len(j.IDs))
			}
		}
	case len(shape) == 2 && shape[0] == int64(n):
		width := int(shape[1])
		for r, j := range jobs {
			j.Out = slices.Clone(out[r*width : (r+1)*width])
		}
	default:
		return fmt.Errorf("the graph's output %q has shape %v for a batch of %d × %d tokens", m.sess.output, shape, n, length)
	}
	return nil
}
