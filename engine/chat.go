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

	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry"
)

// Chat serves an /api/chat request for the resolved model m, calling fn with each response chunk in order;
// errors behave as in Generate.
func (p *Pipeline) Chat(ctx context.Context, m *registry.Model, req *api.ChatRequest, fn func(api.ChatResponse) error) error {
	start := time.Now()
	// The checks below come in the order of Ollama's ChatHandler (server/routes.go): unload, tools,
	// thinking, then the load. Unlike generate, Ollama checks the think level only once the prompt is
	// rendered (chatRoute.begin).
	if len(req.Messages) == 0 && req.KeepAlive != nil && req.KeepAlive.Duration == 0 {
		p.sched.Expire(m)
		return fn(api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "unload"})
	}
	facts, err := p.facts.Of(m)
	if err != nil {
		return err
	}
	if len(req.Tools) > 0 && !facts.Has(model.CapabilityTools) {
		return badRequest("%s does not support tools", m.Name.String())
	}
	if req.Think, err = defaultThink(facts, req.Think, req.Model); err != nil {
		return err
	}
	// hearth's own check, after Ollama's (see Generate). Images for a model without vision are no error:
	// chatPrompt tags them and the model reads the tags as text, as with Ollama.
	format, err := CheckFormat(req.Format)
	if err != nil {
		return err
	}
	return p.complete(ctx, &completion{
		name: req.Model, model: m, facts: facts, start: start,
		options: req.Options, keepAlive: req.KeepAlive, format: format,
		shift: req.Shift == nil || *req.Shift, truncate: req.Truncate == nil || *req.Truncate,
		logprob: req.Logprobs, topLogprobs: req.TopLogprobs, debugRenderOnly: req.DebugRenderOnly,
		route: &chatRoute{req: req, m: m, facts: facts, fn: fn},
	})
}

// chatRoute shapes a completion as /api/chat replies: an assistant message whose text the model's parsers
// split into content, thinking and tool calls.
type chatRoute struct {
	req   *api.ChatRequest
	m     *registry.Model
	facts *modelfacts.Facts
	fn    func(api.ChatResponse) error

	images     []Image
	builtin    parsers.Parser
	thinker    *thinking.Parser
	toolParser *tools.Parser
}

func (r *chatRoute) name() string   { return "chat" }
func (r *chatRoute) loadOnly() bool { return len(r.req.Messages) == 0 }

func (r *chatRoute) loaded() error {
	return r.fn(api.ChatResponse{Model: r.req.Model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "load"})
}

// prompt renders the model's messages, then the request's, after the model's system prompt unless the
// request brings its own; the model's built-in parser rewrites the tools it is given first, as in Ollama.
func (r *chatRoute) prompt(gen Generator, opts api.Options) (string, []Image, error) {
	m, req := r.m, r.req
	msgs := append(append([]api.Message{}, m.Messages...), req.Messages...)
	if req.Messages[0].Role != "system" && m.System != "" {
		msgs = append([]api.Message{{Role: "system", Content: m.System}}, msgs...)
	}
	msgs = filterThinkTags(msgs, m)
	tools := req.Tools
	if r.facts.Parser != "" {
		if r.builtin = parsers.ParserForName(r.facts.Parser); r.builtin != nil {
			tools = r.builtin.Init(req.Tools, &msgs[len(msgs)-1], req.Think)
		}
	}
	prompt, images, err := chatPrompt(m, r.facts.Template, gen.Tokenize, opts.NumCtx, msgs, tools, req.Think, req.Truncate == nil || *req.Truncate)
	if err != nil {
		return "", nil, badRequest("template error: %v", err)
	}
	r.images = images
	return prompt, images, nil
}

func (r *chatRoute) debug(prompt string) error {
	return r.fn(api.ChatResponse{Model: r.req.Model, CreatedAt: time.Now().UTC(),
		DebugInfo: &api.DebugInfo{RenderedTemplate: prompt, ImageCount: len(r.images)}})
}

func (r *chatRoute) begin(prompt string) error {
	// Ollama's ChatHandler checks the think level here, after debug_render_only has been answered.
	if err := thinkString(r.req.Think, r.facts.Parser); err != nil {
		return err
	}
	r.thinker = thinkingParser(r.facts.ThinkOpen, r.facts.ThinkClose, r.req.Think, prompt)
	if len(r.req.Tools) > 0 && (r.builtin == nil || !r.builtin.HasToolSupport()) {
		r.toolParser = tools.NewParser(r.facts.Template.Template, r.req.Tools)
	}
	return nil
}

func (r *chatRoute) send(c Chunk, m api.Metrics) error {
	res := api.ChatResponse{
		Model: r.req.Model, CreatedAt: time.Now().UTC(), Done: c.Done, Logprobs: c.Logprobs,
		Message: api.Message{Role: "assistant", Content: c.Text},
	}
	if c.Done {
		res.DoneReason = c.DoneReason
		res.Metrics = m
	}
	send, err := shapeChat(&res, c, r.builtin, r.thinker, r.toolParser)
	if err != nil || !send {
		return err
	}
	return r.fn(res)
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
