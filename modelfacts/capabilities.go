package modelfacts

import (
	"slices"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/model/parsers"
	"github.com/ollama/ollama/thinking"
	"github.com/ollama/ollama/types/model"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/registry"
)

// capabilities decides what a model can do, as Ollama's Model.Capabilities does (server/images.go), from
// the facts read so far (weights' metadata, ONNX folder, template):
//   - a GGUF model has "embedding" when its metadata has pooling_type (hearth: "rerank" when that is RANK
//     pooling, which Ollama does not tell apart), else "completion", and "vision" when it has
//     vision.block_count;
//   - an ONNX model has what its folder says it does (onnxspec);
//   - any other model (a remote one), or one whose files cannot be read, has the capabilities its config
//     lists;
//   - the template adds "tools" when it uses .Tools (or the config's parser handles tool calls) and
//     "insert" when it uses .Suffix;
//   - a projector layer adds "vision";
//   - "thinking" comes from think tags inferable from the template, the gpt-oss family, or the parser.
func capabilities(m *registry.Model, f *Facts) []model.Capability {
	caps := []model.Capability{}
	switch {
	case f.GGUF != nil:
		if hasKey(f.GGUF, "pooling_type") {
			if f.GGUF.Uint("pooling_type") == poolingRank {
				caps = append(caps, hapi.CapabilityRerank)
			} else {
				caps = append(caps, model.CapabilityEmbedding)
			}
		} else {
			caps = append(caps, model.CapabilityCompletion)
		}
		if hasKey(f.GGUF, "vision.block_count") {
			caps = append(caps, model.CapabilityVision)
		}
	case f.ONNX != nil:
		caps = append(caps, f.ONNX.Capabilities()...)
	case m.ModelDigest == "":
		// Ollama lists a config's capabilities only for models without weights it can open; a GGUF it
		// cannot open has none.
		for _, c := range m.Config.Capabilities {
			caps = append(caps, model.Capability(c))
		}
	}

	tmpl := f.Template
	builtin := parsers.ParserForName(m.Config.Parser)
	vars, _ := tmpl.Vars()
	if slices.Contains(vars, "tools") || (builtin != nil && builtin.HasToolSupport()) {
		caps = append(caps, model.CapabilityTools)
	}
	if slices.Contains(vars, "suffix") {
		caps = append(caps, model.CapabilityInsert)
	}
	if len(m.ProjectorPaths) > 0 {
		caps = append(caps, model.CapabilityVision)
	}
	if slices.Contains(caps, model.CapabilityThinking) {
		return caps
	}
	open, closing := thinking.InferTags(tmpl.Template)
	if (open != "" && closing != "") || isGPTOSS(m.Config.ModelFamily) || (builtin != nil && builtin.HasThinkingSupport()) {
		caps = append(caps, model.CapabilityThinking)
	}
	return caps
}

// poolingRank is llama.cpp's LLAMA_POOLING_TYPE_RANK: a cross-encoder's relevance head.
const poolingRank = 4

// hasKey reports whether a GGUF key is present under the model's architecture prefix, the way Ollama's
// gguf KeyValue lookup qualifies bare keys ("pooling_type" is "<arch>.pooling_type").
func hasKey(kv ggml.KV, key string) bool {
	_, ok := kv[kv.Architecture()+"."+key]
	return ok
}
