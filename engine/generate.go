package engine

import (
	"context"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/model/parsers"
	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/modelfacts"

	"github.com/hearthlink/hearth/registry"
)

// Generate serves an /api/generate request for the resolved model m, calling fn with each response chunk
// in order, the way api.Client.Generate hands them out. An error before the first call to fn means nothing
// was sent (*RequestError, ErrServerBusy, *LoadError, ...); an error after it ends the stream. An error
// from fn (the client went away) stops generation and is returned.
func (s *Scheduler) Generate(ctx context.Context, m *registry.Model, req *api.GenerateRequest, fn func(api.GenerateResponse) error) error {
	start := time.Now()
	if req.Prompt == "" && req.KeepAlive != nil && req.KeepAlive.Duration == 0 {
		s.Expire(m)
		return fn(api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: "unload"})
	}
	if req.Raw && (req.Template != "" || req.System != "" || len(req.Context) > 0) {
		return badRequest("raw mode does not support template, system, or context")
	}
	facts, err := s.facts.Of(m)
	if err != nil {
		return err
	}
	tmpl, defaultStops := facts.Template, facts.Stops
	parserName := facts.Parser
	var builtin parsers.Parser
	if !req.Raw && parserName != "" {
		if builtin = parsers.ParserForName(parserName); builtin != nil {
			builtin.Init(nil, nil, req.Think)
		}
	}
	if req.Think != nil && req.Think.IsString() && parserName != "harmony" {
		return badRequest("think value %q is not supported for this model", req.Think.String())
	}
	if req.Suffix != "" && !facts.Has(model.CapabilityInsert) {
		return badRequest("%s does not support insert", m.Name.String())
	}
	if req.Think, err = defaultThink(facts, req.Think, req.Model); err != nil {
		return err
	}
	if len(req.Images) > 0 && !facts.Has(model.CapabilityVision) {
		return badRequest("%q does not support images: it has no vision projector", req.Model)
	}
	format, err := CheckFormat(req.Format)
	if err != nil {
		return err
	}

	opts, err := s.Options(m, req.Options)
	if err != nil {
		return err
	}
	lease, err := s.Acquire(ctx, m, s.loadConfig(opts), s.keepAlive(m, req.KeepAlive))
	if err != nil {
		return err
	}
	defer lease.Release()
	loaded := time.Now()
	if req.Prompt == "" {
		return fn(api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: "load"})
	}
	gen, ok := lease.Runner.(Generator)
	if !ok {
		return badRequest("%q does not support generate", req.Model)
	}
	if !hasStop(m, req.Options) {
		opts.Stop = defaultStops
	}
	truncate := req.Truncate == nil || *req.Truncate

	prompt, err := s.generatePrompt(m, tmpl, gen, req, opts.NumCtx, truncate)
	if err != nil {
		return err
	}
	if req.DebugRenderOnly {
		return fn(api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(),
			DebugInfo: &api.DebugInfo{RenderedTemplate: prompt, ImageCount: len(req.Images)}})
	}
	var thinker = thinkingParserFor(builtin, facts.ThinkOpen, facts.ThinkClose, req.Think, prompt)

	ch, err := gen.Generate(ctx, GenerateRequest{
		Prompt: prompt, Options: opts, Format: format,
		Shift: req.Shift == nil || *req.Shift, Truncate: truncate,
		Logprobs: req.Logprobs, TopLogprobs: req.TopLogprobs,
	})
	if err != nil {
		return err
	}
	var all strings.Builder
	obs := newStreamObserver(m.ShortName, start)
	for c := range ch {
		if c.Err != nil {
			return c.Err
		}
		obs.chunk(c)
		res := api.GenerateResponse{
			Model: req.Model, CreatedAt: time.Now().UTC(), Response: c.Text, Done: c.Done, Logprobs: c.Logprobs,
		}
		all.WriteString(c.Text)
		if c.Done {
			res.DoneReason = c.DoneReason
			res.Metrics = metrics(c, start, loaded)
			if !req.Raw {
				if res.Context, err = gen.Tokenize(prompt + all.String()); err != nil {
					return err
				}
			}
		}
		switch {
		case builtin != nil:
			content, thought, calls, err := builtin.Add(c.Text, c.Done)
			if err != nil {
				return err
			}
			res.Response, res.Thinking = content, thought
			if c.Done && len(calls) > 0 {
				res.ToolCalls = calls
			}
			if res.Response == "" && res.Thinking == "" && !res.Done && len(res.ToolCalls) == 0 {
				continue
			}
		case thinker != nil:
			res.Thinking, res.Response = thinker.AddContent(c.Text)
		}
		if err := fn(res); err != nil {
			return err
		}
		if c.Done {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// generatePrompt renders a generate request's prompt as Ollama does: raw prompts as given; a custom
// template or a suffix through the legacy template path; otherwise as a chat of the system prompt, the
// model's messages and the user's prompt, after the detokenized context of an earlier reply.
func (s *Scheduler) generatePrompt(m *registry.Model, tmpl *template.Template, gen Generator, req *api.GenerateRequest, numCtx int, truncate bool) (string, error) {
	if req.Raw {
		return req.Prompt, nil
	}
	if req.Template != "" {
		t, err := template.Parse(req.Template)
		if err != nil {
			return "", badRequest("invalid template: %v", err)
		}
		tmpl = t
	}
	var b strings.Builder
	if req.Context != nil {
		ctxText, err := gen.Detokenize(req.Context)
		if err != nil {
			return "", &RequestError{Msg: "invalid context: " + err.Error()}
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
		p, err := chatPrompt(m, tmpl, gen.Tokenize, numCtx, values.Messages, nil, req.Think, truncate)
		if err != nil {
			return "", err
		}
		b.WriteString(p)
		return b.String(), nil
	}
	if err := tmpl.Execute(&b, values); err != nil {
		return "", badRequest("template error: %v", err)
	}
	return b.String(), nil
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
