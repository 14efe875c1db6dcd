package compat_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
	"github.com/hearthlink/hearth/registry/registrytest"
)

// ollamaCLI is the reference ollama 0.17.4 binary `scripts/bootstrap.sh ollama-cli` builds (make test
// does); the test is skipped when it has not been built.
func ollamaCLI(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(models.CacheDir(), "reference", "bin", "ollama")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("reference ollama CLI not built (%v): run `bash scripts/bootstrap.sh ollama-cli`", err)
	}
	return bin
}

// cli runs the ollama CLI against one server.
type cli struct {
	t    testing.TB
	bin  string
	host string
	home string
}

// run runs `ollama args...` and returns its exit code, stdout and stderr.
func (c cli) run(args ...string) (int, string, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), "OLLAMA_HOST="+c.host, "HOME="+c.home, "TERM=dumb", "NO_COLOR=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("ollama %v: %v", args, err)
	}
	return code, stdout.String(), stderr.String()
}

// ok runs a command that must succeed and returns its stdout and stderr.
func (c cli) ok(args ...string) (string, string) {
	c.t.Helper()
	code, stdout, stderr := c.run(args...)
	if code != 0 {
		c.t.Fatalf("ollama %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout, stderr
}

// wants fails for each piece missing from out.
func wants(t testing.TB, what, out string, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		if !strings.Contains(out, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, out)
		}
	}
}

// TestOllamaCLIManagesModels drives a real `hearth serve` with the real ollama CLI: create from a GGUF Modelfile,
// list, show, cp, push to and pull from a real registry, rm, and the errors it prints.
func TestOllamaCLIManagesModels(t *testing.T) {
	cliManagesModels(t, ollamaCLI(t))
}

// cliManagesModels is TestOllamaCLIManagesModels with the CLI binary bin: the reference ollama, or hearth.
func cliManagesModels(t *testing.T, bin string) {
	gguf, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.StartDistribution(t)
	h := startHearth(t)
	c := cli{t: t, bin: bin, host: strings.TrimPrefix(h.URL, "http://"), home: t.TempDir()}

	dir := t.TempDir()
	if err := os.Symlink(gguf, filepath.Join(dir, "tiny.gguf")); err != nil {
		t.Fatal(err)
	}
	modelfile := filepath.Join(dir, "Modelfile")
	os.WriteFile(modelfile, []byte(`FROM ./tiny.gguf
PARAMETER temperature 0.7
PARAMETER num_ctx 256
SYSTEM """You are a test model."""
LICENSE """Test License 1.0"""
MESSAGE user hello
MESSAGE assistant hi there
`), 0o644)

	_, stderr := c.ok("create", "tiny", "-f", modelfile)
	wants(t, "create", stderr, "success")

	stdout, _ := c.ok("list")
	wants(t, "list", stdout, "NAME", "ID", "SIZE", "MODIFIED", "tiny:latest")

	stdout, _ = c.ok("show", "tiny")
	wants(t, "show", stdout, "Model", "architecture", "llama", "parameters", "context length", "embedding length",
		"Capabilities", "completion", "Parameters", "temperature", "0.7", "System", "You are a test model.", "License", "Test License 1.0")
	stdout, _ = c.ok("show", "tiny", "--modelfile")
	wants(t, "show --modelfile", stdout, "# FROM tiny:latest", "/blobs/sha256-", "PARAMETER temperature 0.7", "MESSAGE user hello")
	stdout, _ = c.ok("show", "tiny", "--template")
	wants(t, "show --template", stdout, "<|im_start|>")
	stdout, _ = c.ok("show", "tiny", "--parameters")
	wants(t, "show --parameters", stdout, "num_ctx", "256")

	stdout, _ = c.ok("cp", "tiny", "tiny-copy")
	wants(t, "cp", stdout, "copied 'tiny' to 'tiny-copy'")

	remote := reg + "/library/tiny:latest"
	c.ok("cp", "tiny", remote)
	stdout, _ = c.ok("push", "--insecure", remote)
	wants(t, "push", stdout, "You can find your model at:", remote)
	stdout, _ = c.ok("rm", remote)
	wants(t, "rm", stdout, "deleted '"+remote+"'")
	_, stderr = c.ok("pull", "--insecure", remote)
	wants(t, "pull", stderr, "pulling manifest", "verifying sha256 digest", "writing manifest", "success")
	stdout, _ = c.ok("list")
	wants(t, "list after pull", stdout, remote, "tiny-copy:latest")

	stdout, _ = c.ok("rm", "tiny", "tiny-copy", remote)
	wants(t, "rm", stdout, "deleted 'tiny'", "deleted 'tiny-copy'")
	if stdout, _ := c.ok("list"); strings.Contains(stdout, "tiny") {
		t.Errorf("list after rm:\n%s", stdout)
	}

	code, _, stderr := c.run("show", "nope")
	if code == 0 || !strings.Contains(stderr, "model 'nope' not found") {
		t.Errorf("show nope: exit %d, %s", code, stderr)
	}
	code, _, stderr = c.run("pull", "--insecure", reg+"/library/absent")
	if code == 0 || !strings.Contains(stderr, "file does not exist") {
		t.Errorf("pull absent: exit %d, %s", code, stderr)
	}
}

// TestOllamaPullsFromHearth runs the reference `ollama serve` and has it pull a model from the read-only
// registry of a real `hearth serve`, as a fleet machine running Ollama would; the store Ollama writes is then read
// by hearth.
func TestOllamaPullsFromHearth(t *testing.T) {
	bin := ollamaCLI(t)
	gguf, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	hearthHost := strings.TrimPrefix(startHearth(t).URL, "http://")
	c := cli{t: t, bin: bin, host: hearthHost, home: t.TempDir()}
	dir := t.TempDir()
	modelfile := filepath.Join(dir, "Modelfile")
	os.WriteFile(modelfile, []byte("FROM "+gguf+"\nSYSTEM shared by hearth\n"), 0o644)
	c.ok("create", "fleet", "-f", modelfile)

	ollamaHost, ollamaModels, home := startOllamaServe(t, bin)
	o := cli{t: t, bin: bin, host: ollamaHost, home: home}
	name := hearthHost + "/library/fleet:latest"
	_, stderr := o.ok("pull", "--insecure", name)
	wants(t, "ollama pull from hearth", stderr, "success")
	stdout, _ := o.ok("show", name, "--system")
	wants(t, "ollama show of the pulled model", stdout, "shared by hearth")

	// The store Ollama wrote is one hearth reads.
	ours, err := registry.Open(ollamaModels, registry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ours.Resolve(name)
	if err != nil || m.System != "shared by hearth" || m.ModelPath == "" {
		t.Errorf("hearth reading Ollama's pull: %+v, %v", m, err)
	}
}

// startOllamaServe runs the reference `ollama serve` on a free port with an empty store, and returns its
// host:port, its models folder and its HOME.
func startOllamaServe(t testing.TB, bin string) (string, string, string) {
	t.Helper()
	models, home, host := t.TempDir(), t.TempDir(), freeAddr(t)
	serve := exec.Command(bin, "serve")
	serve.Env = append(os.Environ(), "OLLAMA_HOST="+host, "OLLAMA_MODELS="+models, "HOME="+home)
	// Its own process group: Ollama's runner subprocesses must end with it.
	serve.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var log strings.Builder
	serve.Stdout, serve.Stderr = &log, &log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { serve.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-serve.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Head("http://" + host + "/")
		if err == nil {
			resp.Body.Close()
			return host, models, home
		}
		select {
		case <-exited:
			t.Fatalf("ollama serve exited:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ollama serve did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeAddr returns a loopback host:port nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	return addr
}

// BenchmarkModelRoutes measures /api/show and /api/tags on hearth beside the reference Ollama, each
// serving the same model created from the same Modelfile, over loopback HTTP.
func BenchmarkModelRoutes(b *testing.B) {
	bin := ollamaCLI(b)
	gguf, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		b.Fatal(err)
	}
	modelfile := filepath.Join(b.TempDir(), "Modelfile")
	os.WriteFile(modelfile, []byte("FROM "+gguf+"\nPARAMETER temperature 0.7\nSYSTEM benchmark\n"), 0o644)
	hearthHost := strings.TrimPrefix(startHearth(b).URL, "http://")
	ollamaHost, _, home := startOllamaServe(b, bin)
	servers := []struct{ name, host string }{{"hearth", hearthHost}, {"ollama", ollamaHost}}
	for _, srv := range servers {
		cli{t: b, bin: bin, host: srv.host, home: home}.ok("create", "tiny", "-f", modelfile)
	}
	for _, route := range []struct{ name, method, path, body string }{
		{"show", http.MethodPost, "/api/show", `{"model":"tiny"}`},
		{"tags", http.MethodGet, "/api/tags", ""},
	} {
		for _, srv := range servers {
			b.Run(route.name+"/"+srv.name, func(b *testing.B) {
				client := &http.Client{}
				for b.Loop() {
					req, _ := http.NewRequest(route.method, "http://"+srv.host+route.path, strings.NewReader(route.body))
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("%s %s: %d", route.method, route.path, resp.StatusCode)
					}
				}
			})
		}
	}
}
