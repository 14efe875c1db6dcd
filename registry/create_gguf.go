package registry

import (
	"bytes"
	"io"
	"os"
	"strings"

	"github.com/ollama/ollama/fs/ggml"
)

// detectFilesType names the kind of model a set of files is, as Ollama's detectModelTypeFromFiles
// does (by suffix, then by the GGUF magic of an unsuffixed blob), with ONNX added.
func (s *Store) detectFilesType(files map[string]string) string {
	names := sortedKeys(files)
	for _, suffix := range []string{".onnx", ".safetensors", ".gguf"} {
		for _, f := range names {
			if strings.HasSuffix(strings.ToLower(f), suffix) {
				return strings.TrimPrefix(suffix, ".")
			}
		}
	}
	for _, f := range names {
		if s.isGGUFBlob(files[f]) {
			return "gguf"
		}
	}
	return ""
}

// checkGGUFFiles checks that every file's blob was uploaded and is a GGUF file.
func checkGGUFFiles(s *Store, files map[string]string) error {
	if len(files) == 0 {
		return errNoFilesProvided
	}
	for _, f := range sortedKeys(files) {
		if err := s.checkUploaded(f, files[f]); err != nil {
			return err
		}
		if !s.isGGUFBlob(files[f]) {
			return errOnlyGGUFSupported
		}
	}
	return nil
}

// checkUploaded reports a file whose blob is not in the store, saying how to fix it.
func (s *Store) checkUploaded(file, digest string) error {
	if s.HasBlob(digest) {
		return nil
	}
	d, _ := ParseDigest(digest)
	return inputErrorf("file %q: blob %s not found: upload it first with POST /api/blobs/%s", file, d, d)
}

// isGGUFBlob reports whether a stored blob starts with the GGUF magic.
func (s *Store) isGGUFBlob(digest string) bool {
	f, err := s.OpenBlob(digest)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return false
	}
	return ggml.DetectContentType(magic[:]) == "gguf"
}

// ggufLayers makes one layer per GGUF file, typed from its metadata (weights, adapter, projector),
// plus the autodetected template and parameters of a chat template Ollama knows.
func (s *Store) ggufLayers(files map[string]string, opts *CreateOptions) ([]*newLayer, error) {
	var layers []*newLayer
	for _, f := range sortedKeys(files) {
		opts.progress("parsing GGUF")
		d, _ := ParseDigest(files[f])
		info, err := s.GGUFInfo(d)
		if err != nil {
			return nil, inputErrorf("%s: %v", f, err)
		}
		l := &newLayer{Layer: Layer{MediaType: GGUFMediaType(info.KV), Digest: d}, kv: info.KV, status: "using existing layer " + d}
		if fi, err := os.Stat(s.blobPath(d)); err == nil {
			l.Size = fi.Size()
		}
		// Ollama records the blob's own path as the layer's origin; /api/show reports it as parent_model.
		l.From = s.blobPath(d)
		layers = append(layers, l)
		if layers, err = s.templateLayers(layers, info.KV, opts); err != nil {
			return nil, err
		}
	}
	return layers, nil
}

// templateLayers appends the template (and its parameters) of a GGUF chat template Ollama knows, as
// Ollama's detectChatTemplate does; a template it does not know adds nothing.
func (s *Store) templateLayers(layers []*newLayer, kv ggml.KV, opts *CreateOptions) ([]*newLayer, error) {
	t, err := MatchTemplate(kv)
	if err != nil {
		return layers, nil
	}
	tl, err := s.textLayer(strings.NewReader(t.Text), MediaTypeTemplate, opts)
	if err != nil {
		return nil, err
	}
	tl.status = "using autodetected template " + t.Name
	layers = append(layers, tl)
	if t.Parameters != nil {
		pl, err := s.textLayer(bytes.NewReader(append(t.Parameters, '\n')), MediaTypeParams, opts)
		if err != nil {
			return nil, err
		}
		layers = append(layers, pl)
	}
	return layers, nil
}
