package engine

import (
	"context"
	"strconv"
	"time"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/registry"
)

// Classify serves /api/classify: per input, the labels with their probabilities, highest first, the
// req.TopK best when set. Empty input loads the model and returns no results.
func (p *Pipeline) Classify(ctx context.Context, m *registry.Model, req *hapi.ClassifyRequest) (*hapi.ClassifyResponse, error) {
	start := time.Now()
	inputs, err := Inputs(req.Input)
	if err != nil {
		return nil, err
	}
	if req.TopK < 0 {
		return nil, badRequest("top_k must not be negative")
	}
	var results [][]LabelScore
	var tokens int
	call := encodeCall{name: req.Model, capability: CapabilityClassification, keepAlive: req.KeepAlive, loadOnly: len(inputs) == 0}
	loaded, err := encode(ctx, p, m, call, func(c Classifier) (err error) {
		results, tokens, err = c.Classify(ctx, inputs, truncating(req.Truncate))
		return err
	})
	if err != nil {
		return nil, err
	}
	resp := &hapi.ClassifyResponse{Model: req.Model, Results: [][]hapi.LabelScore{}}
	if len(inputs) == 0 {
		return resp, nil
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

// widen converts a float32 score to the float64 with the same shortest decimal form, so JSON shows
// 0.3538841 rather than 0.35388410091400146.
func widen(x float32) float64 {
	f, err := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	if err != nil {
		return float64(x)
	}
	return f
}
