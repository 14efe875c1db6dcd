package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry"
)

// completion is a generate or chat request once its route has checked it: what the one completion path
// needs, and the route that shapes the prompt and the replies.
type completion struct {
	// name is the model as the client named it, for replies and errors.
	name  string
	model *registry.Model
	facts *modelfacts.Facts
	start time.Time

	options   map[string]any
	keepAlive *api.Duration
	// format is the checked format (CheckFormat), nil for none.
	format                   json.RawMessage
	shift, truncate, logprob bool
	topLogprobs              int
	debugRenderOnly          bool

	route completionRoute
}

// completionRoute is what generate and chat do differently once the model is loaded.
type completionRoute interface {
	// name is the route's verb in "<model> does not support <name>".
	name() string
	// loadOnly reports whether the request only asks for the model to be loaded (no prompt, no messages).
	loadOnly() bool
	// loaded answers a request that only loads the model.
	loaded() error
	// prompt renders the request's prompt for gen with the effective options, and returns the images its
	// [img-N] tags stand for.
	prompt(gen Generator, opts api.Options) (string, []Image, error)
	// debug answers a debug_render_only request with the rendered prompt, instead of generating.
	debug(prompt string) error
	// begin readies the output parsers for prompt; an error here still means nothing was generated.
	begin(prompt string) error
	// send shapes one chunk of the runner's output into the route's response and sends it, unless the
	// parsers hold it back; metrics are set on the last chunk.
	send(c Chunk, metrics api.Metrics) error
}

// complete is the one completion path: lease the model, answer a load-only request, render the prompt,
// generate, and hand each chunk to the route. An error before the route sent anything means nothing was
// sent; an error from the route's send (the client went away) stops generation and is returned.
func (p *Pipeline) complete(ctx context.Context, c *completion) error {
	lease, opts, err := p.acquire(ctx, c.model, c.options, c.keepAlive)
	if err != nil {
		return err
	}
	defer lease.Release()
	loaded := time.Now()
	if c.route.loadOnly() {
		return c.route.loaded()
	}
	gen, ok := lease.Runner.(Generator)
	if !ok {
		return badRequest("%q does not support %s", c.name, c.route.name())
	}
	if !hasStop(c.model, c.options) {
		opts.Stop = c.facts.Stops
	}
	prompt, images, err := c.route.prompt(gen, opts)
	if err != nil {
		return err
	}
	if c.debugRenderOnly {
		return c.route.debug(prompt)
	}
	if images, err = imagesFor(gen, c.facts, c.name, images); err != nil {
		return err
	}
	if err := c.route.begin(prompt); err != nil {
		return err
	}
	ch, err := gen.Generate(ctx, GenerateRequest{
		Prompt: prompt, Options: opts, Format: c.format,
		Shift: c.shift, Truncate: c.truncate,
		Logprobs: c.logprob, TopLogprobs: c.topLogprobs,
		Images: images,
	})
	if err != nil {
		return err
	}
	obs := newStreamObserver(c.model.ShortName, c.start)
	for chunk := range ch {
		if chunk.Err != nil {
			return chunk.Err
		}
		obs.chunk(chunk)
		var m api.Metrics
		if chunk.Done {
			m = metrics(chunk, c.start, loaded)
		}
		if err := c.route.send(chunk, m); err != nil {
			return err
		}
		if chunk.Done {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// imagesFor decides what becomes of a prompt's images: a runner that reads images gets them; a model
// without vision ignores them, as Ollama's runners do (their tags stay in the prompt as text); a vision
// model whose engine cannot read images yet is a request error rather than an answer that never saw them.
func imagesFor(gen Generator, facts *modelfacts.Facts, name string, images []Image) ([]Image, error) {
	if len(images) == 0 {
		return nil, nil
	}
	if r, ok := gen.(ImageReader); ok && r.ReadsImages() {
		return images, nil
	}
	if facts.Has(model.CapabilityVision) {
		return nil, badRequest("%s has a vision model, but the engine that runs it cannot read images yet", name)
	}
	return nil, nil
}

// hasStop reports whether the model or the request set stop strings.
func hasStop(m *registry.Model, requestOpts map[string]any) bool {
	_, a := m.Options["stop"]
	_, b := requestOpts["stop"]
	return a || b
}

// metrics builds a final chunk's durations and counts; load_duration runs from the request's start to the
// model being ready, queueing included, and is never 0.
func metrics(c Chunk, start, loaded time.Time) api.Metrics {
	return api.Metrics{
		TotalDuration:      time.Since(start),
		LoadDuration:       max(loaded.Sub(start), 1),
		PromptEvalCount:    c.PromptEvalCount,
		PromptEvalDuration: c.PromptEvalDuration,
		EvalCount:          c.EvalCount,
		EvalDuration:       c.EvalDuration,
	}
}

// defaultThink applies Ollama's thinking rules shared by generate and chat: unset on a model that can think
// means think; asking a model that cannot think to think is a 400.
func defaultThink(facts *modelfacts.Facts, think *api.ThinkValue, name string) (*api.ThinkValue, error) {
	if facts.Has(model.CapabilityThinking) {
		if think == nil {
			return &api.ThinkValue{Value: true}, nil
		}
		return think, nil
	}
	if think != nil && think.Bool() {
		return nil, badRequest("%q does not support thinking", name)
	}
	return think, nil
}

// thinkString refuses a think level ("high", ...) for a model whose output parser is not harmony, as
// Ollama does: only gpt-oss reads levels.
func thinkString(think *api.ThinkValue, parser string) error {
	if think != nil && think.IsString() && parser != "harmony" {
		return badRequest("think value %q is not supported for this model", think.String())
	}
	return nil
}
