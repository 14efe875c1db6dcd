// Package api holds hearth's own wire types: the requests and responses of the routes Ollama lacks
// (/api/classify, /api/rerank, /v1/rerank). Every route Ollama has uses Ollama's own types from
// github.com/ollama/ollama/api, so clients and server share one definition.
package api

import (
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// Capabilities hearth's models can have beyond Ollama's (completion, embedding, tools, insert, vision,
// thinking), as /api/show lists them.
const (
	// CapabilityClassification is a sequence classifier: /api/classify answers labels with scores.
	CapabilityClassification = model.Capability("classification")
	// CapabilityRerank is a cross-encoder or a RANK-pooling GGUF: /api/rerank scores documents.
	CapabilityRerank = model.Capability("rerank")
)

// ClassifyRequest is the body of POST /api/classify.
type ClassifyRequest struct {
	// Model names a model with the classification capability.
	Model string `json:"model"`
	// Input is one string or an array of strings.
	Input any `json:"input"`
	// TopK keeps the k highest-scoring labels per input; 0 keeps all.
	TopK int `json:"top_k,omitempty"`
	// Truncate cuts inputs longer than the model's context (default true); false makes them an error.
	Truncate *bool `json:"truncate,omitempty"`
	// KeepAlive overrides how long the model stays loaded after this request.
	KeepAlive *ollama.Duration `json:"keep_alive,omitempty"`
}

// LabelScore is one label's probability for one input.
type LabelScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// ClassifyResponse answers POST /api/classify: one list of labels per input, highest score first.
type ClassifyResponse struct {
	Model           string         `json:"model"`
	Results         [][]LabelScore `json:"results"`
	TotalDuration   time.Duration  `json:"total_duration,omitempty"`
	LoadDuration    time.Duration  `json:"load_duration,omitempty"`
	PromptEvalCount int            `json:"prompt_eval_count,omitempty"`
}

// RerankRequest is the body of POST /api/rerank and POST /v1/rerank (the llama.cpp, Jina and Cohere shape).
type RerankRequest struct {
	Model     string   `json:"model"`
	Query     string   `json:"query"`
	Documents []string `json:"documents"`
	// TopN keeps the n most relevant documents; 0 keeps all.
	TopN int `json:"top_n,omitempty"`
	// ReturnDocuments echoes each document's text in its result.
	ReturnDocuments bool             `json:"return_documents,omitempty"`
	Truncate        *bool            `json:"truncate,omitempty"`
	KeepAlive       *ollama.Duration `json:"keep_alive,omitempty"`
}

// RerankDocument carries a document's text when the request asked for it.
type RerankDocument struct {
	Text string `json:"text"`
}

// RerankResult is one document's relevance; Index points into the request's documents.
type RerankResult struct {
	Index          int             `json:"index"`
	RelevanceScore float64         `json:"relevance_score"`
	Document       *RerankDocument `json:"document,omitempty"`
}

// RerankResponse answers a rerank request, most relevant first.
type RerankResponse struct {
	Model   string         `json:"model"`
	Results []RerankResult `json:"results"`
	Usage   *RerankUsage   `json:"usage,omitempty"`
	// Durations in nanoseconds, as on Ollama's native routes.
	TotalDuration time.Duration `json:"total_duration,omitempty"`
	LoadDuration  time.Duration `json:"load_duration,omitempty"`
}

// RerankUsage counts the tokens a rerank request evaluated.
type RerankUsage struct {
	TotalTokens int `json:"total_tokens"`
}
