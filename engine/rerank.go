package engine

import (
	"cmp"
	"context"
	"slices"
	"time"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/registry"
)

// Rerank serves /api/rerank and /v1/rerank: every document scored against the query, most relevant first
// (ties keep document order), the req.TopN best when set, each with its index in req.Documents and, when
// asked, its text. No documents loads the model and returns no results.
func (p *Pipeline) Rerank(ctx context.Context, m *registry.Model, req *hapi.RerankRequest) (*hapi.RerankResponse, error) {
	start := time.Now()
	if req.TopN < 0 {
		return nil, badRequest("top_n must not be negative")
	}
	if req.Query == "" && len(req.Documents) > 0 {
		return nil, badRequest("query is required")
	}
	var scores []float32
	var tokens int
	call := encodeCall{name: req.Model, capability: CapabilityRerank, keepAlive: req.KeepAlive, loadOnly: len(req.Documents) == 0}
	loaded, err := encode(ctx, p, m, call, func(r Reranker) (err error) {
		scores, tokens, err = r.Rerank(ctx, req.Query, req.Documents, truncating(req.Truncate))
		return err
	})
	if err != nil {
		return nil, err
	}
	resp := &hapi.RerankResponse{Model: req.Model, Results: []hapi.RerankResult{}}
	if len(req.Documents) == 0 {
		return resp, nil
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
