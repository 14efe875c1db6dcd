package registry

import (
	"slices"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/model/parsers"
	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/thinking"
	"github.com/ollama/ollama/types/model"
)

// Capabilities of hearth's ONNX models beyond Ollama's, named after the ONNX model's task.
const (
	// CapabilityClassification is a sequence classifier (labels with scores).
	CapabilityClassification = model.Capability("classification")
	// CapabilityRerank is a cross-encoder that scores query/document pairs.
	CapabilityRerank = model.Capability("rerank")
)

// ParseTemplate parses a model's template text as Ollama does, with Ollama's default "{{ .Prompt }}"
// for a model that has none.
func ParseTemplate(text string) (*template.Template, error) {
	if text == "" {
		return template.DefaultTemplate, nil
	}
	return template.Parse(text)
}

// Capabilities decides what a model can do, exactly as Ollama's Model.Capabilities does:
//   - a GGUF model (kv not nil) has "embedding" when its metadata has pooling_type (hearth: "rerank"
//     when that is RANK pooling, which Ollama does not distinguish), else "completion", and "vision"
//     when it has vision.block_count;
//   - a model without GGUF weights (an ONNX model, a remote model) has the capabilities its config
//     lists;
//   - the template adds "tools" when it uses .Tools (or the config's parser handles tool calls) and
//     "insert" when it uses .Suffix;
//   - a projector layer adds "vision";
//   - "thinking" comes from think tags inferable from the template, the gpt-oss family, or the parser.
//
// tmpl may be nil (no template checks). Templates with errors yield what the parse found, as in Ollama.
func Capabilities(kv ggml.KV, cfg model.ConfigV2, tmpl *template.Template, projectors int) []model.Capability {
	caps := []model.Capability{}
	switch {
	case kv != nil:
		if hasKey(kv, "pooling_type") {
			if kv.Uint("pooling_type") == poolingRank {
				caps = append(caps, CapabilityRerank)
			} else {
				caps = append(caps, model.CapabilityEmbedding)
			}
		} else {
			caps = append(caps, model.CapabilityCompletion)
		}
		if hasKey(kv, "vision.block_count") {
			caps = append(caps, model.CapabilityVision)
		}
	default:
		for _, c := range cfg.Capabilities {
			caps = append(caps, model.Capability(c))
		}
	}
	if tmpl == nil {
		return caps
	}

	builtin := parsers.ParserForName(cfg.Parser)
	vars, _ := tmpl.Vars()
	if slices.Contains(vars, "tools") || (builtin != nil && builtin.HasToolSupport()) {
		caps = append(caps, model.CapabilityTools)
	}
	if slices.Contains(vars, "suffix") {
		caps = append(caps, model.CapabilityInsert)
	}
	if projectors > 0 {
		caps = append(caps, model.CapabilityVision)
	}
	if slices.Contains(caps, model.CapabilityThinking) {
		return caps
	}
	open, closing := thinking.InferTags(tmpl.Template)
	gptoss := cfg.ModelFamily == "gptoss" || cfg.ModelFamily == "gpt-oss"
	if (open != "" && closing != "") || gptoss || (builtin != nil && builtin.HasThinkingSupport()) {
		caps = append(caps, model.CapabilityThinking)
	}
	return caps
}

// poolingRank is llama.cpp's LLAMA_POOLING_TYPE_RANK: a cross-encoder's relevance head.
const poolingRank = 4

// hasKey reports whether a GGUF key is present under the model's architecture prefix, the way
// Ollama's gguf KeyValue lookup qualifies bare keys ("pooling_type" is "<arch>.pooling_type").
func hasKey(kv ggml.KV, key string) bool {
	_, ok := kv[kv.Architecture()+"."+key]
	return ok
}

// Capabilities is the capabilities of a resolved model, reading its GGUF metadata from the cache.
func (s *Store) Capabilities(m *Model) ([]model.Capability, error) {
	var kv ggml.KV
	if m.ModelDigest != "" {
		info, err := s.GGUFInfo(m.ModelDigest)
		if err != nil {
			return nil, err
		}
		kv = info.KV
	}
	tmpl, err := ParseTemplate(m.Template)
	if err != nil {
		return nil, &CorruptManifestError{Name: m.ShortName, Err: err}
	}
	return Capabilities(kv, m.Config, tmpl, len(m.ProjectorPaths)), nil
}
