// Package hfmodels generates test models the way people get most models today: a Hugging Face checkpoint
// (config.json, tokenizer files, safetensors) with seeded random weights, turned into GGUF by Ollama's own
// converter (github.com/ollama/ollama/convert, what `ollama create` runs on a safetensors folder) the way
// hearth's create calls it (registry/hfconvert, which also takes the Qwen 3 and Mixtral classes 0.17.4's
// converter drops or breaks). It makes GGUFs of the architectures only Ollama's Go engine runs (olmo3,
// ...), whose names and layouts llama.cpp's tools never write.
//
// It is apart from package models because the two cannot share a test binary: Ollama's converter and the
// ONNX tests of package models (gonnx, which read the written graphs back) each link a copy of the same
// generated protobuf messages (github.com/pdevine/tensor and gorgonia.org/tensor), and
// github.com/golang/protobuf panics at start-up on the second registration of an enum, whatever
// GOLANG_PROTOBUF_REGISTRATION_CONFLICT says. Package models itself links gonnx only in its tests, so this
// package uses its cache and npm folders, and other packages may import both.
package hfmodels

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry/hfconvert"
)

// Recipe is one generated model.
type Recipe struct {
	// Name is the short name tests use ("tiny-olmo3").
	Name string
	// Description is one line on what the model is.
	Description string
	// Version changes whenever the recipe's output changes; it is part of the file name.
	Version int
	// Seed feeds the weight generator.
	Seed int64
	// Checkpoint is the Hugging Face checkpoint the GGUF is converted from.
	Checkpoint Checkpoint
}

// Checkpoint is a model in Hugging Face's layout, before conversion.
type Checkpoint struct {
	// Config is config.json.
	Config map[string]any
	// Tokenizer writes tokenizer.json, tokenizer_config.json and generation_config.json into a folder.
	Tokenizer func(dir string) error
	// Tensors lists the weights.
	Tensors []Tensor
	// Files are further JSON files of the folder by path (a sentence-transformers modules.json, ...).
	Files map[string]any
}

// Tensor is one weight of a checkpoint, named and shaped as PyTorch holds it (rows first: a Linear's weight
// is [out, in]). Values are normal with standard deviation Std, or all equal to Value when Std is 0.
type Tensor struct {
	Name  string
	Shape []uint64
	Std   float32
	Value float32
	// Bytes makes the tensor U8 (packed quantized weights, such as gpt-oss's MXFP4 blocks and scales):
	// uniformly random bytes when Std is not 0, else every byte is Value.
	Bytes bool
}

var recipes = map[string]Recipe{}

// register adds a recipe; called from init functions.
func register(r Recipe) {
	if _, dup := recipes[r.Name]; dup {
		panic("hfmodels: duplicate recipe " + r.Name)
	}
	recipes[r.Name] = r
}

// Lookup returns the recipe called name.
func Lookup(name string) (Recipe, error) {
	r, ok := recipes[name]
	if !ok {
		return Recipe{}, fmt.Errorf("hfmodels: no recipe named %q", name)
	}
	return r, nil
}

// Names lists the recipes, sorted.
func Names() []string {
	out := make([]string, 0, len(recipes))
	for n := range recipes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var generateMu sync.Mutex

// Ensure returns the path of the GGUF file of recipe name under dir (models.CacheDir()/models when empty),
// generating and converting it first if it is not there. The file is written under a temporary name and
// renamed into place, so a crash never leaves half a model where a reader would take it for a whole one.
func Ensure(ctx context.Context, dir, name string) (string, error) {
	r, err := Lookup(name)
	if err != nil {
		return "", err
	}
	if dir == "" {
		dir = filepath.Join(models.CacheDir(), "models")
	}
	final := filepath.Join(dir, fmt.Sprintf("%s-v%d-s%d.gguf", r.Name, r.Version, r.Seed))
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	generateMu.Lock()
	defer generateMu.Unlock()
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("hfmodels: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".gen-"+r.Name+"-")
	if err != nil {
		return "", fmt.Errorf("hfmodels: %w", err)
	}
	defer os.RemoveAll(tmp)
	gguf := filepath.Join(tmp, "model.gguf")
	if err := r.Checkpoint.Convert(ctx, filepath.Join(tmp, "hf"), gguf, r.Seed); err != nil {
		return "", fmt.Errorf("hfmodels: generating %s: %w", r.Name, err)
	}
	if err := os.Rename(gguf, final); err != nil {
		if _, statErr := os.Stat(final); statErr == nil {
			return final, nil // another process won the race with identical bytes
		}
		return "", fmt.Errorf("hfmodels: %w", err)
	}
	return final, nil
}

// Convert writes the checkpoint with seed into the folder hfDir and converts it to the GGUF file dst with
// Ollama's converter, as hearth's create does (hfconvert: Ollama's, with the classes 0.17.4's drops or
// breaks fixed).
func (c Checkpoint) Convert(ctx context.Context, hfDir, dst string, seed int64) error {
	if err := os.MkdirAll(hfDir, 0o755); err != nil {
		return err
	}
	if err := c.WriteFolder(ctx, hfDir, seed); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := hfconvert.Convert(os.DirFS(hfDir), f); err != nil {
		f.Close()
		os.Remove(dst)
		return fmt.Errorf("ollama's converter: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteFolder writes the Hugging Face files into dir.
func (c Checkpoint) WriteFolder(ctx context.Context, dir string, seed int64) error {
	if err := writeJSON(filepath.Join(dir, "config.json"), c.Config); err != nil {
		return err
	}
	if err := c.Tokenizer(dir); err != nil {
		return err
	}
	for name, v := range c.Files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := writeJSON(path, v); err != nil {
			return err
		}
	}
	return writeSafetensors(ctx, filepath.Join(dir, "model.safetensors"), c.Tensors, seed)
}

// writeJSON writes v as indented JSON.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// writeSafetensors writes ts as one safetensors file (F32 tensors, and U8 for Bytes ones): an 8-byte little-endian header length, the JSON
// header (dtype, shape and byte range of each tensor, by name) and the data.
func writeSafetensors(ctx context.Context, path string, ts []Tensor, seed int64) (err error) {
	sorted := append([]Tensor(nil), ts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []uint64 `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var off int64
	for _, t := range sorted {
		n := int64(t.elementSize() * elements(t.Shape))
		header[t.Name] = entry{DType: t.dtype(), Shape: t.Shape, Offsets: [2]int64{off, off + n}}
		off += n
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 { // the format pads the header with spaces so the data starts 8-byte aligned
		hb = append(hb, ' ')
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := binary.Write(f, binary.LittleEndian, uint64(len(hb))); err != nil {
		return err
	}
	if _, err := f.Write(hb); err != nil {
		return err
	}
	for _, t := range sorted {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := f.Write(t.values(seed)); err != nil {
			return err
		}
	}
	return nil
}

// dtype is the tensor's safetensors data type.
func (t Tensor) dtype() string {
	if t.Bytes {
		return "U8"
	}
	return "F32"
}

// elementSize is the size in bytes of one of the tensor's values.
func (t Tensor) elementSize() uint64 {
	if t.Bytes {
		return 1
	}
	return 4
}

// values draws the tensor's values, little-endian F32 (or bytes), from a PCG stream keyed by seed and the
// tensor's name, so one tensor's values do not depend on the others.
func (t Tensor) values(seed int64) []byte {
	h := fnv.New64a()
	h.Write([]byte(t.Name))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	if t.Bytes {
		out := make([]byte, elements(t.Shape))
		for i := range out {
			out[i] = byte(t.Value)
			if t.Std != 0 {
				out[i] = byte(rng.Uint32())
			}
		}
		return out
	}
	out := make([]byte, 4*elements(t.Shape))
	for i := 0; i < len(out); i += 4 {
		v := t.Value
		if t.Std != 0 {
			v = float32(rng.NormFloat64()) * t.Std
		}
		binary.LittleEndian.PutUint32(out[i:], math.Float32bits(v))
	}
	return out
}

// elements is the number of values of a tensor of shape.
func elements(shape []uint64) uint64 {
	n := uint64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}
