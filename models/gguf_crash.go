package models

import (
	"context"

	"github.com/ollama/ollama/fs/ggml"
)

// crashModel is a GGUF file whose header makes llama.cpp's loader kill the process that loads it, the kind
// of file the server must survive: it loads each new file in a child process first (engine/llama's probe).
// It carries no vocabulary (tokenizer "no_vocab") and one small tensor, since the loader dies before it
// reads either.
type crashModel struct {
	arch string
	kv   ggml.KV // architecture keys, without the "<arch>." prefix
}

// write writes the header and one F32 tensor; seed only fills the tensor.
func (m crashModel) write(ctx context.Context, dst string, seed int64) error {
	kv := ggml.KV{
		"general.architecture":         m.arch,
		"general.type":                 "model",
		"general.name":                 "crash-" + m.arch,
		"general.file_type":            uint32(ggml.FileTypeF32),
		"general.quantization_version": uint32(2),
		"tokenizer.ggml.model":         "no_vocab",
	}
	for k, v := range m.kv {
		kv[m.arch+"."+k] = v
	}
	ts := []ggufTensor{{name: "token_embd.weight", typ: ggml.TensorTypeF32, shape: []uint64{64, 4}, init: normalInit(weightStd)}}
	return writeGGUF(ctx, dst, kv, ts, seed)
}

// crashNemotronDense is a dense nemotron_h header, as Ollama's converter writes one (no
// expert_feed_forward_length, no expert counts): llama.cpp's load_tensors divides the feed-forward length
// by n_expert_used, 0, and the process dies of SIGFPE (model-coverage.md).
var crashNemotronDense = crashModel{arch: "nemotron_h", kv: ggml.KV{
	"context_length":                   uint32(256),
	"embedding_length":                 uint32(64),
	"block_count":                      uint32(2),
	"feed_forward_length":              uint32(128),
	"attention.head_count":             uint32(4),
	"attention.head_count_kv":          uint32(2),
	"attention.layer_norm_rms_epsilon": float32(1e-5),
	"ssm.conv_kernel":                  uint32(4),
	"ssm.inner_size":                   uint32(128),
	"ssm.state_size":                   uint32(16),
	"ssm.time_step_rank":               uint32(4),
	"ssm.group_count":                  uint32(1),
}}

// crashExpertAssert is a llama header that says two experts are used out of none: llama.cpp's
// load_hparams fails GGML_ASSERT(hparams.n_expert_used <= hparams.n_expert), which aborts the process.
var crashExpertAssert = crashModel{arch: "llama", kv: ggml.KV{
	"context_length":                   uint32(256),
	"embedding_length":                 uint32(64),
	"block_count":                      uint32(2),
	"feed_forward_length":              uint32(128),
	"attention.head_count":             uint32(4),
	"attention.layer_norm_rms_epsilon": float32(1e-5),
	"expert_used_count":                uint32(2),
}}

func init() {
	registerGGUF(Recipe{
		Name:        "crash-nemotron-dense",
		Description: "nemotron_h header without experts: llama.cpp's loader divides by zero (SIGFPE); tests crash isolation",
		Version:     1,
		Seed:        20,
	}, crashNemotronDense)
	registerGGUF(Recipe{
		Name:        "crash-expert-assert",
		Description: "llama header using 2 of 0 experts: llama.cpp's loader fails a GGML_ASSERT (abort); tests crash isolation",
		Version:     1,
		Seed:        21,
	}, crashExpertAssert)
}
