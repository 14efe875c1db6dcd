// Package engine runs models for the HTTP layer: the backend interfaces every inference engine implements
// (llama.cpp for GGUF in engine/llama, ONNX Runtime for encoders), the Scheduler that loads, keeps and evicts
// models the way Ollama's scheduler does, and the request shaping that turns an Ollama generate or chat
// request into a prompt and the engine's output back into Ollama's response chunks. It knows nothing of HTTP:
// handlers map its typed errors to status codes.
package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/registry"
)

// Backend loads the models of the formats it understands. The Scheduler asks each configured backend in
// turn whether it runs a model, estimates its memory before loading, and keeps what Load returns.
type Backend interface {
	// Name identifies the backend in logs, e.g. "llama".
	Name() string
	// Supports reports whether the backend runs m.
	Supports(m *registry.Model) bool
	// Estimate returns the memory m would occupy when loaded with cfg, before loading it, or an error
	// that describes why the model or cfg cannot be loaded at all (a malformed file, say).
	Estimate(m *registry.Model, cfg LoadConfig) (Estimate, error)
	// Load loads m with cfg. The Runner is owned by the caller, who closes it.
	Load(ctx context.Context, m *registry.Model, cfg LoadConfig) (Runner, error)
}

// LoadConfig holds the options that are fixed when a model loads; a request that asks for different values
// reloads the model. It is comparable, so the Scheduler compares configs with ==.
type LoadConfig struct {
	// NumCtx is the context length of each parallel sequence, in tokens.
	NumCtx int
	// NumBatch is the largest number of tokens evaluated in one step.
	NumBatch int
	// NumThread is the number of CPU threads; 0 picks one per physical core.
	NumThread int
	// NumGPU is the number of layers to offload (-1 automatic).
	NumGPU int
	// MainGPU selects the GPU holding small tensors.
	MainGPU int
	// UseMMap maps the weights instead of reading them: 0 automatic, 1 on, -1 off.
	UseMMap int
	// Parallel is the number of sequences decoded together.
	Parallel int
	// KVCacheType is the KV cache element type: "" or "f16", "q8_0", "q4_0".
	KVCacheType string
	// FlashAttention enables flash attention where the backend supports it.
	FlashAttention bool
}

// Estimate is a backend's forecast of a loaded model's memory use, in bytes.
type Estimate struct {
	// Weights is the memory the weights take.
	Weights int64
	// KV is the memory of the KV cache: one pool of cells that the parallel sequences share.
	KV int64
	// Compute is the memory of the compute buffers.
	Compute int64
}

// Total is the sum of the parts.
func (e Estimate) Total() int64 { return e.Weights + e.KV + e.Compute }

// Runner is a loaded model.
type Runner interface {
	// ContextLength is the context length each sequence gets, in tokens.
	ContextLength() int
	// Close frees the model; it waits for the runner's goroutines to stop. Requests in flight end with an
	// error.
	Close() error
}

// MemoryReporter is a Runner that knows the memory its model keeps resident now, in bytes (0 when it
// cannot tell); /api/ps reports it as the model's size instead of the estimate made before loading.
type MemoryReporter interface {
	Resident() int64
}

// Generator is a Runner that completes text.
type Generator interface {
	Runner
	// Tokenize turns text into tokens, adding the model's BOS token where the model wants one and parsing
	// special tokens written in the text.
	Tokenize(text string) ([]int, error)
	// Detokenize turns tokens back into text.
	Detokenize(tokens []int) (string, error)
	// Generate starts a completion. Errors found before generation starts (a prompt too long, a grammar
	// that does not compile) are returned directly; later ones arrive as the final Chunk's Err. The channel
	// is closed after the chunk with Done set. Cancelling ctx ends the sequence and frees its slot at the
	// next step.
	Generate(ctx context.Context, req GenerateRequest) (<-chan Chunk, error)
}

// Embedder is a Runner that turns inputs into vectors.
type Embedder interface {
	Runner
	// Embed returns one vector per input and the total number of input tokens.
	Embed(ctx context.Context, inputs []string, truncate bool) ([][]float32, int, error)
}

// GenerateRequest is one completion for a Generator.
type GenerateRequest struct {
	// Prompt is the fully rendered prompt text.
	Prompt string
	// Options carries sampling (temperature, top_k, ...), stop, num_predict, num_keep and seed.
	Options api.Options
	// Format constrains the output: "json" or a JSON schema, checked by CheckFormat (nil for none).
	Format json.RawMessage
	// Grammar is a GBNF grammar constraining the output, used instead of Format when set.
	Grammar string
	// Shift lets a sequence that fills its context drop old tokens and go on; without it the sequence
	// ends with DoneReason "length".
	Shift bool
	// Truncate drops the middle of a prompt longer than the context; without it such a prompt is an
	// ErrInputTooLong.
	Truncate bool
	// Logprobs asks for the log probability of each generated token.
	Logprobs bool
	// TopLogprobs is how many alternatives to report per token (0–20).
	TopLogprobs int
	// Images are the request's images, each numbered as its [img-N] tag in Prompt. Only an ImageReader
	// that reads images gets any.
	Images []Image
}

// Image is one image of a prompt: the bytes as the client sent them (PNG, JPEG, WebP, ...), and the N of
// the prompt's [img-N] tag that marks its place.
type Image struct {
	ID   int
	Data []byte
}

// ImageReader is a Generator that may read images: ReadsImages reports whether the loaded model turns
// GenerateRequest.Images into its input (a vision tower in the model); otherwise the images are ignored and
// their tags read as text.
type ImageReader interface {
	Generator
	ReadsImages() bool
}

// Chunk is one piece of a completion.
type Chunk struct {
	// Text is the next piece of output: valid UTF-8, never part of a stop string.
	Text string
	// Logprobs holds one entry per generated token behind Text, when asked for.
	Logprobs []api.Logprob
	// Done marks the last chunk; the fields below are set on it only.
	Done bool
	// DoneReason is "stop" (end token or stop string), "length" (num_predict or a full context) or ""
	// (the client went away).
	DoneReason string
	// PromptEvalCount is the number of prompt tokens, cached ones included.
	PromptEvalCount int
	// PromptEvalDuration is the time spent evaluating the prompt.
	PromptEvalDuration time.Duration
	// EvalCount is the number of generated tokens.
	EvalCount int
	// EvalDuration is the time spent generating.
	EvalDuration time.Duration
	// Err is a failure after generation started; the chunk is then the last.
	Err error
}
