package llama

import (
	"fmt"

	"github.com/ollama/ollama/fs/ggml"
)

// llamaCppArchitectures are the general.architecture values the vendored llama.cpp of Ollama v0.17.4
// (llama/llama.cpp/src/llama-arch.cpp, LLM_ARCH_NAMES) can load, less "clip", a vision projector that
// only llama-quantize reads. llama.cpp exports no way to ask, and a file of any other architecture must
// never reach its loader; TestArchitecturesMatchLlamaCpp pins this table against that file, so an upgrade
// of the Ollama module that adds or renames one fails there.
var llamaCppArchitectures = map[string]bool{
	"llama": true, "llama4": true, "deci": true, "falcon": true, "grok": true, "gpt2": true, "gptj": true,
	"gptneox": true, "mpt": true, "baichuan": true, "starcoder": true, "refact": true, "bert": true,
	"nomic-bert": true, "nomic-bert-moe": true, "neo-bert": true, "jina-bert-v2": true, "jina-bert-v3": true,
	"bloom": true, "stablelm": true, "qwen": true, "qwen2": true, "qwen2moe": true, "qwen2vl": true,
	"qwen3": true, "qwen3moe": true, "qwen3next": true, "qwen3vl": true, "qwen3vlmoe": true, "phi2": true,
	"phi3": true, "phimoe": true, "plamo": true, "plamo2": true, "codeshell": true, "orion": true,
	"internlm2": true, "minicpm": true, "minicpm3": true, "gemma": true, "gemma2": true, "gemma3": true,
	"gemma3n": true, "gemma-embedding": true, "starcoder2": true, "mamba": true, "mamba2": true, "jamba": true,
	"falcon-h1": true, "xverse": true, "command-r": true, "cohere2": true, "dbrx": true, "olmo": true,
	"olmo2": true, "olmoe": true, "openelm": true, "arctic": true, "deepseek": true, "deepseek2": true,
	"chatglm": true, "glm4": true, "glm4moe": true, "bitnet": true, "t5": true, "t5encoder": true, "jais": true,
	"nemotron": true, "nemotron_h": true, "nemotron_h_moe": true, "exaone": true, "exaone4": true,
	"rwkv6": true, "rwkv6qwen2": true, "rwkv7": true, "arwkv7": true, "granite": true, "granitemoe": true,
	"granitehybrid": true, "chameleon": true, "solar": true, "wavtokenizer-dec": true, "plm": true,
	"bailingmoe": true, "bailingmoe2": true, "dots1": true, "arcee": true, "afmoe": true, "ernie4_5": true,
	"ernie4_5-moe": true, "hunyuan-moe": true, "hunyuan-dense": true, "smollm3": true, "gpt-oss": true,
	"lfm2": true, "lfm2moe": true, "dream": true, "smallthinker": true, "llada": true, "llada-moe": true,
	"seed_oss": true, "grovemoe": true, "apertus": true, "minimax-m2": true, "cogvlm": true, "rnd1": true,
	"pangu-embedded": true, "mistral3": true,
}

// KnowsArchitecture reports whether llama.cpp can load GGUF files of architecture arch (their
// general.architecture). It is the one place that answers this: the choice between llama.cpp and another
// engine for a model is to consult it.
func KnowsArchitecture(arch string) bool { return llamaCppArchitectures[arch] }

// UnsupportedArchitectureError is a GGUF file whose architecture llama.cpp does not know, found from the
// header before llama.cpp sees the file.
type UnsupportedArchitectureError struct {
	// Architecture is the file's general.architecture ("" when the key is missing).
	Architecture string
}

// Error names the architecture.
func (e *UnsupportedArchitectureError) Error() string {
	if e.Architecture == "" {
		return "unsupported model: the GGUF file has no general.architecture"
	}
	return fmt.Sprintf("unsupported model architecture %q", e.Architecture)
}

// checkArchitecture returns an *UnsupportedArchitectureError for a header llama.cpp cannot load.
func checkArchitecture(kv ggml.KV) error {
	arch := kv.String("general.architecture")
	if !KnowsArchitecture(arch) {
		return &UnsupportedArchitectureError{Architecture: arch}
	}
	return nil
}
