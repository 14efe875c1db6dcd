package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/thinking"

	"github.com/hearthlink/hearth/registry"
)

// Every request needs what the engine derives from its model: the prompt template (matching a GGUF's chat
// template to one of Ollama's named templates alone costs milliseconds), the capabilities, the default
// options with the model's parameters applied, the backend's capabilities (read from the weights' header).
// All of it follows from the manifest, which the manifest digest identifies (the blobs it names are
// content-addressed), so the scheduler keeps it per digest. A model without a digest (one built by hand,
// not read from a store) is derived afresh on every request.

// modelInfoEntries bounds the cache; when full it starts over.
const modelInfoEntries = 128

// modelInfoCache maps manifest digests to what the scheduler derived from the model.
type modelInfoCache struct {
	mu      sync.Mutex
	entries map[string]*modelInfo
}

// modelInfo holds, each computed on first use, what the scheduler derives from one manifest.
type modelInfo struct {
	prompt   atomic.Pointer[promptInfo]
	options  atomic.Pointer[optionsInfo]
	reported atomic.Pointer[[]string] // the backend's capabilities (CapabilityReporter)
}

// promptInfo is how a model's prompts are made and read back.
type promptInfo struct {
	tmpl *template.Template
	// stops are the named template's stop strings, the default when neither model nor request set any.
	stops []string
	caps  capabilities
	// parser is the built-in output parser's name: the config's, else "harmony" for gpt-oss templates.
	parser string
	// thinkOpen and thinkClose are the thinking tags the template uses ("" when it has none).
	thinkOpen, thinkClose string
	err                   error
}

// optionsInfo is a model's default options.
type optionsInfo struct {
	// opts are Ollama's defaults with the server's num_ctx and then the model's parameters applied.
	opts api.Options
	// err says why the model's parameters do not apply (the caller wraps it in a *LoadError naming the
	// model as the request did).
	err error
	// keepAlive is the model's keep_alive parameter, when it has one that parses (hasKeepAlive).
	keepAlive    time.Duration
	hasKeepAlive bool
}

// info returns the cache entry of m, a fresh uncached one when m has no digest.
func (s *Scheduler) info(m *registry.Model) *modelInfo {
	if m.Digest == "" {
		return &modelInfo{}
	}
	c := &s.infos
	c.mu.Lock()
	defer c.mu.Unlock()
	if mi := c.entries[m.Digest]; mi != nil {
		return mi
	}
	if c.entries == nil || len(c.entries) >= modelInfoEntries {
		c.entries = make(map[string]*modelInfo)
	}
	mi := &modelInfo{}
	c.entries[m.Digest] = mi
	return mi
}

// promptOf returns how m's prompts are made: its template (see modelTemplate), default stop strings,
// capabilities and output parser.
func (s *Scheduler) promptOf(m *registry.Model) (*promptInfo, error) {
	mi := s.info(m)
	if p := mi.prompt.Load(); p != nil {
		return p, p.err
	}
	tmpl, stops, final, err := s.modelTemplate(m)
	p := &promptInfo{tmpl: tmpl, stops: slices.Clip(stops), err: err}
	if err == nil {
		p.caps = modelCapabilities(m, tmpl)
		p.parser = m.Config.Parser
		if p.parser == "" && useHarmony(m, tmpl) {
			p.parser = "harmony"
		}
		p.thinkOpen, p.thinkClose = thinking.InferTags(tmpl.Template)
	}
	if final {
		mi.prompt.Store(p)
	}
	return p, err
}

// optionsOf returns m's default options.
func (s *Scheduler) optionsOf(m *registry.Model) *optionsInfo {
	mi := s.info(m)
	if o := mi.options.Load(); o != nil {
		return o
	}
	o := &optionsInfo{opts: api.DefaultOptions()}
	o.opts.NumCtx = s.cfg.Pipeline.NumCtx
	o.err = setOptions(&o.opts, m.Options, s.log)
	o.keepAlive, o.hasKeepAlive = modelKeepAlive(m)
	mi.options.Store(o)
	return o
}

// modelKeepAlive reads a model's keep_alive parameter.
func modelKeepAlive(m *registry.Model) (time.Duration, bool) {
	v, ok := m.Options["keep_alive"]
	if !ok {
		return 0, false
	}
	var d api.Duration
	b, err := jsonMarshal(v)
	if err != nil || d.UnmarshalJSON(b) != nil {
		return 0, false
	}
	return d.Duration, true
}

// reportedCapabilities returns what the backend that runs m says m does (nil, nil when no backend can
// say). Answers are kept; failures are not, so a model whose files can be read later is asked again.
func (s *Scheduler) reportedCapabilities(m *registry.Model, b CapabilityReporter) ([]string, error) {
	mi := s.info(m)
	if caps := mi.reported.Load(); caps != nil {
		return *caps, nil
	}
	caps, err := b.Capabilities(m)
	if err != nil {
		return nil, err
	}
	caps = slices.Clip(caps)
	mi.reported.Store(&caps)
	return caps, nil
}
