// Package hfconvert turns a Hugging Face folder (config.json, tokenizer files, safetensors) into a GGUF
// with Ollama's own converter (github.com/ollama/ollama/convert), as Ollama's create does, and also accepts
// the checkpoints Ollama 0.17.4's converter drops or breaks:
//
//   - Qwen3ForCausalLM and Qwen3MoeForCausalLM: the dispatch in convert.LoadModelMetadata lost their case,
//     though its Qwen 3 converter (convert_qwen3.go) still ships and is reached through
//     Qwen3VLForConditionalGeneration, whose text model it is. The folder is presented to the converter as
//     that class with the Qwen 3 config as its text_config, and the GGUF it writes is renamed back to
//     qwen3/qwen3moe, less the vision keys a folder without a vision tower does not need.
//     Qwen3-MoE keeps each expert's weights apart in the checkpoint, which that converter leaves as they
//     are (its "TODO: handle split experts"): they are stacked into the ffn_*_exps tensors every engine
//     reads, as the converter does for Mixtral and Qwen3-Next.
//   - MixtralForCausalLM: convert_mixtral.go writes the experts' w2 (down) weights as ffn_up_exps and w3
//     (up) as ffn_down_exps, which no engine loads; the two names are swapped back.
//
// Everything else is convert.ConvertModel's output unchanged. The fixes rewrite the converter's own GGUF
// (its tensors byte for byte): no weight is converted by code other than Ollama's.
package hfconvert

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ollama/ollama/convert"
	"github.com/ollama/ollama/fs/ggml"
)

// fix converts a folder whose class 0.17.4's converter does not handle as is.
type fix func(fsys fs.FS, f *os.File) error

// fixes are the classes this package converts differently, by config.json's first architecture.
var fixes = map[string]fix{
	"Qwen3ForCausalLM":    convertQwen3,
	"Qwen3MoeForCausalLM": convertQwen3,
	"MixtralForCausalLM":  convertMixtral,
}

// Convert writes the GGUF of the Hugging Face folder fsys to f. Its errors are the converter's.
func Convert(fsys fs.FS, f *os.File) error {
	if fx, ok := fixes[architecture(fsys)]; ok {
		return fx(fsys, f)
	}
	return convert.ConvertModel(fsys, f)
}

// architecture is config.json's first architecture, "" when it has none (the converter then says why).
func architecture(fsys fs.FS) string {
	b, err := fs.ReadFile(fsys, "config.json")
	if err != nil {
		return ""
	}
	var c struct {
		Architectures []string `json:"architectures"`
	}
	if json.Unmarshal(b, &c) != nil || len(c.Architectures) == 0 {
		return ""
	}
	return c.Architectures[0]
}

// convertThenEdit runs Ollama's converter on fsys into a temporary file beside f, then writes f from it:
// its metadata and tensors as edit leaves them, the tensors' bytes copied from the converter's file. The
// temporary file (as large as the model, for the time of the conversion) is named after f, so whatever
// convention f's name follows for temporaries (the model store's prefix, which its clean-up knows) covers
// it too.
func convertThenEdit(fsys fs.FS, f *os.File, edit func(ggml.KV, []*ggml.Tensor) (ggml.KV, []*ggml.Tensor, error)) error {
	tmp, err := os.CreateTemp(filepath.Dir(f.Name()), filepath.Base(f.Name())+"-hfconvert-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := convert.ConvertModel(fsys, tmp); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	g, err := ggml.Decode(tmp, -1)
	if err != nil {
		return fmt.Errorf("reading the converter's GGUF: %w", err)
	}
	ts := g.Tensors().Items()
	base := g.Tensors().Offset
	for _, t := range ts {
		t.WriterTo = section{tmp, int64(base + t.Offset), int64(t.Size())}
	}
	kv, ts, err := edit(g.KV(), ts)
	if err != nil {
		return err
	}
	return ggml.WriteGGUF(f, kv, ts)
}

// section writes n bytes of the converter's file from off.
type section struct {
	f      *os.File
	off, n int64
}

func (s section) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, io.NewSectionReader(s.f, s.off, s.n))
}

// concat writes its parts one after the other.
type concat []io.WriterTo

func (c concat) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, p := range c {
		m, err := p.WriteTo(w)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
