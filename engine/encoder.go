package engine

import (
	"context"
	"fmt"

	"github.com/ollama/ollama/types/model"

	hapi "github.com/hearthlink/hearth/api"
)

// The capabilities a request can need, named as /api/show lists them (Ollama's types/model and hearth's
// api package define them), for CapabilityError.
const (
	CapabilityCompletion     = string(model.CapabilityCompletion)
	CapabilityEmbedding      = string(model.CapabilityEmbedding)
	CapabilityClassification = string(hapi.CapabilityClassification)
	CapabilityRerank         = string(hapi.CapabilityRerank)
)

// Classifier is a Runner that labels inputs.
type Classifier interface {
	Runner
	// Classify returns, per input, every label with its probability, highest first, and the total number
	// of input tokens.
	Classify(ctx context.Context, inputs []string, truncate bool) ([][]LabelScore, int, error)
}

// LabelScore is one label of a classification and its probability.
type LabelScore struct {
	// Label is the class name, from the model's config.
	Label string `json:"label"`
	// Score is the probability, between 0 and 1.
	Score float32 `json:"score"`
}

// Reranker is a Runner that scores documents against a query (a cross-encoder).
type Reranker interface {
	Runner
	// Rerank returns one relevance score per document, in document order (higher is more relevant), and
	// the total number of tokens read.
	Rerank(ctx context.Context, query string, documents []string, truncate bool) ([]float32, int, error)
}

// CapabilityError is a request for something the model does not do. It matches ErrBadRequest.
type CapabilityError struct {
	// Model is the model's name as the client gave it ("" when not known where the error arose).
	Model string
	// Capability is what was missing, e.g. CapabilityEmbedding.
	Capability string
}

// Error uses Ollama's wording: `"all-minilm" does not support embedding`.
func (e *CapabilityError) Error() string {
	if e.Model == "" {
		return "model does not support " + e.Capability
	}
	return fmt.Sprintf("%q does not support %s", e.Model, e.Capability)
}

// Is makes errors.Is(err, ErrBadRequest) true.
func (e *CapabilityError) Is(target error) bool { return target == ErrBadRequest }
