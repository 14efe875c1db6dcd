package engine

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/model/parsers"
	"github.com/ollama/ollama/thinking"
	"github.com/ollama/ollama/tools"
	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/registry"
)

// Chat serves an /api/chat request for the resolved model m, calling fn with each response chunk in order;
// errors behave as in Generate.
func (s *Scheduler) Chat(ctx context.Context, m *registry.Model, req *api.ChatRequest, fn func(api.ChatResponse) error) error {
	start := time.Now()
	if len(req.Messages) == 0 && req.KeepAlive != nil && req.KeepAlive.Duration == 0 {
		s.Expire(m)
		return fn(api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "unload"})
	}
	facts, err := s.facts.Of(m)
	if err != nil {
		return err
	}
	tmpl, defaultStops := facts.Template, facts.Stops
	if len(req.Tools) > 0 && !facts.Has(model.CapabilityTools) {
		return badRequest("%s does not support tools", m.Name.String())
	}
	if req.Think, err = defaultThink(facts, req.Think, req.Model); err != nil {
		return err
	}
	for _, msg := range req.Messages {
		if len(msg.Images) > 0 && !facts.Has(model.CapabilityVision) {
			return badRequest("%q does not support images: it has no vision projector", req.Model)
		}
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
	if len(req.Messages) == 0 {
		return fn(api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "load"})
	}
	gen, ok := lease.Runner.(Generator)
	if !ok {
		return badRequest("%q does not support chat", req.Model)
	}
	if !hasStop(m, req.Options) {
		opts.Stop = defaultStops
	}

	msgs := append(append([]api.Message{}, m.Messages...), req.Messages...)
	if req.Messages[0].Role != "system" && m.System != "" {
		msgs = append([]api.Message{{Role: "system", Content: m.System}}, msgs...)
	}
	msgs = filterThinkTags(msgs, m)

	parserName := facts.Parser
	var builtin parsers.Parser
	processedTools := req.Tools
	if parserName != "" {
		if builtin = parsers.ParserForName(parserName); builtin != nil {
			processedTools = builtin.Init(req.Tools, &msgs[len(msgs)-1], req.Think)
		}
	}
	truncate := req.Truncate == nil || *req.Truncate
	prompt, err := chatPrompt(m, tmpl, gen.Tokenize, opts.NumCtx, msgs, processedTools, req.Think, truncate)
	if err != nil {
		return badRequest("template error: %v", err)
	}
	if req.DebugRenderOnly {
		images := 0
		for _, msg := range msgs {
			images += len(msg.Images)
		}
		return fn(api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(),
			DebugInfo: &api.DebugInfo{RenderedTemplate: prompt, ImageCount: images}})
	}
	if req.Think != nil && req.Think.IsString() && parserName != "harmony" {
		return badRequest("think value %q is not supported for this model", req.Think.String())
	}
	thinker := thinkingParser(facts.ThinkOpen, facts.ThinkClose, req.Think, prompt)
	var toolParser *tools.Parser
	if len(req.Tools) > 0 && (builtin == nil || !builtin.HasToolSupport()) {
		toolParser = tools.NewParser(tmpl.Template, req.Tools)
	}

	ch, err := gen.Generate(ctx, GenerateRequest{
		Prompt: prompt, Options: opts, Format: format,
		Shift: req.Shift == nil || *req.Shift, Truncate: truncate,
		Logprobs: req.Logprobs, TopLogprobs: req.TopLogprobs,
	})
	if err != nil {
		return err
	}
	obs := newStreamObserver(m.ShortName, start)
	for c := range ch {
		if c.Err != nil {
			return c.Err
		}
		obs.chunk(c)
		res := api.ChatResponse{
			Model: req.Model, CreatedAt: time.Now().UTC(), Done: c.Done, Logprobs: c.Logprobs,
			Message: api.Message{Role: "assistant", Content: c.Text},
		}
		if c.Done {
			res.DoneReason = c.DoneReason
			res.Metrics = metrics(c, start, loaded)
		}
		send, err := shapeChat(&res, c, builtin, thinker, toolParser)
		if err != nil {
			return err
		}
		if send {
			if err := fn(res); err != nil {
				return err
			}
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

// shapeChat splits a chunk's text into thinking, content and tool calls with whichever parsers apply, as
// Ollama's chat handler does, and reports whether the chunk has anything to send.
func shapeChat(res *api.ChatResponse, c Chunk, builtin parsers.Parser, thinker *thinking.Parser, toolParser *tools.Parser) (bool, error) {
	if builtin != nil {
		content, thought, calls, err := builtin.Add(c.Text, c.Done)
		if err != nil {
			return false, err
		}
		res.Message.Content, res.Message.Thinking = content, thought
		for i := range calls {
			calls[i].ID = toolCallID()
		}
		res.Message.ToolCalls = calls
		return content != "" || thought != "" || len(calls) > 0 || c.Done || len(res.Logprobs) > 0, nil
	}
	if thinker != nil {
		thought, content := thinker.AddContent(res.Message.Content)
		if thought == "" && content == "" && !c.Done {
			return false, nil
		}
		res.Message.Thinking, res.Message.Content = thought, content
	}
	if toolParser != nil {
		calls, content := toolParser.Add(res.Message.Content)
		switch {
		case len(content) > 0:
			res.Message.Content = content
		case len(calls) > 0:
			for i := range calls {
				calls[i].ID = toolCallID()
			}
			res.Message.ToolCalls, res.Message.Content = calls, ""
		case res.Message.Thinking != "":
		default:
			if c.Done {
				res.Message.Content = toolParser.Content()
				return true, nil
			}
			if len(res.Logprobs) > 0 {
				res.Message.Content = ""
				return true, nil
			}
			return false, nil
		}
	}
	return true, nil
}

// toolCallID is Ollama's call id: "call_" and 8 lowercase letters or digits.
func toolCallID() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 8)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return "call_" + string(b)
}
