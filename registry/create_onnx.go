package registry

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/ollama/ollama/types/model"
)

// ONNXConfigFile is the hearth-specific file of an ONNX model folder that names the model's task
// (see models.ONNXConfig); config.json is Hugging Face's model config.
const (
	ONNXConfigFile = "hearth.json"
	hfConfigFile   = "config.json"
)

// onnxTaskCapability maps an ONNX model's task to the capability /api/show reports.
var onnxTaskCapability = map[string]model.Capability{
	"embedding":      model.CapabilityEmbedding,
	"classification": CapabilityClassification,
	"rerank":         CapabilityRerank,
}

// onnxLayers turns an uploaded ONNX model folder into layers: the graph as MediaTypeONNXModel and
// every other file as MediaTypeONNXFile, each named by its path in the folder so the engine can lay
// the folder out again. The config gets model_format "onnx", the family from config.json's
// model_type and the capability from hearth.json's task (or, without one, from config.json's
// architectures: a *ForSequenceClassification model classifies, anything else embeds).
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

	var hearth struct {
		Task      string `json:"task"`
		MaxLength int    `json:"max_length"`
	}
	var hf struct {
		ModelType             string   `json:"model_type"`
		Architectures         []string `json:"architectures"`
		HiddenSize            int      `json:"hidden_size"`
		MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	}
	if d, ok := files[ONNXConfigFile]; ok {
		if err := s.decodeSmallJSON(d, &hearth); err != nil {
			return nil, inputErrorf("%s: %v", ONNXConfigFile, err)
		}
	}
	if d, ok := files[hfConfigFile]; ok {
		if err := s.decodeSmallJSON(d, &hf); err != nil {
			return nil, inputErrorf("%s: %v", hfConfigFile, err)
		}
	}
	task := hearth.Task
	if task == "" {
		task = "embedding"
		for _, a := range hf.Architectures {
			if strings.HasSuffix(a, "ForSequenceClassification") {
				task = "classification"
			}
		}
	}
	capability, ok := onnxTaskCapability[task]
	if !ok {
		return nil, inputErrorf("%s: unknown task %q: want embedding, classification or rerank", ONNXConfigFile, task)
	}

	cfg.ModelFormat = "onnx"
	cfg.ModelFamily = cmp.Or(hf.ModelType, "onnx")
	cfg.ModelFamilies = []string{cfg.ModelFamily}
	cfg.Capabilities = []string{string(capability)}
	cfg.ContextLen = cmp.Or(hearth.MaxLength, hf.MaxPositionEmbeddings)
	if capability == model.CapabilityEmbedding {
		cfg.EmbedLen = hf.HiddenSize
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

// decodeSmallJSON decodes a JSON blob of at most 1 MiB.
func (s *Store) decodeSmallJSON(digest string, v any) error {
	f, err := s.OpenBlob(digest)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(v)
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
