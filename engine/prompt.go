package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/model/parsers"
	"github.com/ollama/ollama/model/renderers"
	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/thinking"

	"github.com/hearthlink/hearth/registry"
)

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

// imageTokens is what Ollama counts an image as when it fits a chat into the context of a model with a
// projector layer (server/prompt.go: a CLIP image is 768 embeddings).
const imageTokens = 768

// chatPrompt renders msgs, dropping whole messages from the front (system messages kept, the last message
// always kept) until the prompt fits numCtx when truncate is on, then marks the images of the kept
// messages — Ollama's server/prompt.go. It returns the prompt and the images kept, numbered as their tags.
//
// Each image becomes an [img-N] tag in its message's text, numbered from 0 over the kept messages: in place
// of the text's first "[img]", else in front of it. Ollama does this for every model rendered by template,
// vision or not; its runners turn the tags into image embeddings only for a vision model, so a text-only
// model reads the tag as plain text and the image itself is ignored. A model with a renderer gets no tags
// (the renderer places images itself).
func chatPrompt(m *registry.Model, tmpl *template.Template, tokenize func(string) ([]int, error), numCtx int, msgs []api.Message, tools []api.Tool, think *api.ThinkValue, truncate bool) (string, []Image, error) {
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
		cur = i
		if !truncate {
			break
		}
		p, err := renderPrompt(m, tmpl, append(slices.Clone(system), msgs[i:]...), tools, think)
		if err != nil {
			return "", nil, err
		}
		toks, err := tokenize(p)
		if err != nil {
			return "", nil, err
		}
		n := len(toks)
		if len(m.ProjectorPaths) > 0 {
			n += imageTokens * countImages(msgs[i:])
		}
		if n <= numCtx || i == last {
			if countImages(msgs[i:]) == 0 {
				// Ollama renders the kept messages once more; without images to tag the result is this one.
				return p, nil, nil
			}
			break
		}
	}
	kept, images := tagImages(m, msgs[cur:])
	p, err := renderPrompt(m, tmpl, append(slices.Clone(system), kept...), tools, think)
	return p, images, err
}

// countImages is the number of images in msgs.
func countImages(msgs []api.Message) int {
	n := 0
	for _, msg := range msgs {
		n += len(msg.Images)
	}
	return n
}

// tagImages returns a copy of msgs whose images are marked in their text as chatPrompt describes, and the
// images, numbered as their tags.
func tagImages(m *registry.Model, msgs []api.Message) ([]api.Message, []Image) {
	out := slices.Clone(msgs)
	var images []Image
	for i := range out {
		var prefix string
		text := out[i].Content
		for _, data := range out[i].Images {
			id := len(images)
			images = append(images, Image{ID: id, Data: data})
			if m.Config.Renderer == "" {
				tag := fmt.Sprintf("[img-%d]", id)
				if strings.Contains(text, "[img]") {
					text = strings.Replace(text, "[img]", tag, 1)
				} else {
					prefix += tag
				}
			}
		}
		out[i].Content = prefix + text
	}
	return out, images
}

// requestImages numbers a generate request's images by their place in the request, as Ollama does for a
// raw prompt or a custom template, where the client writes the [img-N] tags itself.
func requestImages(data []api.ImageData) []Image {
	images := make([]Image, len(data))
	for i, d := range data {
		images[i] = Image{ID: i, Data: d}
	}
	return images
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
// closing, thinking.InferTags's answer, which the model facts keep) when think is on, primed when the prompt
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
