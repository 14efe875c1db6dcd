package engine

import (
	"context"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/model/parsers"
	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/thinking"
	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry"
)

// Generate serves an /api/generate request for the resolved model m, calling fn with each response chunk
// in order, the way api.Client.Generate hands them out. An error before the first call to fn means nothing
// was sent (*RequestError, ErrServerBusy, *LoadError, ...); an error after it ends the stream. An error
// from fn (the client went away) stops generation and is returned.
func (p *Pipeline) Generate(ctx context.Context, m *registry.Model, req *api.GenerateRequest, fn func(api.GenerateResponse) error) error {
	start := time.Now()
	// The checks below come in the order of Ollama's GenerateHandler (server/routes.go), so a request that
	// is wrong in several ways gets Ollama's error: unload, raw-mode conflicts, the think level, insert,
	// thinking, then the load.
	if req.Prompt == "" && req.KeepAlive != nil && req.KeepAlive.Duration == 0 {
		p.sched.Expire(m)
		return fn(api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: "unload"})
	}
	if req.Raw && (req.Template != "" || req.System != "" || len(req.Context) > 0) {
		return badRequest("raw mode does not support template, system, or context")
	}
	facts, err := p.facts.Of(m)
	if err != nil {
		return err
	}
	// Ollama readies the output parser here, with the think value as the client sent it: before thinking
	// defaults to on below.
	parserThink := req.Think
	if err := thinkString(req.Think, facts.Parser); err != nil {
		return err
	}
	if req.Suffix != "" && !facts.Has(model.CapabilityInsert) {
		return badRequest("%s does not support insert", m.Name.String())
	}
	if req.Think, err = defaultThink(facts, req.Think, req.Model); err != nil {
		return err
	}
	// hearth's own check, after Ollama's: the format must be one a grammar can be made of (Ollama finds out
	// in its runner). Images for a model without vision are no error: the prompt tags them and the model
	// reads the tags as text, as with Ollama (chatPrompt).
	format, err := CheckFormat(req.Format)
	if err != nil {
		return err
	}
	truncate := req.Truncate == nil || *req.Truncate
	return p.complete(ctx, &completion{
		name: req.Model, model: m, facts: facts, start: start,
		options: req.Options, keepAlive: req.KeepAlive, format: format,
		shift: req.Shift == nil || *req.Shift, truncate: truncate,
		logprob: req.Logprobs, topLogprobs: req.TopLogprobs, debugRenderOnly: req.DebugRenderOnly,
		route: &generateRoute{req: req, m: m, facts: facts, fn: fn, parserThink: parserThink, truncate: truncate},
	})
}

// generateRoute shapes a completion as /api/generate replies: the response text (split into thinking and
// response by the model's parser), and on the last chunk the metrics and the context tokens.
type generateRoute struct {
	req         *api.GenerateRequest
	m           *registry.Model
	facts       *modelfacts.Facts
	fn          func(api.GenerateResponse) error
	parserThink *api.ThinkValue
	truncate    bool

	gen     Generator
	images  []Image
	text    string // the prompt, for the context of the last chunk
	all     strings.Builder
	builtin parsers.Parser
	thinker *thinking.Parser
}

func (r *generateRoute) name() string   { return "generate" }
func (r *generateRoute) loadOnly() bool { return r.req.Prompt == "" }

func (r *generateRoute) loaded() error {
	return r.fn(api.GenerateResponse{Model: r.req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: "load"})
}

func (r *generateRoute) prompt(gen Generator, opts api.Options) (string, []Image, error) {
	r.gen = gen
	prompt, images, err := generatePrompt(r.m, r.facts.Template, gen, r.req, opts.NumCtx, r.truncate)
	r.images = images
	return prompt, images, err
}

func (r *generateRoute) debug(prompt string) error {
	return r.fn(api.GenerateResponse{Model: r.req.Model, CreatedAt: time.Now().UTC(),
		DebugInfo: &api.DebugInfo{RenderedTemplate: prompt, ImageCount: len(r.images)}})
}

func (r *generateRoute) begin(prompt string) error {
	r.text = prompt
	if !r.req.Raw && r.facts.Parser != "" {
		if r.builtin = parsers.ParserForName(r.facts.Parser); r.builtin != nil {
			// No tools and no last message on the generate route, as in Ollama.
			r.builtin.Init(nil, nil, r.parserThink)
		}
	}
	r.thinker = thinkingParserFor(r.builtin, r.facts.ThinkOpen, r.facts.ThinkClose, r.req.Think, prompt)
	return nil
}

func (r *generateRoute) send(c Chunk, m api.Metrics) error {
	res := api.GenerateResponse{
		Model: r.req.Model, CreatedAt: time.Now().UTC(), Response: c.Text, Done: c.Done, Logprobs: c.Logprobs,
	}
	r.all.WriteString(c.Text)
	if c.Done {
		res.DoneReason = c.DoneReason
		res.Metrics = m
		if !r.req.Raw {
			var err error
			if res.Context, err = r.gen.Tokenize(r.text + r.all.String()); err != nil {
				return err
			}
		}
	}
	switch {
	case r.builtin != nil:
		content, thought, calls, err := r.builtin.Add(c.Text, c.Done)
		if err != nil {
			return err
		}
		res.Response, res.Thinking = content, thought
		if c.Done && len(calls) > 0 {
			res.ToolCalls = calls
		}
		if res.Response == "" && res.Thinking == "" && !res.Done && len(res.ToolCalls) == 0 {
			return nil
		}
	case r.thinker != nil:
		res.Thinking, res.Response = r.thinker.AddContent(c.Text)
	}
	return r.fn(res)
}

// generatePrompt renders a generate request's prompt as Ollama does: raw prompts as given; a custom
// template or a suffix through the legacy template path; otherwise as a chat of the system prompt, the
// model's messages and the user's prompt, after the detokenized context of an earlier reply. The images
// come numbered as the prompt's [img-N] tags: by chatPrompt on the chat path, else by their place in the
// request (the client writes the tags).
func generatePrompt(m *registry.Model, tmpl *template.Template, gen Generator, req *api.GenerateRequest, numCtx int, truncate bool) (string, []Image, error) {
	images := requestImages(req.Images)
	if req.Raw {
		return req.Prompt, images, nil
	}
	if req.Template != "" {
		t, err := template.Parse(req.Template)
		if err != nil {
			return "", nil, badRequest("invalid template: %v", err)
		}
		tmpl = t
	}
	var b strings.Builder
	if req.Context != nil {
		ctxText, err := gen.Detokenize(req.Context)
		if err != nil {
			return "", nil, &RequestError{Msg: "invalid context: " + err.Error()}
		}
		b.WriteString(ctxText)
	}
	var values template.Values
	if req.Suffix != "" {
		values.Prompt, values.Suffix = req.Prompt, req.Suffix
	} else {
		var msgs []api.Message
		if req.System != "" {
			msgs = append(msgs, api.Message{Role: "system", Content: req.System})
		} else if m.System != "" {
			msgs = append(msgs, api.Message{Role: "system", Content: m.System})
		}
		if req.Context == nil {
			msgs = append(msgs, m.Messages...)
		}
		msgs = append(msgs, api.Message{Role: "user", Content: req.Prompt, Images: req.Images})
		values.Messages = msgs
	}
	if req.Think != nil {
		values.Think, values.ThinkLevel, values.IsThinkSet = req.Think.Bool(), req.Think.String(), true
	}
	if values.Messages != nil && req.Template == "" {
		p, images, err := chatPrompt(m, tmpl, gen.Tokenize, numCtx, values.Messages, nil, req.Think, truncate)
		if err != nil {
			return "", nil, err
		}
		b.WriteString(p)
		return b.String(), images, nil
	}
	if err := tmpl.Execute(&b, values); err != nil {
		return "", nil, badRequest("template error: %v", err)
	}
	return b.String(), images, nil
}
