package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/model/parsers"
	"github.com/ollama/ollama/model/renderers"
	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/thinking"

	"github.com/hearthlink/hearth/registry"
)

func init() {
	// As Ollama's server does: renderers mark images with [img] tags.
	renderers.RenderImgTags = true
}

// grammarJSON is Ollama's grammar for format "json" (llm/server.go).
const grammarJSON = `
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::=
  "{" ws (
         string ":" ws value
    ("," ws string ":" ws value)*
  )? ws "}" 
array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? ws "]" 
string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F]) # escapes
  )* "\"" 
number ::= ("-"? ([0-9] | [1-9] [0-9]*)) ("." [0-9]+)? ([eE] [-+]? [0-9]+)? 
# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= ([ \t\n] ws)?
`

// CheckFormat validates a request's format field: absent, null or "" (none), "json", or a JSON Schema
// object. It returns the format to hand the backend (nil for none) or a *RequestError.
func CheckFormat(format json.RawMessage) (json.RawMessage, error) {
	f := bytes.TrimSpace(format)
	switch string(f) {
	case "", "null", `""`:
		return nil, nil
	case `"json"`:
		return f, nil
	}
	if f[0] != '{' {
		return nil, badRequest("invalid format: %q; expected \"json\" or a valid JSON Schema object", string(format))
	}
	var schema map[string]any
	if err := json.Unmarshal(f, &schema); err != nil {
		return nil, badRequest("invalid JSON schema in format: %v", err)
	}
	return f, nil
}

// GrammarFor turns a checked format into a GBNF grammar; schemaToGrammar compiles JSON schemas (the
// backend's, since it is llama.cpp's code). A schema it cannot compile is a *RequestError.
func GrammarFor(format json.RawMessage, schemaToGrammar func([]byte) []byte) (string, error) {
	switch {
	case len(format) == 0:
		return "", nil
	case string(format) == `"json"`:
		return grammarJSON, nil
	}
	g := schemaToGrammar(format)
	if g == nil {
		return "", badRequest("invalid JSON schema in format")
	}
	return string(g), nil
}

// templates caches parsed templates by their text.
var templates sync.Map // string -> *template.Template

// modelTemplate returns m's prompt template: its template layer, else the GGUF's tokenizer.chat_template
// mapped to one of Ollama's named templates (with that template's stop strings, which Ollama's create
// would have stored as parameters), else "{{ .Prompt }}". final is false when the GGUF's metadata could
// not be read, so the answer may change once it can (the caller then does not cache it). Matching a chat
// template to a named one costs milliseconds: callers use the per-model cache (promptOf).
func (s *Scheduler) modelTemplate(m *registry.Model) (tmpl *template.Template, stops []string, final bool, err error) {
	text := m.Template
	final = true
	if text == "" && s.cfg.Pipeline.Store != nil && m.ModelDigest != "" {
		info, err := s.cfg.Pipeline.Store.GGUFInfo(m.ModelDigest)
		final = err == nil
		if err == nil {
			if ct := info.KV.ChatTemplate(); ct != "" {
				if named, err := template.Named(ct); err == nil {
					text = string(named.Bytes)
					if named.Parameters != nil {
						stops = named.Parameters.Stop
					}
				}
			}
		}
	}
	if text == "" {
		return template.DefaultTemplate, nil, final, nil
	}
	if t, ok := templates.Load(text); ok {
		return t.(*template.Template), stops, final, nil
	}
	t, err := template.Parse(text)
	if err != nil {
		return nil, nil, final, fmt.Errorf("the model's template does not parse: %w", err)
	}
	templates.Store(text, t)
	return t, stops, final, nil
}

// capabilities of a model, as Ollama derives them from its template and parser.
type capabilities struct {
	tools, insert, thinking, vision bool
}

func modelCapabilities(m *registry.Model, tmpl *template.Template) capabilities {
	var c capabilities
	parser := parsers.ParserForName(m.Config.Parser)
	vars, _ := tmpl.Vars()
	c.tools = slices.Contains(vars, "tools") || (parser != nil && parser.HasToolSupport())
	c.insert = slices.Contains(vars, "suffix")
	c.vision = len(m.ProjectorPaths) > 0 || slices.Contains(m.Config.Capabilities, "vision")
	open, closing := thinking.InferTags(tmpl.Template)
	c.thinking = (open != "" && closing != "") || slices.Contains([]string{"gptoss", "gpt-oss"}, m.Config.ModelFamily) ||
		(parser != nil && parser.HasThinkingSupport()) || slices.Contains(m.Config.Capabilities, "thinking")
	return c
}

// useHarmony is Ollama's heuristic for gpt-oss templates.
func useHarmony(m *registry.Model, tmpl *template.Template) bool {
	return slices.Contains([]string{"gptoss", "gpt-oss"}, m.Config.ModelFamily) &&
		tmpl.Contains("<|start|>") && tmpl.Contains("<|end|>")
}

// renderPrompt renders messages with the model's renderer or template.
func renderPrompt(m *registry.Model, tmpl *template.Template, msgs []api.Message, tools []api.Tool, think *api.ThinkValue) (string, error) {
	if m.Config.Renderer != "" {
		return renderers.RenderWithRenderer(m.Config.Renderer, msgs, tools, think)
	}
	var b bytes.Buffer
	v := template.Values{Messages: msgs, Tools: tools, IsThinkSet: think != nil}
	if think != nil {
		v.Think = think.Bool()
		v.ThinkLevel = think.String()
	}
	if err := tmpl.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// chatPrompt renders msgs, dropping whole messages from the front (system messages kept, the last message
// always kept) until the prompt fits numCtx when truncate is on — Ollama's server/prompt.go.
func chatPrompt(m *registry.Model, tmpl *template.Template, tokenize func(string) ([]int, error), numCtx int, msgs []api.Message, tools []api.Tool, think *api.ThinkValue, truncate bool) (string, error) {
	var system []api.Message
	last := len(msgs) - 1
	cur := 0
	for i := 0; i <= last; i++ {
		system = system[:0]
		for j := range i {
			if msgs[j].Role == "system" {
				system = append(system, msgs[j])
			}
		}
		if !truncate {
			cur = i
			break
		}
		p, err := renderPrompt(m, tmpl, append(slices.Clone(system), msgs[i:]...), tools, think)
		if err != nil {
			return "", err
		}
		toks, err := tokenize(p)
		if err != nil {
			return "", err
		}
		if len(toks) <= numCtx || i == last {
			// Ollama renders the kept messages once more; the result is this one.
			return p, nil
		}
	}
	return renderPrompt(m, tmpl, append(slices.Clone(system), msgs[cur:]...), tools, think)
}

// filterThinkTags strips <think> blocks from earlier assistant turns of qwen3 and deepseek-r1, as Ollama
// does.
func filterThinkTags(msgs []api.Message, m *registry.Model) []api.Message {
	if m.Config.ModelFamily != "qwen3" && m.Name.Model != "deepseek-r1" {
		return msgs
	}
	finalUser := -1
	for i, msg := range msgs {
		if msg.Role == "user" {
			finalUser = i
		}
	}
	for i, msg := range msgs {
		if msg.Role == "assistant" && i < finalUser {
			p := &thinking.Parser{OpeningTag: "<think>", ClosingTag: "</think>"}
			_, content := p.AddContent(msg.Content)
			msgs[i].Content = content
		}
	}
	return msgs
}

// thinkingParser returns the generic parser for the thinking tags of the model's template (open and
// closing, thinking.InferTags's answer, which promptOf keeps) when think is on, primed when the prompt
// already opened the tag.
func thinkingParser(open, closing string, think *api.ThinkValue, prompt string) *thinking.Parser {
	if think == nil || !think.Bool() || open == "" || closing == "" {
		return nil
	}
	p := &thinking.Parser{OpeningTag: open, ClosingTag: closing}
	if strings.HasSuffix(strings.TrimSpace(prompt), open) {
		p.AddContent(open)
	}
	return p
}

// thinkingParserFor is the generic thinking parser, used only when the model has no built-in parser.
func thinkingParserFor(builtin parsers.Parser, open, closing string, think *api.ThinkValue, prompt string) *thinking.Parser {
	if builtin != nil {
		return nil
	}
	return thinkingParser(open, closing, think, prompt)
}
