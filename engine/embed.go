package engine

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/ollama/ollama/api"

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

// Embed serves /api/embed: every input embedded (the runner batches them with other requests' inputs),
// L2-normalised, then cut to req.Dimensions and normalised again when 0 < dimensions < length. Empty
// input loads the model and returns no embeddings.
func (p *Pipeline) Embed(ctx context.Context, m *registry.Model, req *api.EmbedRequest) (*api.EmbedResponse, error) {
	start := time.Now()
	inputs, err := Inputs(req.Input)
	if err != nil {
		return nil, err
	}
	var vecs [][]float32
	var tokens int
	call := encodeCall{name: req.Model, capability: CapabilityEmbedding, options: req.Options, keepAlive: req.KeepAlive, loadOnly: len(inputs) == 0}
	loaded, err := encode(ctx, p, m, call, func(e Embedder) (err error) {
		vecs, tokens, err = e.Embed(ctx, inputs, truncating(req.Truncate))
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return &api.EmbedResponse{Model: req.Model, Embeddings: [][]float32{}}, nil
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
func (p *Pipeline) Embeddings(ctx context.Context, m *registry.Model, req *api.EmbeddingRequest) (*api.EmbeddingResponse, error) {
	var vecs [][]float32
	call := encodeCall{name: req.Model, capability: CapabilityEmbedding, options: req.Options, keepAlive: req.KeepAlive, loadOnly: req.Prompt == ""}
	_, err := encode(ctx, p, m, call, func(e Embedder) (err error) {
		vecs, _, err = e.Embed(ctx, []string{req.Prompt}, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if req.Prompt == "" {
		return &api.EmbeddingResponse{Embedding: []float64{}}, nil
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
