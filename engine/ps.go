package engine

import (
	"cmp"
	"slices"

	"github.com/ollama/ollama/api"
)

// Loaded lists the loaded models as /api/ps reports them, the one expiring last first. A model still
// loading, or in use, shows now + its keep-alive. Its size is what the runner reports resident, or the
// estimate made before loading while it loads or where the runner cannot tell.
func (s *Scheduler) Loaded() []api.ProcessModelResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := []api.ProcessModelResponse{}
	for _, lm := range s.loaded {
		m := lm.model
		details := m.Details()
		// Ollama's /api/ps builds the details from the model's config alone (server/routes.go PsHandler),
		// so parent_model is always empty there; /api/show is where a client reads it.
		details.ParentModel = ""
		r := api.ProcessModelResponse{
			Name:          m.ShortName,
			Model:         m.ShortName,
			Size:          lm.estimate.Total(),
			Digest:        m.Digest,
			Details:       details,
			ExpiresAt:     lm.expiresAt,
			ContextLength: lm.cfg.NumCtx,
		}
		if lm.runner != nil {
			r.ContextLength = lm.runner.ContextLength()
			if mr, ok := lm.runner.(MemoryReporter); ok {
				if n := mr.Resident(); n > 0 {
					r.Size = n
				}
			}
		}
		if r.ExpiresAt.IsZero() {
			r.ExpiresAt = now.Add(lm.keepAlive)
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b api.ProcessModelResponse) int {
		return cmp.Compare(b.ExpiresAt.Unix(), a.ExpiresAt.Unix())
	})
	return out
}
