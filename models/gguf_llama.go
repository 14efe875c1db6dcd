package models

import (
	"context"
	"fmt"

	"github.com/ollama/ollama/fs/ggml"
)

// chatMLTemplate is the ChatML Jinja template exactly as Ollama's template index lists it, so Ollama (and
// hearth, through template.Named) maps a model carrying it to its "chatml" Go template, and llama.cpp
// detects ChatML from it.
const chatMLTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// weightStd is the standard deviation of generated weight matrices, the usual transformer initialisation.
const weightStd = 0.02

// llamaModel is a GGUF model of llama.cpp's "llama" architecture (pre-norm decoder, RMSNorm, RoPE, SwiGLU,
// grouped-query attention) with seeded random weights.
type llamaModel struct {
	name        string // general.name
	vocab       func() (*ggufVocab, error)
	chatML      bool // add ChatML's tokens to the vocabulary
	embd        int
	layers      int
	ffn         int
	heads       int
	kvHeads     int
	ctxLen      int
	tied        bool // no output.weight: llama.cpp reuses token_embd for the output projection
	fileType    ggml.FileType
	weightType  func(name string, layer int) ggml.TensorType // type of each matrix; vectors are always F32
	ropeBase    float32
	rmsEpsilon  float32
	description string // general.description
}

// tensors lists the model's tensors under llama.cpp's names, with their GGUF shapes (row length first).
func (m llamaModel) tensors(nVocab int) []ggufTensor {
	embd, kvDim, ffn := uint64(m.embd), uint64(m.embd/m.heads*m.kvHeads), uint64(m.ffn)
	matrix := func(name string, layer int, shape ...uint64) ggufTensor {
		return ggufTensor{name: name, typ: m.weightType(name, layer), shape: shape, init: normalInit(weightStd)}
	}
	norm := func(name string) ggufTensor {
		return ggufTensor{name: name, typ: ggml.TensorTypeF32, shape: []uint64{embd}, init: constInit(1)}
	}
	ts := []ggufTensor{
		matrix("token_embd.weight", -1, embd, uint64(nVocab)),
		norm("output_norm.weight"),
	}
	if !m.tied {
		ts = append(ts, matrix("output.weight", -1, embd, uint64(nVocab)))
	}
	for i := range m.layers {
		blk := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		ts = append(ts,
			norm(blk("attn_norm.weight")),
			matrix(blk("attn_q.weight"), i, embd, embd),
			matrix(blk("attn_k.weight"), i, embd, kvDim),
			matrix(blk("attn_v.weight"), i, embd, kvDim),
			matrix(blk("attn_output.weight"), i, embd, embd),
			norm(blk("ffn_norm.weight")),
			matrix(blk("ffn_gate.weight"), i, embd, ffn),
			matrix(blk("ffn_up.weight"), i, embd, ffn),
			matrix(blk("ffn_down.weight"), i, ffn, embd),
		)
	}
	return ts
}

// write generates the model with seed and writes it to dst.
func (m llamaModel) write(ctx context.Context, dst string, seed int64) error {
	if m.embd%m.heads != 0 || m.heads%m.kvHeads != 0 {
		return fmt.Errorf("%s: %d heads do not split %d dimensions into %d KV groups", m.name, m.heads, m.embd, m.kvHeads)
	}
	vocab, err := m.vocab()
	if err != nil {
		return err
	}
	if m.chatML {
		vocab.addChatML()
	}
	ts := m.tensors(len(vocab.tokens))
	kv := ggml.KV{
		"general.architecture":         "llama",
		"general.type":                 "model",
		"general.name":                 m.name,
		"general.description":          m.description,
		"general.file_type":            uint32(m.fileType),
		"general.quantization_version": uint32(2),
		"general.parameter_count":      parameterCount(ts),

		"llama.vocab_size":                       uint32(len(vocab.tokens)),
		"llama.context_length":                   uint32(m.ctxLen),
		"llama.embedding_length":                 uint32(m.embd),
		"llama.block_count":                      uint32(m.layers),
		"llama.feed_forward_length":              uint32(m.ffn),
		"llama.attention.head_count":             uint32(m.heads),
		"llama.attention.head_count_kv":          uint32(m.kvHeads),
		"llama.attention.layer_norm_rms_epsilon": m.rmsEpsilon,
		"llama.rope.freq_base":                   m.ropeBase,
		"llama.rope.dimension_count":             uint32(m.embd / m.heads),

		"tokenizer.chat_template": chatMLTemplate,
	}
	if err := vocab.setKV(kv); err != nil {
		return err
	}
	return writeGGUF(ctx, dst, kv, ts, seed)
}

// uniformType is a weightType that gives every matrix the same type.
func uniformType(t ggml.TensorType) func(string, int) ggml.TensorType {
	return func(string, int) ggml.TensorType { return t }
}

// tinyLlama is the default chat model: a few MB, loads and generates in milliseconds, with Llama 2's real
// tokenizer and ChatML's special tokens so chat templating, stop tokens and streaming behave as with a
// ChatML fine-tune. Its output projection reuses the token embeddings, which halves the file.
var tinyLlama = llamaModel{
	name:        "tiny-llama",
	description: "Llama-architecture test model: Llama 2 tokenizer with ChatML tokens, random weights",
	vocab:       llama2Vocab,
	chatML:      true,
	embd:        128,
	layers:      2,
	ffn:         384,
	heads:       4,
	kvHeads:     2,
	ctxLen:      4096,
	tied:        true,
	fileType:    ggml.FileTypeQ8_0,
	weightType:  uniformType(ggml.TensorTypeQ8_0),
	ropeBase:    10000,
	rmsEpsilon:  1e-5,
}

// tinyGPT2 is tinyLlama with GPT-2's byte-level BPE tokenizer, whose tokens split UTF-8 characters across
// token boundaries: the model that shows detokenizing and streaming keep text valid.
var tinyGPT2 = func() llamaModel {
	m := tinyLlama
	m.name = "tiny-gpt2"
	m.description = "Llama-architecture test model: GPT-2 byte-level BPE tokenizer with ChatML tokens, random weights"
	m.vocab = gpt2Vocab
	return m
}()

func init() {
	registerGGUF(Recipe{
		Name:        "tiny-llama",
		Description: "llama, 2 layers, 128 dims, Llama 2 tokenizer + ChatML, Q8_0 (random weights)",
		Version:     1,
		Seed:        1,
		Default:     true,
	}, tinyLlama)
	registerGGUF(Recipe{
		Name:        "tiny-gpt2",
		Description: "llama, 2 layers, 128 dims, GPT-2 byte-level BPE + ChatML, Q8_0 (random weights)",
		Version:     1,
		Seed:        2,
	}, tinyGPT2)
}
