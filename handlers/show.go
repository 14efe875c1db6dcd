package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/parser"
	"github.com/ollama/ollama/template"

	"github.com/hearthlink/hearth/registry"
)

// showModel answers POST /api/show with Ollama's ShowResponse. GGUF metadata comes from the store's
// cache, so a call costs a few small file reads, not a pass over the weights; verbose asks for every
// array in full and decodes the header afresh.
func (s *server) showModel(w http.ResponseWriter, r *http.Request) {
	var req api.ShowRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	//lint:ignore SA1019 Ollama still honours the deprecated name field
	name := cmp.Or(req.Model, req.Name)
	if name == "" {
		writeError(w, http.StatusBadRequest, "model is required")
		return
	}
	resp, err := s.show(name, req)
	if err != nil {
		writeError(w, showErrorStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// showErrorStatus is the status of an error from show: a store error's, but 500 for a corrupt manifest.
func showErrorStatus(err error) int {
	var corrupt *registry.CorruptManifestError
	if errors.As(err, &corrupt) {
		return http.StatusInternalServerError
	}
	return storeErrorStatus(err)
}

// show builds the response for one model.
func (s *server) show(name string, req api.ShowRequest) (*api.ShowResponse, error) {
	m, err := s.store.Resolve(name)
	if err != nil {
		return nil, err
	}
	facts, err := s.facts.Of(m)
	if err != nil {
		return nil, err
	}
	tmpl := facts.Template
	var kv ggml.KV
	var tensors ggml.Tensors
	if m.ModelDigest != "" {
		info, err := s.store.GGUFInfo(m.ModelDigest)
		if err != nil {
			return nil, err
		}
		kv, tensors = info.KV, info.Tensors
	}

	system := cmp.Or(req.System, m.System)
	messages := make([]api.Message, len(m.Messages))
	for i, msg := range m.Messages {
		messages[i] = api.Message{Role: msg.Role, Content: msg.Content}
	}
	resp := &api.ShowResponse{
		License:      strings.Join(m.License, "\n"),
		System:       system,
		Template:     tmpl.String(),
		Details:      m.Details(),
		Messages:     messages,
		Capabilities: facts.Capabilities,
		ModifiedAt:   m.ModifiedAt,
		Requires:     m.Config.Requires,
		ModelInfo:    map[string]any{},
		Parameters:   parameterLines(m.Options),
		Modelfile:    modelfile(m, tmpl, system, req.Options),
		RemoteHost:   m.Config.RemoteHost,
		RemoteModel:  m.Config.RemoteModel,
	}

	if m.ModelDigest == "" {
		// A model without GGUF weights (ONNX, remote) reports what its config knows, as Ollama does for
		// remote models.
		if family := m.Config.ModelFamily; family != "" {
			resp.ModelInfo["general.architecture"] = family
			if m.Config.BaseName != "" {
				resp.ModelInfo["general.basename"] = m.Config.BaseName
			}
			if m.Config.ContextLen > 0 {
				resp.ModelInfo[family+".context_length"] = m.Config.ContextLen
			}
			if m.Config.EmbedLen > 0 {
				resp.ModelInfo[family+".embedding_length"] = m.Config.EmbedLen
			}
		}
		return resp, nil
	}

	if req.Verbose {
		g, err := s.store.DecodeGGUF(m.ModelDigest, -1)
		if err != nil {
			return nil, err
		}
		kv, tensors = maps.Clone(g.KV()), g.Tensors()
	}
	delete(kv, "general.name")
	delete(kv, "tokenizer.chat_template")
	resp.ModelInfo = kv
	items := tensors.Items()
	resp.Tensors = make([]api.Tensor, len(items))
	for i, t := range items {
		resp.Tensors[i] = api.Tensor{Name: t.Name, Type: t.Type(), Shape: t.Shape}
	}
	if len(m.ProjectorDigests) > 0 {
		var pkv ggml.KV
		if req.Verbose {
			g, err := s.store.DecodeGGUF(m.ProjectorDigests[0], -1)
			if err != nil {
				return nil, err
			}
			pkv = g.KV()
		} else {
			info, err := s.store.GGUFInfo(m.ProjectorDigests[0])
			if err != nil {
				return nil, err
			}
			pkv = info.KV
		}
		resp.ProjectorInfo = pkv
	}
	return resp, nil
}

// parameterLines renders default options the way Ollama's show does: one line per value, the name
// left-aligned in 30 columns, the value in Go's %#v (so strings are quoted), one line per element of a
// list. Names are sorted (Ollama's order is a map's).
func parameterLines(options map[string]any) string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(options)) {
		switch v := options[k].(type) {
		case []any:
			for _, e := range v {
				lines = append(lines, fmt.Sprintf("%-*s %#v", 30, k, e))
			}
		default:
			lines = append(lines, fmt.Sprintf("%-*s %#v", 30, k, v))
		}
	}
	return strings.Join(lines, "\n")
}

// modelfile renders the Modelfile /api/show reports: three comment lines, then FROM the weights blob
// and the model's other parts, as Ollama's Model.String writes them. options (the request's) are
// merged over the model's parameters here only.
func modelfile(m *registry.Model, tmpl *template.Template, system string, options map[string]any) string {
	var mf parser.Modelfile
	add := func(name, args string) { mf.Commands = append(mf.Commands, parser.Command{Name: name, Args: args}) }

	from := m.ModelPath
	if from == "" && m.ONNXModel != "" {
		from = m.ONNXFiles[m.ONNXModel]
	}
	add("model", from)
	for _, a := range m.AdapterPaths {
		add("adapter", a)
	}
	for _, p := range m.ProjectorPaths {
		add("model", p)
	}
	add("template", tmpl.String())
	if system != "" {
		add("system", system)
	}
	if m.Config.Renderer != "" {
		add("renderer", m.Config.Renderer)
	}
	if m.Config.Parser != "" {
		add("parser", m.Config.Parser)
	}
	params := maps.Clone(m.Options)
	if params == nil {
		params = map[string]any{}
	}
	maps.Copy(params, options)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		switch v := params[k].(type) {
		case []any:
			for _, e := range v {
				add(k, fmt.Sprintf("%v", e))
			}
		default:
			add(k, fmt.Sprintf("%v", v))
		}
	}
	for _, l := range m.License {
		add("license", l)
	}
	for _, msg := range m.Messages {
		add("message", fmt.Sprintf("%s: %s", msg.Role, msg.Content))
	}

	var sb strings.Builder
	fmt.Fprintln(&sb, `# Modelfile generated by "ollama show"`)
	fmt.Fprintln(&sb, "# To build a new Modelfile based on this, replace FROM with:")
	fmt.Fprintf(&sb, "# FROM %s\n\n", m.ShortName)
	sb.WriteString(mf.String())
	return sb.String()
}
