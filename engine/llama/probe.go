package llama

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/internal/llamaext"
)

// Prober decides whether a model file loads, without risking the process that asks. llama.cpp answers
// some files (a dense nemotron_h, headers that fail a GGML_ASSERT) by killing the process that loads
// them, which in hearth is the server with every loaded model and request in flight.
type Prober interface {
	// Probe returns nil when req loads, or why it does not.
	Probe(ctx context.Context, req ProbeRequest) error
	// Verdict returns what an earlier probe of req found, without probing: known is false when req has
	// not been probed. It lets a known-bad file fail before the scheduler unloads anything to make room.
	Verdict(req ProbeRequest) (known bool, err error)
}

// ProbeRequest is one model load to try.
type ProbeRequest struct {
	// Engine names the engine that will load the model, as ProbeMain's loaders know it; "" is llama.cpp.
	Engine string
	// ModelPath is the GGUF weights file.
	ModelPath string
	// AdapterPaths are the LoRA adapters applied to it.
	AdapterPaths []string
	// Config is the load configuration the server will use.
	Config engine.LoadConfig
}

// probeNumCtx bounds the context a probe creates: big enough for llama.cpp to build and reserve the
// model's graph (where shape asserts fire), small enough that the KV cache costs little.
const probeNumCtx = 256

// ProcessProber loads each model file it has not seen in a short-lived child process (the hearth binary's
// hidden ProbeCommand, which runs ProbeMain) and remembers the verdict, so only the first load of a file
// pays for a child and a file that crashes llama.cpp costs one request, not the server. Verdicts are keyed
// by the content digests of the weights and adapters and the load options that change what llama.cpp
// builds, and kept in memory and, when Dir is set, on disk so a restart does not probe again.
type ProcessProber struct {
	// Command is the program and leading arguments that run ProbeMain; the probe's flags and paths follow.
	Command []string
	// Env is added to the child's environment.
	Env []string
	// LibraryPath is where the child loads ggml's backends from, as the server does.
	LibraryPath string
	// Dir holds one verdict file per key; "" keeps verdicts in memory only.
	Dir string
	// Logger receives a line per probe; nil is slog.Default().
	Logger *slog.Logger

	// probing is held for a whole probe: the scheduler loads one model at a time anyway, and two loads
	// of the same new file must not both pay for a child.
	probing  sync.Mutex
	children int // children started, for tests; guarded by probing

	mu       sync.Mutex // guards verdicts
	verdicts map[string]*verdict
}

// NewProcessProber returns a ProcessProber that runs `exe ProbeCommand` with ggml's backends from
// libraryPath and keeps its verdicts under dir.
func NewProcessProber(exe, libraryPath, dir string, log *slog.Logger) *ProcessProber {
	return &ProcessProber{Command: []string{exe, ProbeCommand}, LibraryPath: libraryPath, Dir: dir, Logger: log}
}

// verdict is what a probe found, as kept in memory and on disk.
type verdict struct {
	OK  bool        `json:"ok"`
	Err *ProbeError `json:"error,omitempty"`
}

// ProbeError is a model file whose trial load in a child process failed, in the loader's own words.
type ProbeError struct {
	// Engine is the engine that tried the file ("" for llama.cpp), for the message.
	Engine string `json:"engine,omitempty"`
	// Signal is what killed the loader ("SIGFPE: floating-point exception"); "" when it returned an error.
	Signal string `json:"signal,omitempty"`
	// Detail is the loader's message: a failed GGML_ASSERT, "error loading model: ...".
	Detail string `json:"detail,omitempty"`
	// LastOutput is the loader's last line before it died, when it left no message.
	LastOutput string `json:"last_output,omitempty"`
}

// Error says whether the engine crashed or refused the file, and what it said.
func (e *ProbeError) Error() string {
	engine := "llama.cpp"
	if e.Engine != "" {
		engine = cmp.Or(EngineNames[e.Engine], e.Engine)
	}
	if e.Signal == "" {
		detail := cmp.Or(e.Detail, e.LastOutput, "no message")
		return engine + " could not load the model: " + detail
	}
	msg := fmt.Sprintf("%s crashed while loading the model (%s)", engine, e.Signal)
	switch {
	case e.Detail != "":
		msg += ": " + e.Detail
	case e.LastOutput != "":
		msg += "; its last output: " + e.LastOutput
	}
	return msg
}

// Probe returns the verdict on req, from memory, from Dir, or from a child process that loads it.
func (p *ProcessProber) Probe(ctx context.Context, req ProbeRequest) error {
	key, err := probeKey(req)
	if err != nil {
		return err
	}
	p.probing.Lock()
	defer p.probing.Unlock()
	if v := p.lookup(key); v != nil {
		return v.err()
	}
	v, err := p.runChild(ctx, req)
	if err != nil {
		return err // not a verdict on the file: the child could not run, or ctx ended
	}
	if v.Err == nil || !transient(v.Err) {
		p.mu.Lock()
		p.remember(key, v)
		p.mu.Unlock()
		p.writeVerdict(key, v)
	}
	return v.err()
}

// Verdict returns the verdict an earlier probe of req reached, in this process or, through Dir, an
// earlier one.
func (p *ProcessProber) Verdict(req ProbeRequest) (known bool, err error) {
	key, err := probeKey(req)
	if err != nil {
		return false, err
	}
	if v := p.lookup(key); v != nil {
		return true, v.err()
	}
	return false, nil
}

// lookup returns the verdict kept for key in memory or in Dir, or nil.
func (p *ProcessProber) lookup(key string) *verdict {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.verdicts[key]; ok {
		return v
	}
	if v := p.readVerdict(key); v != nil {
		p.remember(key, v)
		return v
	}
	return nil
}

// transient reports whether a failure may not recur: a child killed by SIGKILL was most likely stopped by
// the kernel's out-of-memory killer or a person, which says nothing of the file.
func transient(e *ProbeError) bool { return e.Signal == "signal: killed" }

// err is the verdict as Probe returns it.
func (v *verdict) err() error {
	if v.OK || v.Err == nil {
		return nil
	}
	return v.Err
}

// remember keeps v in memory. Caller holds p.mu.
func (p *ProcessProber) remember(key string, v *verdict) {
	if p.verdicts == nil {
		p.verdicts = map[string]*verdict{}
	}
	p.verdicts[key] = v
}

// runChild loads req in a child process and reads its verdict from how the child ended.
func (p *ProcessProber) runChild(ctx context.Context, req ProbeRequest) (*verdict, error) {
	if len(p.Command) == 0 {
		return nil, errors.New("probe: no command to run")
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg := req.Config
	args := append(p.Command[1:len(p.Command):len(p.Command)],
		"-library", p.LibraryPath,
		"-ctx", strconv.Itoa(min(max(cfg.NumCtx, 4), probeNumCtx)),
		"-batch", strconv.Itoa(min(max(cfg.NumBatch, 1), probeNumCtx)),
		"-parallel", strconv.Itoa(max(cfg.Parallel, 1)),
		"-mmap", strconv.Itoa(cfg.UseMMap),
		"-kv", cfg.KVCacheType,
		"-fa="+strconv.FormatBool(cfg.FlashAttention),
		"-engine", req.Engine,
		"--", req.ModelPath)
	args = append(args, req.AdapterPaths...)
	cmd := exec.CommandContext(ctx, p.Command[0], args...)
	// GGML_NO_BACKTRACE: on an abort ggml would otherwise attach gdb to print a backtrace, which takes
	// seconds and says nothing a user can act on.
	cmd.Env = append(append(os.Environ(), "GGML_NO_BACKTRACE=1"), p.Env...)
	stderr := &tailBuffer{max: probeOutputBytes}
	cmd.Stderr = stderr
	cmd.Stdout = io.Discard

	start := time.Now()
	log.Info("trying a new model file in a child process", "model", req.ModelPath)
	p.children++
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("probe: starting %s: %w", p.Command[0], err)
	}
	if err == nil {
		log.Info("the model file loads", "model", req.ModelPath, "duration", time.Since(start))
		return &verdict{OK: true}, nil
	}
	perr := describeFailure(stderr.String(), exit.ProcessState)
	perr.Engine = req.Engine
	log.Warn("the model file does not load", "model", req.ModelPath, "error", perr.Error(),
		"duration", time.Since(start))
	return &verdict{Err: perr}, nil
}

// probeKey names what a verdict is about: the llama.cpp build (the Ollama version it comes from), the
// content digests of the weights and adapters, and the load options that change what llama.cpp builds.
// Keying by content means a file that changes is probed again.
func probeKey(req ProbeRequest) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "hearth-probe/1 ollama=%s", llamaext.OllamaVersion)
	for _, path := range append([]string{req.ModelPath}, req.AdapterPaths...) {
		d, err := fileDigest(path)
		if err != nil {
			return "", err
		}
		b.WriteString(" " + d)
	}
	c := req.Config
	fmt.Fprintf(&b, " kv=%s fa=%t parallel=%d", c.KVCacheType, c.FlashAttention, max(c.Parallel, 1))
	if req.Engine != "" { // llama.cpp's keys stay as they were, so its stored verdicts still count
		fmt.Fprintf(&b, " engine=%s", req.Engine)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:]), nil
}

// fileDigest is the content digest of the file at path: a blob of the model store is named after it
// (sha256-<hex>), any other file is hashed.
func fileDigest(path string) (string, error) {
	if hexPart, ok := strings.CutPrefix(filepath.Base(path), "sha256-"); ok && len(hexPart) == 64 {
		if _, err := hex.DecodeString(hexPart); err == nil {
			return "sha256:" + hexPart, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// readVerdict returns the verdict stored under key in Dir, or nil.
func (p *ProcessProber) readVerdict(key string) *verdict {
	if p.Dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(p.Dir, key+".json"))
	if err != nil {
		return nil
	}
	var v verdict
	if json.Unmarshal(data, &v) != nil || (!v.OK && v.Err == nil) {
		return nil
	}
	return &v
}

// writeVerdict stores v under key in Dir, atomically; a failure to write only costs a probe after a
// restart, so it is logged, not returned.
func (p *ProcessProber) writeVerdict(key string, v *verdict) {
	if p.Dir == "" {
		return
	}
	data, _ := json.Marshal(v)
	err := os.MkdirAll(p.Dir, 0o755)
	if err == nil {
		tmp := filepath.Join(p.Dir, key+".json.tmp")
		if err = os.WriteFile(tmp, data, 0o644); err == nil {
			err = os.Rename(tmp, filepath.Join(p.Dir, key+".json"))
		}
	}
	if err != nil {
		log := p.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("could not store a model probe's verdict", "dir", p.Dir, "error", err)
	}
}
