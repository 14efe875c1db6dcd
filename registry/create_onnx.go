package registry

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/ollama/ollama/types/model"

	"github.com/hearthlink/hearth/onnxspec"
)

// onnxLayers turns an uploaded ONNX model folder into layers: the graph as MediaTypeONNXModel and
// every other file as MediaTypeONNXFile, each named by its path in the folder so the engine can lay
// the folder out again. The config gets model_format "onnx", the family from config.json's
// model_type, and the capabilities and context length onnxspec reads from the folder (the same reading
// the model facts and the ONNX backend make, so what create records is what the model serves); a folder
// onnxspec cannot describe is refused here rather than at its first load.
func (s *Store) onnxLayers(files map[string]string, cfg *model.ConfigV2) ([]*newLayer, error) {
	names := sortedKeys(files)
	var graphs []string
	for _, f := range names {
		if err := s.checkUploaded(f, files[f]); err != nil {
			return nil, err
		}
		if strings.HasSuffix(strings.ToLower(f), ".onnx") {
			graphs = append(graphs, f)
		}
	}
	graph := graphs[0]
	if len(graphs) > 1 {
		i := slices.IndexFunc(graphs, func(g string) bool { return path.Base(g) == "model.onnx" })
		if i < 0 {
			return nil, inputErrorf("several ONNX graphs (%s): send only the one to run, or name it model.onnx", strings.Join(graphs, ", "))
		}
		graph = graphs[i]
	}

	paths := onnxspec.Files{}
	for name, digest := range files {
		paths[name] = s.blobPath(digest)
	}
	spec, err := onnxspec.Read(paths)
	if err != nil {
		return nil, inputErrorf("%v", err)
	}
	cfg.ModelFormat = "onnx"
	cfg.ModelFamily = cmp.Or(spec.HF.ModelType, "onnx")
	cfg.ModelFamilies = []string{cfg.ModelFamily}
	cfg.Capabilities = nil
	for _, c := range spec.Capabilities() {
		cfg.Capabilities = append(cfg.Capabilities, string(c))
	}
	cfg.ContextLen = spec.MaxLength
	if spec.Task == onnxspec.TaskEmbedding {
		cfg.EmbedLen = spec.HF.HiddenSize
	}

	layers := []*newLayer{s.onnxLayer(graph, files[graph], MediaTypeONNXModel)}
	for _, f := range names {
		if f != graph {
			layers = append(layers, s.onnxLayer(f, files[f], MediaTypeONNXFile))
		}
	}
	return layers, nil
}

// onnxLayer is the layer of one uploaded file of an ONNX model.
func (s *Store) onnxLayer(name, digest, mediaType string) *newLayer {
	l, _ := s.BlobLayer(digest, mediaType) // checkUploaded saw the blob
	l.Name = name
	return &newLayer{Layer: l, status: "using existing layer " + l.Digest}
}

// remoteURL normalises a create request's remote_host the way Ollama does: a bare path means the
// local Ollama, a missing scheme means http, ollama.com means https on 443, a missing port means 11434.
func remoteURL(raw string) (string, error) {
	if strings.HasPrefix(raw, "/") {
		return (&url.URL{Scheme: "http", Host: net.JoinHostPort("localhost", "11434"), Path: path.Clean(raw)}).String(), nil
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	if raw == "ollama.com" || raw == "http://ollama.com" {
		raw = "https://ollama.com:443"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse error: %w", err)
	}
	if u.Host == "" {
		u.Host = "localhost"
	}
	if host, port, err := net.SplitHostPort(u.Host); err == nil {
		u.Host = net.JoinHostPort(host, port)
	} else {
		u.Host = net.JoinHostPort(u.Host, "11434")
	}
	if u.Path != "" {
		u.Path = path.Clean(u.Path)
	}
	if u.Path == "/" {
		u.Path = ""
	}
	return u.String(), nil
}
