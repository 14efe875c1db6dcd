package engine

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Handlers map them to status codes.
var (
	// ErrBadRequest marks every error caused by the request itself (a wrong option type, an invalid
	// format, a prompt too long): the client should change the request.
	ErrBadRequest = errors.New("bad request")
	// ErrServerBusy is a request refused because the queue of requests waiting for a model is full.
	ErrServerBusy = errors.New("server busy, please try again.  maximum pending requests exceeded")
	// ErrInputTooLong is a prompt longer than the context with truncation off. It matches ErrBadRequest.
	ErrInputTooLong = &RequestError{Msg: "the input length exceeds the context length"}
	// ErrTruncatedTooLong is an embedding input over the context with truncation on, where num_ctx leaves no
	// room for a single token between the model's special tokens (Ollama's wording). It matches
	// ErrBadRequest.
	ErrTruncatedTooLong = &RequestError{Msg: "input after truncation exceeds maximum context length"}
	// ErrEmbeddingsUnsupported is Ollama's answer when its Go engine's runner is asked to embed with a
	// generative model (runner/ollamarunner embeds only with a model that pools); handlers answer 501 as
	// Ollama's /api/embed does.
	ErrEmbeddingsUnsupported = errors.New("this model does not support embeddings")
	// ErrUnsupportedModel is a model no configured backend can run.
	ErrUnsupportedModel = errors.New("no engine can run this model")
	// ErrLoadTimeout is a model load that ran past OLLAMA_LOAD_TIMEOUT; it comes wrapped in a *LoadError.
	ErrLoadTimeout = errors.New("timed out waiting for the model to load")
	// ErrClosed is a request made after the scheduler shut down.
	ErrClosed = errors.New("server is shutting down")
)

// RequestError is an error in the request, with the message the client sees.
type RequestError struct {
	// Msg is the message for the client.
	Msg string
}

// Error returns the message.
func (e *RequestError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrBadRequest) true.
func (e *RequestError) Is(target error) bool { return target == ErrBadRequest }

// badRequest returns a *RequestError with a formatted message.
func badRequest(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// LoadError is a model that could not be loaded: a malformed file, a missing backend, too little memory.
type LoadError struct {
	// Model is the model's short name.
	Model string
	// Err is the cause.
	Err error
}

// Error names the model and the cause.
func (e *LoadError) Error() string { return fmt.Sprintf("failed to load model %s: %v", e.Model, e.Err) }

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// InsufficientMemoryError is a model that would not fit in memory even with every other model unloaded.
type InsufficientMemoryError struct {
	// Required is what the model needs, in bytes.
	Required int64
	// Available is the memory limit, in bytes.
	Available int64
}

// Error uses Ollama's wording.
func (e *InsufficientMemoryError) Error() string {
	return fmt.Sprintf("model requires more system memory (%s) than is available (%s)", humanBytes(e.Required), humanBytes(e.Available))
}

// humanBytes writes n in GiB or MiB with one decimal.
func humanBytes(n int64) string {
	const mib, gib = 1 << 20, 1 << 30
	if n >= gib {
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/mib)
}
