package registry

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/types/model"
)

// ErrInvalidInput reports a create request that cannot work as written (a bad file name, a file of
// the wrong kind, a template that does not parse...); a handler answers it with 400.
var ErrInvalidInput = errors.New("invalid input")

// InputError is a request mistake, worded as Ollama words it where Ollama has the same check.
type InputError struct{ msg string }

// Error returns the message.
func (e *InputError) Error() string { return e.msg }

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

func inputErrorf(format string, args ...any) error {
	return &InputError{msg: fmt.Sprintf(format, args...)}
}

// Ollama's create errors, word for word.
var (
	errNoFilesProvided    = inputErrorf("no files provided to convert")
	errOnlyOneAdapter     = inputErrorf("only one adapter is currently supported")
	errOnlyGGUFSupported  = inputErrorf("supplied file was not in GGUF format")
	errUnknownType        = inputErrorf("unknown type")
	errNeitherFromOrFiles = inputErrorf("neither 'from' or 'files' was specified")
	errFilePath           = inputErrorf("file path must be relative")
	errInvalidModelName   = inputErrorf("invalid model name")
)

// Quantizer rewrites the GGUF src (decoded, arrays included, as g) into dst with its weights
// quantized to ft, calling progress (from several goroutines at once) with the source bytes each
// tensor consumed. It lives outside this package because it needs ggml's native kernels.
type Quantizer func(ctx context.Context, dst, src *os.File, g *ggml.GGML, ft ggml.FileType, progress func(n uint64)) error

// CreateOptions are what Create needs besides the request.
type CreateOptions struct {
	// Progress receives Ollama's create statuses; nil drops them.
	Progress func(api.ProgressResponse)
	// Quantize performs the request's quantize; nil makes quantizing an error.
	Quantize Quantizer
	// Pull tunes the pull of a `from` model the store does not hold.
	Pull TransferOptions

	// created collects the blobs this create added, so that those it replaced before the end (an
	// autodetected template the request overrides) are removed as Ollama's removeLayer removes them.
	created []Layer
}

func (o *CreateOptions) progress(status string) {
	if o.Progress != nil {
		o.Progress(api.ProgressResponse{Status: status})
	}
}

// newLayer is a layer being assembled by Create, with the status Ollama reports for it and, for GGUF
// layers, the metadata that fills the config.
type newLayer struct {
	Layer
	status string
	kv     ggml.KV
}

// Create builds a model the way Ollama's POST /api/create does and stores it under req.Model (or
// req.Name), replacing what the name held. The model starts from req.From (an existing model, pulled
// if the store lacks it) or req.Files (blobs already uploaded, keyed by relative file name: GGUF
// files, or an ONNX model folder with its tokenizer and config files); req.Adapters adds one LoRA
// GGUF (or a Hugging Face LoRA folder, converted against the base model); a Hugging Face safetensors
// folder is converted to GGUF by Ollama's converter; a GGUF chat
// template Ollama knows adds a template and its parameters; req.Template, System,
// Parameters (merged over inherited ones), Messages and License replace or add their layers;
// req.Quantize converts F16/F32 GGUF weights. Errors matching ErrInvalidInput, ErrInvalidName,
// ErrInvalidDigest or ErrMissingBlob are the request's fault.
func (s *Store) Create(ctx context.Context, req api.CreateRequest, opts CreateOptions) error {
	//lint:ignore SA1019 Ollama still honours the deprecated name field
	name := cmp.Or(req.Model, req.Name)
	if _, err := ParseName(name); err != nil {
		return errInvalidModelName
	}
	for _, files := range []map[string]string{req.Files, req.Adapters} {
		for f, d := range files {
			if !fs.ValidPath(f) || f == "." {
				return errFilePath
			}
			if _, err := ParseDigest(d); err != nil {
				return inputErrorf("file %q: %v", f, err)
			}
		}
	}
	cfg := NewConfig()
	cfg.Renderer, cfg.Parser, cfg.Requires = req.Renderer, req.Parser, req.Requires

	var layers []*newLayer
	var err error
	switch {
	case req.From != "" && req.RemoteHost != "":
		if _, err := ParseName(req.From); err != nil {
			return errInvalidModelName
		}
		host, err := remoteURL(req.RemoteHost)
		if err != nil {
			return inputErrorf("bad remote")
		}
		cfg.RemoteModel, cfg.RemoteHost = req.From, host
	case req.From != "":
		if layers, err = s.layersFromModel(ctx, req.From, &cfg, &opts); err != nil {
			return err
		}
	case req.Files != nil:
		if layers, err = s.layersFromFiles(req.Files, &cfg, &opts); err != nil {
			return err
		}
	default:
		return errNeitherFromOrFiles
	}

	if req.RemoteHost == "" && req.Adapters != nil {
		adapters, err := s.adapterLayers(req.Adapters, layers, &opts)
		if err != nil {
			return err
		}
		layers = append(layers, adapters...)
	}
	applyInfo(&cfg, req.Info)

	//lint:ignore SA1019 Ollama still honours the deprecated quantization field
	if layers, err = s.quantizeLayers(ctx, layers, cmp.Or(req.Quantize, req.Quantization), &opts); err != nil {
		return err
	}
	for _, l := range layers {
		if l.kv != nil {
			AddGGUF(&cfg, l.kv)
		}
	}
	if layers, err = s.applyRequestLayers(ctx, layers, req, &opts); err != nil {
		return err
	}

	for _, l := range layers {
		if l.status != "" {
			opts.progress(l.status)
		}
	}
	opts.progress("writing manifest")
	final := make([]Layer, len(layers))
	for i, l := range layers {
		final[i] = l.Layer
	}
	if _, err := s.WriteModel(ctx, name, cfg, final); err != nil {
		return err
	}
	// Layers this create wrote and then replaced (an autodetected template overridden by the request's)
	// are garbage now, as Ollama's removeLayer makes them.
	s.mu.Lock()
	s.removeUnreferenced(opts.created)
	s.mu.Unlock()
	opts.progress("success")
	return nil
}

// layersFromModel starts from an existing model's layers, pulling it first when the store lacks it,
// and inherits its renderer, parser and requirement (and, for a model without GGUF weights, the
// config fields the GGUF metadata would have given).
func (s *Store) layersFromModel(ctx context.Context, from string, cfg *model.ConfigV2, opts *CreateOptions) ([]*newLayer, error) {
	fromName, err := ParseName(from)
	if err != nil {
		return nil, errInvalidModelName
	}
	m, err := s.Resolve(from)
	if errors.Is(err, ErrNotFound) {
		pull := opts.Pull
		pull.Progress = opts.Progress
		if err := s.Pull(ctx, from, pull); err != nil {
			return nil, err
		}
		m, err = s.Resolve(from)
	}
	if err != nil {
		return nil, err
	}
	short := s.canonical(fromName).DisplayShortest()
	var layers []*newLayer
	hasGGUF := false
	for _, l := range m.Manifest.Layers {
		nl := &newLayer{Layer: l, status: "using existing layer " + l.Digest}
		nl.From = short
		switch l.MediaType {
		case MediaTypeModel, MediaTypeProjector, MediaTypeAdapter:
			info, err := s.GGUFInfo(l.Digest)
			if err != nil {
				return nil, err
			}
			nl.kv, hasGGUF = info.KV, true
		}
		layers = append(layers, nl)
	}
	base := m.Config
	cfg.Renderer = cmp.Or(cfg.Renderer, base.Renderer)
	cfg.Parser = cmp.Or(cfg.Parser, base.Parser)
	cfg.Requires = cmp.Or(cfg.Requires, base.Requires)
	if !hasGGUF {
		cfg.ModelFormat, cfg.ModelFamily, cfg.ModelType, cfg.FileType = base.ModelFormat, base.ModelFamily, base.ModelType, base.FileType
		cfg.ModelFamilies = slices.Clone(base.ModelFamilies)
		cfg.Capabilities = slices.Clone(base.Capabilities)
		cfg.ContextLen, cfg.EmbedLen, cfg.BaseName = base.ContextLen, base.EmbedLen, base.BaseName
	}
	return layers, nil
}

// layersFromFiles turns uploaded files into layers: an ONNX model folder when a file ends in .onnx,
// a Hugging Face folder converted to GGUF when one ends in .safetensors, otherwise GGUF files.
func (s *Store) layersFromFiles(files map[string]string, cfg *model.ConfigV2, opts *CreateOptions) ([]*newLayer, error) {
	if len(files) == 0 {
		return nil, errNoFilesProvided
	}
	switch s.detectFilesType(files) {
	case "onnx":
		return s.onnxLayers(files, cfg)
	case "safetensors":
		return s.safetensorsLayers(files, opts)
	case "gguf":
		if err := checkGGUFFiles(s, files); err != nil {
			return nil, err
		}
		return s.ggufLayers(files, opts)
	default:
		return nil, errUnknownType
	}
}

// textLayer stores a small layer's content and reports "creating new layer" or "using existing
// layer" for it, as Ollama's NewLayer does.
func (s *Store) textLayer(r io.Reader, mediaType string, opts *CreateOptions) (*newLayer, error) {
	b, err := s.WriteBlob(context.Background(), r, "")
	if err != nil {
		return nil, err
	}
	status := "using existing layer "
	if b.Created {
		status = "creating new layer "
		opts.created = append(opts.created, b.Layer(mediaType))
	}
	return &newLayer{Layer: b.Layer(mediaType), status: status + b.Digest}, nil
}

// applyRequestLayers adds the request's template, system prompt, licenses, parameters and messages,
// replacing inherited layers of the same kind as Ollama's createModel does.
func (s *Store) applyRequestLayers(ctx context.Context, layers []*newLayer, req api.CreateRequest, opts *CreateOptions) ([]*newLayer, error) {
	add := func(mediaType, text string, replace bool) error {
		if replace {
			layers = slices.DeleteFunc(layers, func(l *newLayer) bool { return l.MediaType == mediaType })
		}
		l, err := s.textLayer(strings.NewReader(text), mediaType, opts)
		if err != nil {
			return err
		}
		layers = append(layers, l)
		return nil
	}
	if req.Template != "" {
		if _, err := template.Parse(req.Template); err != nil {
			return nil, inputErrorf("template error: %v", err)
		}
		layers = slices.DeleteFunc(layers, func(l *newLayer) bool { return l.MediaType == MediaTypePrompt })
		if err := add(MediaTypeTemplate, req.Template, true); err != nil {
			return nil, err
		}
	}
	if req.System != "" {
		if err := add(MediaTypeSystem, req.System, true); err != nil {
			return nil, err
		}
	}
	licenses, err := licenseTexts(req.License)
	if err != nil {
		return nil, err
	}
	for _, text := range licenses {
		if err := add(MediaTypeLicense, text, false); err != nil {
			return nil, err
		}
	}

	params := make(map[string]any, len(req.Parameters))
	for k, v := range req.Parameters {
		params[k] = v
	}
	for _, l := range layers {
		if l.MediaType != MediaTypeParams {
			continue
		}
		var existing map[string]any
		if err := decodeJSONFile(s.blobPath(l.Digest), &existing); err != nil {
			return nil, fmt.Errorf("parameters layer %s: %w", l.Digest, err)
		}
		for k, v := range existing {
			if _, set := params[k]; !set {
				params[k] = v
			}
		}
	}
	if len(params) > 0 {
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(params); err != nil {
			return nil, inputErrorf("parameters: %v", err)
		}
		if err := add(MediaTypeParams, b.String(), true); err != nil {
			return nil, err
		}
	}

	if len(req.Messages) > 0 {
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(req.Messages); err != nil {
			return nil, err
		}
		if err := add(MediaTypeMessages, b.String(), true); err != nil {
			return nil, err
		}
	}
	return layers, ctx.Err()
}

// licenseTexts reads the request's license: a string or an array of strings.
func licenseTexts(v any) ([]string, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case string:
		if l == "" {
			return nil, nil
		}
		return []string{l}, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			text, ok := e.(string)
			if !ok {
				return nil, inputErrorf("license must be a string or an array of strings")
			}
			out = append(out, text)
		}
		return out, nil
	default:
		return nil, inputErrorf("license must be a string or an array of strings")
	}
}

// applyInfo folds the request's info (remote model metadata) into the config, as Ollama does.
func applyInfo(cfg *model.ConfigV2, info map[string]any) {
	if info == nil {
		return
	}
	if caps, ok := info["capabilities"].([]any); ok {
		for _, c := range caps {
			if str, ok := c.(string); ok {
				cfg.Capabilities = append(cfg.Capabilities, str)
			}
		}
	}
	str := func(k string) string { v, _ := info[k].(string); return v }
	num := func(k string) int { v, _ := info[k].(float64); return int(v) }
	if f := str("model_family"); f != "" {
		cfg.ModelFamily, cfg.ModelFamilies = f, []string{f}
	}
	cfg.BaseName = cmp.Or(str("base_name"), cfg.BaseName)
	cfg.FileType = cmp.Or(str("quantization_level"), cfg.FileType)
	cfg.ModelType = cmp.Or(str("parameter_size"), cfg.ModelType)
	cfg.ContextLen = cmp.Or(num("context_length"), cfg.ContextLen)
	cfg.EmbedLen = cmp.Or(num("embedding_length"), cfg.EmbedLen)
}

// sortedKeys returns a map's keys in order, so that a create is deterministic (Ollama's map order is not).
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
