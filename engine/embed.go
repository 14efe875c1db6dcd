package engine

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/registry"
)

// errInvalidInput is Ollama's answer to an input that is neither a string nor an array of strings.
var errInvalidInput = &RequestError{Msg: "invalid input type"}

// Inputs reads an "input" field the way Ollama's /api/embed does: a string is one input (an empty string
// none), an array must hold only strings, null or absent is no input; anything else is an
// "invalid input type" *RequestError.
func Inputs(v any) ([]string, error) {
	switch in := v.(type) {
	case nil:
		return nil, nil
	case string:
		if in == "" {
			return nil, nil
		}
		return []string{in}, nil
	case []string:
		return in, nil
	case []any:
		out := make([]string, len(in))
		for i, item := range in {
			s, ok := item.(string)
			if !ok {
				return nil, errInvalidInput
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, errInvalidInput
}

// require refuses, before anything loads, a request for a capability m lacks. A model whose files cannot
// be read is left for the load to report.
func (s *Scheduler) require(m *registry.Model, name, capability string) error {
	f, err := s.facts.Of(m)
	if err != nil {
		return err
	}
	if f.FilesErr != nil || f.Has(model.Capability(capability)) {
		return nil
	}
	return &CapabilityError{Model: name, Capability: capability}
}

// named fills in the model name of a CapabilityError raised by a runner.
func named(err error, name string) error {
	var ce *CapabilityError
	if errors.As(err, &ce) && ce.Model == "" {
		return &CapabilityError{Model: name, Capability: ce.Capability}
	}
	return err
}

// truncating reads a request's truncate flag: absent means true.
func truncating(t *bool) bool { return t == nil || *t }

// Embed serves /api/embed: every input embedded (the runner batches them with other requests' inputs),
// L2-normalised, then cut to req.Dimensions and normalised again when 0 < dimensions < length. Empty
// input loads the model and returns no embeddings.
func (s *Scheduler) Embed(ctx context.Context, m *registry.Model, req *api.EmbedRequest) (*api.EmbedResponse, error) {
	start := time.Now()
	inputs, err := Inputs(req.Input)
	if err != nil {
		return nil, err
	}
	if err := s.require(m, req.Model, CapabilityEmbedding); err != nil {
		return nil, err
	}
	opts, err := s.Options(m, req.Options)
	if err != nil {
		return nil, err
	}
	lease, err := s.Acquire(ctx, m, s.loadConfig(opts), s.keepAlive(m, req.KeepAlive))
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	loaded := time.Now()
	if len(inputs) == 0 {
		return &api.EmbedResponse{Model: req.Model, Embeddings: [][]float32{}}, nil
	}
	emb, ok := lease.Runner.(Embedder)
	if !ok {
		return nil, &CapabilityError{Model: req.Model, Capability: CapabilityEmbedding}
	}
	vecs, tokens, err := emb.Embed(ctx, inputs, truncating(req.Truncate))
	if err != nil {
		return nil, named(err, req.Model)
	}
	for i, v := range vecs {
		if vecs[i], err = normalize(v); err != nil {
			return nil, err
		}
		if req.Dimensions > 0 && req.Dimensions < len(v) {
			if vecs[i], err = normalize(vecs[i][:req.Dimensions]); err != nil {
				return nil, err
			}
		}
	}
	return &api.EmbedResponse{
		Model:           req.Model,
		Embeddings:      vecs,
		TotalDuration:   time.Since(start),
		LoadDuration:    loaded.Sub(start),
		PromptEvalCount: tokens,
	}, nil
}

// Embeddings serves the legacy /api/embeddings: one prompt, the vector as the model outputs it (not
// normalised by the server), widened to float64. An empty prompt loads the model.
func (s *Scheduler) Embeddings(ctx context.Context, m *registry.Model, req *api.EmbeddingRequest) (*api.EmbeddingResponse, error) {
	if err := s.require(m, req.Model, CapabilityEmbedding); err != nil {
		return nil, err
	}
	opts, err := s.Options(m, req.Options)
	if err != nil {
		return nil, err
	}
	lease, err := s.Acquire(ctx, m, s.loadConfig(opts), s.keepAlive(m, req.KeepAlive))
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	if req.Prompt == "" {
		return &api.EmbeddingResponse{Embedding: []float64{}}, nil
	}
	emb, ok := lease.Runner.(Embedder)
	if !ok {
		return nil, &CapabilityError{Model: req.Model, Capability: CapabilityEmbedding}
	}
	vecs, _, err := emb.Embed(ctx, []string{req.Prompt}, true)
	if err != nil {
		return nil, named(err, req.Model)
	}
	out := make([]float64, len(vecs[0]))
	for i, x := range vecs[0] {
		out[i] = float64(x)
	}
	return &api.EmbeddingResponse{Embedding: out}, nil
}

// normalize scales v to unit L2 norm in place, refusing NaN and Inf as Ollama does.
func normalize(v []float32) ([]float32, error) {
	var sum float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, errors.New("embedding contains NaN or Inf values")
		}
		sum += float64(x) * float64(x)
	}
	inv := 1 / max(math.Sqrt(sum), 1e-12)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return v, nil
}

// widen converts a float32 score to the float64 with the same shortest decimal form, so JSON shows
// 0.3538841 rather than 0.35388410091400146.
func widen(x float32) float64 {
	f, err := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	if err != nil {
		return float64(x)
	}
	return f
}

// Classify serves /api/classify: per input, the labels with their probabilities, highest first, the
// req.TopK best when set. Empty input loads the model and returns no results.
func (s *Scheduler) Classify(ctx context.Context, m *registry.Model, req *hapi.ClassifyRequest) (*hapi.ClassifyResponse, error) {
	start := time.Now()
	inputs, err := Inputs(req.Input)
	if err != nil {
		return nil, err
	}
	if req.TopK < 0 {
		return nil, badRequest("top_k must not be negative")
	}
	if err := s.require(m, req.Model, CapabilityClassification); err != nil {
		return nil, err
	}
	opts, err := s.Options(m, nil)
	if err != nil {
		return nil, err
	}
	lease, err := s.Acquire(ctx, m, s.loadConfig(opts), s.keepAlive(m, req.KeepAlive))
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	loaded := time.Now()
	resp := &hapi.ClassifyResponse{Model: req.Model, Results: [][]hapi.LabelScore{}}
	if len(inputs) == 0 {
		return resp, nil
	}
	cls, ok := lease.Runner.(Classifier)
	if !ok {
		return nil, &CapabilityError{Model: req.Model, Capability: CapabilityClassification}
	}
	results, tokens, err := cls.Classify(ctx, inputs, truncating(req.Truncate))
	if err != nil {
		return nil, named(err, req.Model)
	}
	for _, labels := range results {
		if req.TopK > 0 && req.TopK < len(labels) {
			labels = labels[:req.TopK]
		}
		row := make([]hapi.LabelScore, len(labels))
		for i, l := range labels {
			row[i] = hapi.LabelScore{Label: l.Label, Score: widen(l.Score)}
		}
		resp.Results = append(resp.Results, row)
	}
	resp.TotalDuration, resp.LoadDuration, resp.PromptEvalCount = time.Since(start), loaded.Sub(start), tokens
	return resp, nil
}

// Rerank serves /api/rerank and /v1/rerank: every document scored against the query, most relevant first
// (ties keep document order), the req.TopN best when set, each with its index in req.Documents and, when
// asked, its text. No documents loads the model and returns no results.
func (s *Scheduler) Rerank(ctx context.Context, m *registry.Model, req *hapi.RerankRequest) (*hapi.RerankResponse, error) {
	start := time.Now()
	if req.TopN < 0 {
		return nil, badRequest("top_n must not be negative")
	}
	if req.Query == "" && len(req.Documents) > 0 {
		return nil, badRequest("query is required")
	}
	if err := s.require(m, req.Model, CapabilityRerank); err != nil {
		return nil, err
	}
	opts, err := s.Options(m, nil)
	if err != nil {
		return nil, err
	}
	lease, err := s.Acquire(ctx, m, s.loadConfig(opts), s.keepAlive(m, req.KeepAlive))
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	loaded := time.Now()
	resp := &hapi.RerankResponse{Model: req.Model, Results: []hapi.RerankResult{}}
	if len(req.Documents) == 0 {
		return resp, nil
	}
	rr, ok := lease.Runner.(Reranker)
	if !ok {
		return nil, &CapabilityError{Model: req.Model, Capability: CapabilityRerank}
	}
	scores, tokens, err := rr.Rerank(ctx, req.Query, req.Documents, truncating(req.Truncate))
	if err != nil {
		return nil, named(err, req.Model)
	}
	for i, sc := range scores {
		r := hapi.RerankResult{Index: i, RelevanceScore: widen(sc)}
		if req.ReturnDocuments {
			r.Document = &hapi.RerankDocument{Text: req.Documents[i]}
		}
		resp.Results = append(resp.Results, r)
	}
	slices.SortStableFunc(resp.Results, func(a, b hapi.RerankResult) int {
		return cmp.Compare(b.RelevanceScore, a.RelevanceScore)
	})
	if req.TopN > 0 && req.TopN < len(resp.Results) {
		resp.Results = resp.Results[:req.TopN]
	}
	resp.Usage = &hapi.RerankUsage{TotalTokens: tokens}
	resp.TotalDuration, resp.LoadDuration = time.Since(start), loaded.Sub(start)
	return resp, nil
}
