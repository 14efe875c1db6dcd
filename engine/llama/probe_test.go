package llama

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// probeChildEnv makes this test binary act as a probe child (see TestMain): the tests' stand-in for the
// hearth binary's ProbeCommand.
const probeChildEnv = "HEARTH_TEST_PROBE_CHILD"

// testProber returns a ProcessProber whose children are this test binary, keeping verdicts in dir.
func testProber(dir string) *ProcessProber {
	return &ProcessProber{Command: []string{os.Args[0]}, Env: []string{probeChildEnv + "=1"}, Dir: dir}
}

// testProbeLoaders stand in for other engines in a probe child: "abort-for-test" dies the way ggml does on
// a failed GGML_ASSERT, whatever the file.
var testProbeLoaders = map[string]ProbeLoader{
	"abort-for-test": func(context.Context, string, *registry.Model, engine.LoadConfig) error {
		fmt.Fprintln(os.Stderr, "ggml.c:1234: GGML_ASSERT(ggml_can_mul_mat(a, b)) failed")
		syscall.Kill(os.Getpid(), syscall.SIGABRT)
		select {}
	},
}

// A probe names the engine that will load the file: its child loads with that engine, a crash there is
// reported in that engine's name, and the verdict is the engine's own — the same file loads in llama.cpp.
func TestProbeOtherEngine(t *testing.T) {
	path := generated(t, "tiny-llama")
	p := testProber(t.TempDir())
	err := p.Probe(t.Context(), ProbeRequest{Engine: "abort-for-test", ModelPath: path, Config: probeConfig})
	var perr *ProbeError
	if !errors.As(err, &perr) || !strings.Contains(perr.Signal, "SIGABRT") ||
		!strings.Contains(err.Error(), "abort-for-test crashed while loading the model") ||
		!strings.Contains(err.Error(), "GGML_ASSERT(ggml_can_mul_mat(a, b)) failed") {
		t.Fatalf("probe in another engine = %v, want its crash in its name with the assert", err)
	}
	if err := p.Probe(t.Context(), ProbeRequest{ModelPath: path, Config: probeConfig}); err != nil || p.children != 2 {
		t.Errorf("the same file in llama.cpp: %v after %d children, want it to load in a child of its own", err, p.children)
	}
	if known, err := p.Verdict(ProbeRequest{Engine: "abort-for-test", ModelPath: path, Config: probeConfig}); !known || err == nil {
		t.Errorf("the other engine's verdict: known %v, %v", known, err)
	}
	if err := p.Probe(t.Context(), ProbeRequest{Engine: "no-such-engine", ModelPath: path, Config: probeConfig}); err == nil ||
		!strings.Contains(err.Error(), `no loader for engine "no-such-engine"`) {
		t.Errorf("an engine the child does not know: %v", err)
	}
}

// probeConfig is a small load configuration for the probe tests.
var probeConfig = engine.LoadConfig{NumCtx: 256, NumBatch: 64, Parallel: 2, NumThread: 1}

// generated returns the path of a freshly generated recipe.
func generated(t *testing.T, recipe string) string {
	t.Helper()
	path, err := models.Ensure(t.Context(), t.TempDir(), recipe)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// A file that kills llama.cpp's loader with SIGFPE (a dense nemotron_h) fails the load through a Backend
// with a ProcessProber, with the signal and the loader's last words, and this process lives on. The
// verdict is kept: a second load fails at once without a child, and a new prober over the same folder (a
// restarted server) does not probe again.
func TestProbeSurvivesLoaderCrash(t *testing.T) {
	path := generated(t, "crash-nemotron-dense")
	dir := t.TempDir()
	p := testProber(dir)
	b := &Backend{Prober: p}
	m := &registry.Model{ModelPath: path}
	_, err := b.Load(t.Context(), m, probeConfig)
	var perr *ProbeError
	if !errors.As(err, &perr) {
		t.Fatalf("Load = %v, want a *ProbeError", err)
	}
	if !strings.Contains(perr.Signal, "SIGFPE") || !strings.Contains(err.Error(), "llama.cpp crashed while loading the model") ||
		!strings.Contains(err.Error(), "load_tensors") {
		t.Errorf("error %q does not name the crash and where the loader was", err)
	}
	if p.children != 1 {
		t.Fatalf("%d children for the first load, want 1", p.children)
	}

	_, err2 := b.Load(t.Context(), m, probeConfig)
	if err2 == nil || err2.Error() != err.Error() || p.children != 1 {
		t.Errorf("second load: %v with %d children, want the same error without a new child", err2, p.children)
	}
	// The scheduler estimates before it unloads anything to make room: a known-bad file fails there.
	if _, estErr := b.Estimate(m, probeConfig); estErr == nil || estErr.Error() != err.Error() {
		t.Errorf("Estimate after the crash = %v, want the verdict", estErr)
	}

	restarted := testProber(dir)
	if err3 := restarted.Probe(t.Context(), ProbeRequest{ModelPath: path, Config: probeConfig}); err3 == nil ||
		err3.Error() != err.Error() || restarted.children != 0 {
		t.Errorf("after a restart: %v with %d children, want the stored verdict without a child", err3, restarted.children)
	}
}

// A header that fails a GGML_ASSERT (SIGABRT) is reported with the assertion itself.
func TestProbeReportsFailedAssert(t *testing.T) {
	p := testProber("")
	err := p.Probe(t.Context(), ProbeRequest{ModelPath: generated(t, "crash-expert-assert"), Config: probeConfig})
	var perr *ProbeError
	if !errors.As(err, &perr) || !strings.Contains(perr.Signal, "SIGABRT") {
		t.Fatalf("Probe = %v, want a *ProbeError for SIGABRT", err)
	}
	if want := "llama-model.cpp:522: GGML_ASSERT(hparams.n_expert_used <= hparams.n_expert) failed"; perr.Detail != want {
		t.Errorf("detail %q, want %q", perr.Detail, want)
	}
}

// A file llama.cpp refuses without crashing (a llama header without embedding_length) fails with the
// loader's own message, not a generic "corrupt or unsupported".
func TestProbeReportsLoaderError(t *testing.T) {
	p := testProber("")
	err := p.Probe(t.Context(), ProbeRequest{ModelPath: writeHeaderOnlyGGUF(t, "llama"), Config: probeConfig})
	want := "llama.cpp could not load the model: error loading model: error loading model hyperparameters: key not found in model: llama.embedding_length"
	if err == nil || err.Error() != want {
		t.Errorf("Probe = %v, want %q", err, want)
	}
}

// Embedding and reranking models go through the encoder's loader in the child, and pass.
func TestProbeEncoders(t *testing.T) {
	p := testProber("")
	for _, recipe := range []string{"bert-embed", "bert-rerank"} {
		if err := p.Probe(t.Context(), ProbeRequest{ModelPath: generated(t, recipe), Config: probeConfig}); err != nil {
			t.Errorf("%s: %v", recipe, err)
		}
	}
}

// A good model is probed once, then loads in this process; later loads of it start no child. Another
// load option that changes what llama.cpp builds (the KV cache type) is probed afresh.
func TestProbeGoodModelOnce(t *testing.T) {
	Init("")
	path := generated(t, "tiny-llama")
	p := testProber(t.TempDir())
	b := &Backend{Prober: p}
	m := &registry.Model{ModelPath: path}
	for i := range 2 {
		r, err := b.Load(t.Context(), m, probeConfig)
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		r.Close()
	}
	if p.children != 1 {
		t.Errorf("%d children for two loads of a good model, want 1", p.children)
	}
	q8 := probeConfig
	q8.KVCacheType = "q8_0"
	if err := p.Probe(t.Context(), ProbeRequest{ModelPath: path, Config: q8}); err != nil || p.children != 2 {
		t.Errorf("probe with a q8_0 cache: %v with %d children, want nil with 2", err, p.children)
	}
}

// A child killed by SIGKILL (the out-of-memory killer, say) says nothing of the file: the failure is
// reported but not remembered, so the next load probes again.
func TestProbeKilledChildIsNotRemembered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sha256-"+strings.Repeat("ab", 32))
	if err := os.WriteFile(path, []byte("not read"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &ProcessProber{Command: []string{"/bin/sh", "-c", "echo 'load_tensors: loading' >&2; kill -KILL $$"}, Dir: t.TempDir()}
	for range 2 {
		err := p.Probe(context.Background(), ProbeRequest{ModelPath: path})
		if err == nil || !strings.Contains(err.Error(), "signal: killed") || !strings.Contains(err.Error(), "load_tensors: loading") {
			t.Fatalf("Probe = %v, want the kill and the last output", err)
		}
	}
	if p.children != 2 {
		t.Errorf("%d children for two probes after a SIGKILL, want 2", p.children)
	}
}
