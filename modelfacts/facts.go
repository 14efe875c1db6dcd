// Package modelfacts answers what the engine and the handlers need to know about a stored model before
// anything loads: its prompt template (the template layer, else the GGUF's chat template matched to one of
// Ollama's named templates), the stop strings that template implies, its output parser and thinking tags,
// its capabilities, its default options and keep-alive, and for an ONNX model what its folder says it does.
// Everything follows from the manifest, which the manifest digest names (the blobs it lists are
// content-addressed), so a Cache computes the facts once per digest and /api/show, the Anthropic route,
// generate, chat, embed, classify and rerank all read the same answer. It knows nothing of HTTP and loads
// nothing.
package modelfacts

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/thinking"
	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/onnxspec"
	"github.com/hearthlink/hearth/registry"
)

// Facts is what one stored model is and does. It is shared between requests: treat it as read-only.
type Facts struct {
	// Template is the prompt template: the model's template layer, else the GGUF's
	// tokenizer.chat_template matched to one of Ollama's named templates (what Ollama's create would have
	// stored), else "{{ .Prompt }}".
	Template *template.Template
	// Stops are the stop strings of the named template matched from the GGUF (Ollama's create stores
	// them as parameters), the default when neither the model nor the request sets any.
	Stops []string
	// Capabilities are what /api/show lists, in Ollama's order.
	Capabilities []model.Capability
	// Parser is the built-in output parser's name: the config's, else "harmony" for gpt-oss templates.
	Parser string
	// ThinkOpen and ThinkClose are the thinking tags the template uses ("" when it has none).
	ThinkOpen, ThinkClose string
	// ONNX is what an ONNX model's folder says it does (nil for other models, or when FilesErr is set).
	ONNX *onnxspec.Spec
	// GGUF is the weights' metadata (arrays left out; nil for models without GGUF weights, or when
	// FilesErr is set).
	GGUF ggml.KV
	// FilesErr says why the model's files could not be read. The facts are then what the manifest alone
	// tells (the capabilities the config lists), are not cached, and the load reports the problem.
	FilesErr error
	// Options are Ollama's defaults with the model's parameters applied; NumCtx stays 0 unless the model
	// sets num_ctx, so the server's default can apply.
	Options api.Options
	// OptionsErr says why the model's parameters do not apply (a wrong type in its params layer).
	OptionsErr error
	// UnknownOptions are parameters Ollama's options do not have; they are ignored, as in Ollama.
	UnknownOptions []string
	// KeepAlive is the model's keep_alive parameter, when it has one that parses.
	KeepAlive *time.Duration
}

// Has reports whether the model has capability c.
func (f *Facts) Has(c model.Capability) bool { return slices.Contains(f.Capabilities, c) }

// GGUFReader reads the metadata of a GGUF blob; *registry.Store implements it with its header cache.
type GGUFReader interface {
	// GGUFInfo returns the metadata of the GGUF blob digest.
	GGUFInfo(digest string) (*registry.GGUFMetadata, error)
}

// compute derives m's facts; gguf reads the weights' metadata (nil: from the model's file).
func compute(m *registry.Model, gguf GGUFReader) (*Facts, error) {
	f := &Facts{}
	switch {
	case m.ModelDigest != "":
		f.GGUF, f.FilesErr = readGGUF(m, gguf)
	case m.ONNXModel != "":
		spec, err := onnxspec.Read(onnxspec.Files(m.ONNXFiles))
		if err != nil {
			f.FilesErr = err
			break
		}
		f.ONNX = spec
	}

	text := m.Template
	if text == "" && f.GGUF != nil {
		if named, err := registry.MatchTemplate(f.GGUF); err == nil {
			text, f.Stops = named.Text, slices.Clip(named.Stop)
		}
	}
	tmpl := template.DefaultTemplate
	if text != "" {
		var err error
		if tmpl, err = template.Parse(text); err != nil {
			return nil, &registry.CorruptManifestError{Name: m.ShortName, Err: fmt.Errorf("template: %w", err)}
		}
	}
	f.Template = tmpl
	f.Capabilities = capabilities(m, f)
	f.Parser = m.Config.Parser
	if f.Parser == "" && isGPTOSS(m.Config.ModelFamily) && tmpl.Contains("<|start|>") && tmpl.Contains("<|end|>") {
		f.Parser = "harmony"
	}
	f.ThinkOpen, f.ThinkClose = thinking.InferTags(tmpl.Template)

	f.Options = api.DefaultOptions()
	f.Options.NumCtx = 0
	f.UnknownOptions, f.OptionsErr = ApplyOptions(&f.Options, m.Options)
	f.KeepAlive = keepAlive(m.Options)
	return f, nil
}

// readGGUF reads the metadata of m's weights through gguf, or from the file when there is no reader.
func readGGUF(m *registry.Model, gguf GGUFReader) (ggml.KV, error) {
	if gguf != nil {
		info, err := gguf.GGUFInfo(m.ModelDigest)
		if err != nil {
			return nil, err
		}
		return info.KV, nil
	}
	file, err := os.Open(m.ModelPath)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	g, err := registry.DecodeGGUFHeader(file, 0)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable GGUF file: %w", m.ModelPath, err)
	}
	return g.KV(), nil
}

// keepAlive reads a model's keep_alive parameter as Ollama's api.Duration reads a request's.
func keepAlive(params map[string]any) *time.Duration {
	v, ok := params["keep_alive"]
	if !ok {
		return nil
	}
	var d api.Duration
	b, err := jsonMarshal(v)
	if err != nil || d.UnmarshalJSON(b) != nil {
		return nil
	}
	return &d.Duration
}

// isGPTOSS reports whether a model family is gpt-oss, spelled either way.
func isGPTOSS(family string) bool { return family == "gptoss" || family == "gpt-oss" }
