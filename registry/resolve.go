package registry

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// Model is a stored model resolved to what the engine and the handlers need: file paths for the
// weights, and the small layers (template, system prompt, parameters, ...) already read.
type Model struct {
	// Name is the model's name in the store's casing.
	Name model.Name
	// ShortName is the name as /api/tags and /api/ps show it, e.g. "llama3.2:latest".
	ShortName string
	// Digest is the hex SHA-256 of the manifest file, without a sha256: prefix.
	Digest string
	// ModifiedAt is the manifest file's modification time.
	ModifiedAt time.Time
	// Manifest is the manifest itself, for anything not broken out below.
	Manifest Manifest
	// Config is the decoded config blob.
	Config model.ConfigV2

	// ModelPath is the GGUF weights blob ("" for a model without one, e.g. ONNX or remote).
	ModelPath string
	// ModelDigest is the weights blob's digest, the key for GGUFInfo.
	ModelDigest string
	// ParentModel is the model layer's From: the model this one was created from.
	ParentModel string
	// AdapterPaths are the LoRA adapter blobs, in manifest order.
	AdapterPaths []string
	// ProjectorPaths are the vision projector blobs, in manifest order.
	ProjectorPaths []string
	// ProjectorDigests are the projector blobs' digests, parallel to ProjectorPaths.
	ProjectorDigests []string

	// Template is the prompt template's text ("" when the model has none; Ollama then uses
	// "{{ .Prompt }}").
	Template string
	// System is the default system prompt.
	System string
	// Options are the default parameters (the params layer), as decoded JSON.
	Options map[string]any
	// Messages are the messages the model's Modelfile prepends to every chat.
	Messages []api.Message
	// License holds each license layer's text, in manifest order.
	License []string

	// ONNXModel is the relative name of the ONNX graph ("" for a model without one).
	ONNXModel string
	// ONNXFiles maps every ONNX layer's relative name, the graph's included, to its blob, so the
	// engine can lay the files out as the directory they came from.
	ONNXFiles map[string]string
}

// Resolve finds a model by name (case-insensitively) and reads it. Errors are *InvalidNameError
// (400), *NotFoundError (404), *MissingBlobError when the manifest points at blobs the store lacks,
// and *CorruptManifestError when a manifest, config or small layer cannot be decoded.
//
// A resolved model is cached and served again while its manifest file (and, for a name spelled
// differently from the store, the store's spelling), its blobs and this store's own changes say it is
// still current; see resolvecache.go. Each call returns its own Model, but the slices and maps in it
// are shared between calls and must be treated as read-only.
func (s *Store) Resolve(name string) (*Model, error) {
	if m := s.cachedModel(name); m != nil {
		return m, nil
	}
	before := s.beginResolve()
	r, err := s.readManifest(name)
	if err != nil {
		return nil, err
	}
	m, err := s.modelOf(name, r.file)
	if err != nil {
		return nil, err
	}
	s.remember(name, before, r, m)
	return m, nil
}

// modelOf reads the layers of a checked manifest into a Model.
func (s *Store) modelOf(name string, mf *ManifestFile) (*Model, error) {
	m := &Model{
		Name:       mf.Name,
		ShortName:  mf.Name.DisplayShortest(),
		Digest:     mf.Digest,
		ModifiedAt: mf.ModifiedAt,
		Manifest:   mf.Manifest,
	}
	corrupt := func(err error) error { return &CorruptManifestError{Name: name, Err: err} }

	if d := mf.Manifest.Config.Digest; d != "" {
		if err := s.readConfig(d, &m.Config); err != nil {
			return nil, corrupt(fmt.Errorf("config %s: %w", d, err))
		}
	}

	for _, l := range mf.Manifest.Layers {
		path := s.blobPath(l.Digest) // ReadManifest has checked the digest and the file
		switch l.MediaType {
		case MediaTypeModel:
			m.ModelPath, m.ModelDigest, m.ParentModel = path, l.Digest, l.From
		case MediaTypeAdapter:
			m.AdapterPaths = append(m.AdapterPaths, path)
		case MediaTypeProjector:
			m.ProjectorPaths = append(m.ProjectorPaths, path)
			m.ProjectorDigests = append(m.ProjectorDigests, l.Digest)
		case MediaTypeTemplate, MediaTypePrompt:
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			m.Template = string(b)
		case MediaTypeSystem:
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			m.System = string(b)
		case MediaTypeLicense:
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			m.License = append(m.License, string(b))
		case MediaTypeParams:
			if err := decodeJSONFile(path, &m.Options); err != nil {
				return nil, corrupt(fmt.Errorf("parameters layer %s: %w", l.Digest, err))
			}
		case MediaTypeMessages:
			if err := decodeJSONFile(path, &m.Messages); err != nil {
				return nil, corrupt(fmt.Errorf("messages layer %s: %w", l.Digest, err))
			}
		case MediaTypeONNXModel, MediaTypeONNXFile:
			if err := m.addONNXFile(l, path); err != nil {
				return nil, corrupt(err)
			}
		}
	}
	if m.ONNXFiles != nil && m.ONNXModel == "" {
		return nil, corrupt(fmt.Errorf("ONNX files without a %s layer", MediaTypeONNXModel))
	}
	return m, nil
}

// addONNXFile records one ONNX layer, refusing names that could escape the model's directory or
// Details returns the model's details as /api/show and /api/ps report them.
func (m *Model) Details() api.ModelDetails { return details(m.Config, m.ParentModel) }

// collide, and a second graph.
func (m *Model) addONNXFile(l Layer, path string) error {
	probe := Manifest{SchemaVersion: 2, Layers: []Layer{l}}
	if err := probe.validate(); err != nil {
		return err
	}
	if m.ONNXFiles == nil {
		m.ONNXFiles = make(map[string]string)
	}
	if _, dup := m.ONNXFiles[l.Name]; dup {
		return fmt.Errorf("ONNX file %q appears twice", l.Name)
	}
	m.ONNXFiles[l.Name] = path
	if l.MediaType == MediaTypeONNXModel {
		if m.ONNXModel != "" {
			return fmt.Errorf("two ONNX graphs, %q and %q", m.ONNXModel, l.Name)
		}
		m.ONNXModel = l.Name
	}
	return nil
}

// decodeJSONFile decodes the JSON document in a file, as Ollama decodes params and messages layers.
func decodeJSONFile(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewDecoder(f).Decode(v)
}
