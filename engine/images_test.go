package engine

import (
	"errors"
	"testing"

	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/modelfacts"
)

// textGenerator is a Generator without image support; visionGenerator reads images when reads is set.
type textGenerator struct{ Generator }

type visionGenerator struct {
	Generator
	reads bool
}

func (g visionGenerator) ReadsImages() bool { return g.reads }

// TestImagesFor pins what becomes of a prompt's images: a runner that reads them gets them; a model
// without vision ignores them, as Ollama does; a vision model whose engine cannot read images (llama.cpp
// with a projector, for now) answers a request error instead of a reply that never saw the image.
func TestImagesFor(t *testing.T) {
	images := []Image{{ID: 0, Data: []byte{1}}}
	text := &modelfacts.Facts{Capabilities: []model.Capability{model.CapabilityCompletion}}
	vision := &modelfacts.Facts{Capabilities: []model.Capability{model.CapabilityCompletion, model.CapabilityVision}}
	if got, err := imagesFor(visionGenerator{reads: true}, vision, "m", images); err != nil || len(got) != 1 {
		t.Errorf("vision runner: %v, %v; want the image", got, err)
	}
	for _, g := range []Generator{textGenerator{}, visionGenerator{}} {
		if got, err := imagesFor(g, text, "m", images); err != nil || got != nil {
			t.Errorf("text model: %v, %v; want the image ignored", got, err)
		}
		if _, err := imagesFor(g, vision, "m", images); !errors.Is(err, ErrBadRequest) {
			t.Errorf("vision model, runner without images: %v, want a request error", err)
		}
	}
	if got, err := imagesFor(textGenerator{}, vision, "m", nil); err != nil || got != nil {
		t.Errorf("no images: %v, %v", got, err)
	}
}
