package registry

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"

	"github.com/ollama/ollama/format"
	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/types/model"
)

// NewConfig returns the config Ollama's create starts every model from: os linux, architecture
// amd64 (fixed by the image spec, not the host), rootfs of type "layers".
func NewConfig() model.ConfigV2 {
	return model.ConfigV2{OS: "linux", Architecture: "amd64", RootFS: model.RootFS{Type: "layers"}}
}

// AddGGUF folds the metadata of one GGUF layer (weights, adapter or projector, in manifest order)
// into cfg the way Ollama's create does: the first layer sets model_format "gguf", model_family
// (general.architecture), model_type (the parameter count as format.HumanNumber writes it, e.g.
// "3.2B") and file_type (e.g. "Q4_K_M"); every layer appends its architecture to model_families.
// Fields already set (from the request's info) win.
func AddGGUF(cfg *model.ConfigV2, kv ggml.KV) {
	cfg.ModelFormat = cmp.Or(cfg.ModelFormat, "gguf")
	cfg.ModelFamily = cmp.Or(cfg.ModelFamily, kv.Architecture())
	cfg.ModelType = cmp.Or(cfg.ModelType, format.HumanNumber(kv.ParameterCount()))
	cfg.FileType = cmp.Or(cfg.FileType, kv.FileType().String())
	cfg.ModelFamilies = append(cfg.ModelFamilies, kv.Architecture())
}

// GGUFMediaType is the layer type Ollama's create gives a GGUF file from its metadata: an adapter
// (general.type "adapter"), a projector (general.type "projector", or vision blocks without text
// blocks), otherwise the model weights.
func GGUFMediaType(kv ggml.KV) string {
	switch {
	case kv.Kind() == "adapter":
		return MediaTypeAdapter
	case kv.Kind() == "projector", kv.Uint("block_count") == 0 && kv.Uint("vision.block_count") > 0:
		return MediaTypeProjector
	default:
		return MediaTypeModel
	}
}

// WriteModel finishes a create: it sets cfg's rootfs diff_ids to the layers' digests, stores cfg as
// the config blob (JSON as Ollama writes it) and writes the manifest for name, with WriteManifest's
// checks and replacement semantics. The layers' blobs must already be in the store.
func (s *Store) WriteModel(ctx context.Context, name string, cfg model.ConfigV2, layers []Layer) (*ManifestFile, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	cfg.RootFS.Type = cmp.Or(cfg.RootFS.Type, "layers")
	cfg.RootFS.DiffIDs = make([]string, len(layers))
	for i, l := range layers {
		cfg.RootFS.DiffIDs[i] = l.Digest
	}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(cfg); err != nil {
		return nil, err
	}

	// The config blob is written under the lock so that a concurrent delete cannot collect an
	// identical config blob between its write and the manifest's.
	s.mu.Lock()
	defer s.mu.Unlock()
	blob, err := s.WriteBlob(ctx, &b, "")
	if err != nil {
		return nil, err
	}
	return s.writeManifestLocked(name, s.canonical(n), NewManifest(blob.Layer(MediaTypeConfig), layers))
}
