package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"time"

	"github.com/ollama/ollama/types/model"
)

// Layer is one blob a manifest references: the config, or one of the layers. The JSON field names
// and order are Ollama's (manifest.Layer), so manifests round-trip byte for byte.
type Layer struct {
	// MediaType says what the blob is, e.g. MediaTypeModel.
	MediaType string `json:"mediaType"`
	// Digest is the blob's sha256:<hex> digest.
	Digest string `json:"digest"`
	// Size is the blob's length in bytes.
	Size int64 `json:"size"`
	// From is the model this layer was inherited from (set by create from an existing model);
	// /api/show reports the model layer's From as parent_model.
	From string `json:"from,omitempty"`
	// Name is a relative path for file layers (ONNX files, Ollama's json/tensor layers).
	Name string `json:"name,omitempty"`
}

// Manifest is a model's manifest: a Docker v2 image manifest whose config is a model.ConfigV2 blob
// and whose layers are the model's parts.
type Manifest struct {
	// SchemaVersion is always 2.
	SchemaVersion int `json:"schemaVersion"`
	// MediaType is always MediaTypeManifest.
	MediaType string `json:"mediaType"`
	// Config is the config blob.
	Config Layer `json:"config"`
	// Layers are the model's parts, in order.
	Layers []Layer `json:"layers"`
}

// NewManifest returns a schema-2 manifest over a config blob and layers.
func NewManifest(config Layer, layers []Layer) Manifest {
	return Manifest{SchemaVersion: 2, MediaType: MediaTypeManifest, Config: config, Layers: layers}
}

// Size is the sum of the config and layer sizes: the size /api/tags reports.
func (m *Manifest) Size() int64 {
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size
}

// Blobs returns every blob the manifest references, config first; a config-less manifest (an Ollama
// remote model may have one) contributes no config entry.
func (m *Manifest) Blobs() []Layer {
	blobs := make([]Layer, 0, len(m.Layers)+1)
	if m.Config.Digest != "" {
		blobs = append(blobs, m.Config)
	}
	return append(blobs, m.Layers...)
}

// encode renders the manifest exactly as Ollama's WriteManifest does (encoding/json's Encoder, so
// with HTML escaping and a trailing newline); identical manifests therefore get identical digests
// in both programs.
func (m *Manifest) encode() ([]byte, error) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// validate checks what a manifest must satisfy before hearth writes it or trusts it: known schema,
// well-formed digests, and safe relative names on ONNX file layers.
func (m *Manifest) validate() error {
	if m.SchemaVersion != 2 {
		return fmt.Errorf("schemaVersion %d, want 2", m.SchemaVersion)
	}
	for _, l := range m.Blobs() {
		if d, err := ParseDigest(l.Digest); err != nil || d != l.Digest {
			return fmt.Errorf("layer %s: %w", l.MediaType, &DigestFormatError{Digest: l.Digest})
		}
		if l.Size < 0 {
			return fmt.Errorf("layer %s: negative size %d", l.Digest, l.Size)
		}
		if isONNXType(l.MediaType) && (l.Name == "" || !fs.ValidPath(l.Name) || l.Name == ".") {
			return fmt.Errorf("layer %s: file name %q must be a relative path inside the model", l.Digest, l.Name)
		}
	}
	return nil
}

// ManifestFile is a manifest as stored: the parsed manifest plus what the file itself tells.
type ManifestFile struct {
	// Name is the model's name in the store's own casing.
	Name model.Name
	// Manifest is the decoded manifest.
	Manifest Manifest
	// Digest is the hex SHA-256 of the manifest file's bytes, without a sha256: prefix: the digest
	// /api/tags and /api/ps report.
	Digest string
	// ModifiedAt is the manifest file's modification time.
	ModifiedAt time.Time
	// Path is the manifest file's path.
	Path string
}

// decodeManifestFile parses manifest bytes read from path.
func decodeManifestFile(n model.Name, path string, data []byte, modTime time.Time) (*ManifestFile, error) {
	mf := &ManifestFile{Name: n, Path: path, ModifiedAt: modTime}
	sum := sha256.Sum256(data)
	mf.Digest = hex.EncodeToString(sum[:])
	if err := json.Unmarshal(data, &mf.Manifest); err != nil {
		return nil, err
	}
	return mf, nil
}
