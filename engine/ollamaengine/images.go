package ollamaengine

import (
	"fmt"
	"hash/maphash"
	"image"
	"regexp"
	"slices"
	"strconv"

	"golang.org/x/image/webp"

	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/hearthlink/hearth/engine"
)

func init() {
	// Ollama's server registers WebP so WebP images reach the models (server/routes.go); PNG and JPEG
	// come with Ollama's model package.
	image.RegisterFormat("webp", "RIFF????WEBP", webp.Decode, webp.DecodeConfig)
}

// imageTag is the mark engine/prompt.go leaves where image N of the request goes, as Ollama's server does.
var imageTag = regexp.MustCompile(`\[img-(\d+)\]`)

// imageSeed keys the images' hashes: equal bytes give equal hashes in this process, so the prefix cache
// reuses a slot whose cache holds the same image at the same place, as Ollama's runner does.
var imageSeed = maphash.MakeSeed()

// ReadsImages reports whether the model turns images into its input: a vision tower in the model
// (Ollama's model.MultimodalProcessor).
func (r *Runner) ReadsImages() bool {
	_, ok := r.model.(model.MultimodalProcessor)
	return ok
}

// inputs turns a prompt and its images into the engine's inputs as Ollama's runner does: a model with a
// vision tower gets the prompt split at its [img-N] tags, each part tokenized (BOS before the first
// only) and each tag replaced by its image, encoded by the model (EncodeMultimodal builds the vision
// graph; encodedImages computes it when the image first goes into a batch); then the model rearranges
// the inputs (PostTokenize: an image becomes its embedding's positions between the model's own tokens),
// even without images. Without images the tags are plain text, as for a model without vision.
func (r *Runner) inputs(prompt string, images []engine.Image) (inputs []*input.Input, imgs *encodedImages, err error) {
	mm, vision := r.model.(model.MultimodalProcessor)
	parts, tags := []string{prompt}, [][]string(nil)
	if vision && len(images) > 0 {
		parts, tags = imageTag.Split(prompt, -1), imageTag.FindAllStringSubmatch(prompt, -1)
	}
	imgs = &encodedImages{byTensor: map[ml.Tensor]*encodedImage{}}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the Go engine failed encoding an image: %v", p)
		}
		if err != nil {
			imgs.close()
		}
	}()
	for i, part := range parts {
		ids, err := r.tok.Encode(part, i == 0)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range ids {
			inputs = append(inputs, &input.Input{Token: id})
		}
		if i >= len(tags) {
			continue
		}
		n, _ := strconv.Atoi(tags[i][1])
		k := slices.IndexFunc(images, func(im engine.Image) bool { return im.ID == n })
		if k < 0 {
			return nil, nil, &engine.RequestError{Msg: fmt.Sprintf("failed to process inputs: invalid image index: %d", n)}
		}
		embedding, err := imgs.encode(r.model.Backend(), mm, images[k].Data)
		if err != nil {
			return nil, nil, err
		}
		inputs = append(inputs, &input.Input{Multimodal: embedding, MultimodalHash: maphash.Bytes(imageSeed, images[k].Data)})
	}
	if vision {
		if inputs, err = mm.PostTokenize(inputs); err != nil {
			return nil, nil, err
		}
	}
	return inputs, imgs, nil
}

// encodedImages are the images of one sequence: for each, the vision graph EncodeMultimodal built, and
// once computed its values, which each batch that takes the image gets as input tensors of its own (a
// tensor belongs to one graph) — Ollama's multimodalStore.
type encodedImages struct {
	byTensor map[ml.Tensor]*encodedImage
	all      []*encodedImage
}

// encodedImage is one image's embedding: the parts EncodeMultimodal returned, the context holding their
// graph until it is computed, then each part's values and shape.
type encodedImage struct {
	parts  []input.Multimodal
	ctx    ml.Context
	values [][]float32
	shapes [][]int
	err    error // the computation's failure, for every batch that takes the image
}

// encode has mm build data's embedding graph in a context of its own. An image the model cannot decode
// is the client's mistake, in the words of Ollama's runner.
func (s *encodedImages) encode(b ml.Backend, mm model.MultimodalProcessor, data []byte) ([]input.Multimodal, error) {
	ctx := b.NewContext()
	parts, err := mm.EncodeMultimodal(ctx, data)
	if err != nil {
		ctx.Close()
		return nil, &engine.RequestError{Msg: "failed to process inputs: " + err.Error()}
	}
	e := &encodedImage{parts: parts, ctx: ctx}
	s.all = append(s.all, e)
	for _, p := range parts {
		if p.Tensor != nil {
			s.byTensor[p.Tensor] = e
		}
	}
	return parts, nil
}

// resolve returns the image parts of an input for a batch: the values and shapes of its tensors (computing
// the image's graph the first time) and its data.
func (s *encodedImages) resolve(parts []input.Multimodal) ([]imagePart, error) {
	out := make([]imagePart, len(parts))
	for i, p := range parts {
		out[i].data = p.Data
		if p.Tensor == nil {
			continue
		}
		e := s.byTensor[p.Tensor]
		if e == nil {
			return nil, fmt.Errorf("the image of an input is not one of this request's")
		}
		if err := e.compute(); err != nil {
			return nil, err
		}
		j := slices.IndexFunc(e.parts, func(q input.Multimodal) bool { return q.Tensor == p.Tensor })
		out[i].values, out[i].shape = e.values[j], e.shapes[j]
	}
	return out, nil
}

// compute runs the image's vision graph once, under the engine's compute lock, keeps the values and frees
// the graph.
func (e *encodedImage) compute() (err error) {
	if e.ctx == nil {
		return e.err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the Go engine failed encoding an image: %v", p)
		}
		e.ctx.Close()
		e.ctx, e.err = nil, err
	}()
	var ts []ml.Tensor
	for _, p := range e.parts {
		if p.Tensor != nil {
			ts = append(ts, p.Tensor)
		}
	}
	e.values, e.shapes = make([][]float32, len(e.parts)), make([][]int, len(e.parts))
	if len(ts) == 0 {
		return nil
	}
	e.ctx.Forward(ts...)
	e.ctx.SetBatchSize(512) // as Ollama's runner: encoding an image is like a large batch
	computeMu.Lock()
	defer computeMu.Unlock()
	e.ctx.Compute(ts...)
	for i, p := range e.parts {
		if p.Tensor != nil {
			e.values[i], e.shapes[i] = p.Tensor.Floats(), p.Tensor.Shape()
		}
	}
	return nil
}

// close frees the graphs of images never computed.
func (s *encodedImages) close() {
	if s == nil {
		return
	}
	for _, e := range s.all {
		if e.ctx != nil {
			e.ctx.Close()
			e.ctx = nil
		}
	}
}

// imagePart is one part of an image's embedding as a batch takes it: values and shape for an input
// tensor of the batch's graph, and the model's own data.
type imagePart struct {
	values []float32
	shape  []int
	data   any
}

// batchImage is an image input of a step's batch: its index among the batch's inputs and its parts.
type batchImage struct {
	index int
	parts []imagePart
}

// multimodal makes the batch's image inputs tensors of ctx's graph.
func multimodal(ctx ml.Context, images []batchImage) []input.MultimodalIndex {
	out := make([]input.MultimodalIndex, len(images))
	for i, im := range images {
		mm := make([]input.Multimodal, len(im.parts))
		for j, p := range im.parts {
			mm[j].Data = p.data
			if p.values != nil {
				mm[j].Tensor = ctx.Input().FromFloats(p.values, p.shape...)
			}
		}
		out[i] = input.MultimodalIndex{Index: im.index, Multimodal: mm}
	}
	return out
}
