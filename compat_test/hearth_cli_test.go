package compat_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	hearthapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/models"
)

// hearthAsOllama returns a link named ollama to the hearth binary, as `ln -s hearth ollama` makes one.
func hearthAsOllama(t testing.TB) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "ollama")
	if err := os.Symlink(hearthBinary(t), link); err != nil {
		t.Fatal(err)
	}
	return link
}

// TestHearthCLIManagesModels is TestOllamaCLIManagesModels with the hearth binary as the CLI: create from a
// Modelfile, list, show and its flags, cp, push to and pull from a real registry, rm, and the errors.
func TestHearthCLIManagesModels(t *testing.T) {
	cliManagesModels(t, hearthBinary(t))
}

// TestHearthAsOllamaRunsModels is TestOllamaCLIRunsModels with hearth called ollama (a symlink) as the CLI:
// run with a prompt, with piped stdin and with --verbose, ps and stop.
func TestHearthAsOllamaRunsModels(t *testing.T) {
	cliRunsModels(t, hearthAsOllama(t))
}

// TestHearthAsOllamaServes starts `ollama serve` with ollama a link to hearth, as a service or script that
// starts Ollama by name would: it is hearth's server, and it stops cleanly on SIGTERM.
func TestHearthAsOllamaServes(t *testing.T) {
	addr := freeAddr(t)
	serve := exec.Command(hearthAsOllama(t), "serve")
	serve.Env = append(os.Environ(), "OLLAMA_HOST="+addr, "OLLAMA_MODELS="+t.TempDir(), "HEARTH_DEFAULT_MODELS=false")
	p := &hearthProcess{URL: "http://" + addr, cmd: serve, exited: make(chan error, 1)}
	startProcess(t, p)
	if code, body := get(t, p.URL+"/api/version"); code != http.StatusOK || !strings.Contains(body, `"0.17.4"`) {
		t.Errorf("/api/version: %d %s", code, body)
	}
	if !strings.Contains(p.Log(), "hearth is listening") {
		t.Errorf("ollama serve did not start hearth's server:\n%s", p.Log())
	}
	if err := p.Stop(); err != nil {
		t.Errorf("ollama serve after SIGTERM: %v", err)
	}
}

// TestHearthCLIOutputIsOllamas runs the same command lines with the reference ollama CLI, with hearth, and
// with hearth called ollama, against one server, and requires the same exit code, stdout and stderr:
// show and its flags, the errors, ps; and, called ollama, the very same help.
func TestHearthCLIOutputIsOllamas(t *testing.T) {
	ref := ollamaCLI(t)
	gguf, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	h := startHearth(t)
	host := strings.TrimPrefix(h.URL, "http://")
	home := t.TempDir()
	clis := map[string]cli{
		"ollama":           {t: t, bin: ref, host: host, home: home},
		"hearth":           {t: t, bin: hearthBinary(t), host: host, home: home},
		"hearth as ollama": {t: t, bin: hearthAsOllama(t), host: host, home: home},
	}
	modelfile := filepath.Join(t.TempDir(), "Modelfile")
	os.WriteFile(modelfile, []byte("FROM "+gguf+"\nPARAMETER temperature 0.7\nSYSTEM \"\"\"You are a test model.\"\"\"\nLICENSE \"\"\"Test License 1.0\"\"\"\n"), 0o644)
	clis["hearth"].ok("create", "tiny", "-f", modelfile)

	same := func(names []string, args ...string) {
		t.Helper()
		code, stdout, stderr := clis["ollama"].run(args...)
		for _, name := range names {
			c, o, e := clis[name].run(args...)
			if c != code || o != stdout || e != stderr {
				t.Errorf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s\nwhere the reference ollama CLI exits %d\nstdout:\n%s\nstderr:\n%s",
					name, strings.Join(args, " "), c, o, e, code, stdout, stderr)
			}
		}
	}
	both := []string{"hearth", "hearth as ollama"}
	same(both, "show", "tiny")
	same(both, "show", "tiny", "--modelfile")
	same(both, "show", "tiny", "--parameters")
	same(both, "show", "tiny", "--template")
	same(both, "show", "tiny", "--system")
	same(both, "show", "tiny", "--license")
	same(both, "show", "tiny", "-v")
	same(both, "show", "nope")
	same(both, "cp", "nope", "other")
	same(both, "rm", "nope")
	// The reference here is built without the release's -ldflags version, so it warns that the client is
	// 0.0.0; hearth answers as Ollama's release build does.
	for _, name := range both {
		if stdout, _ := clis[name].ok("--version"); stdout != "ollama version is 0.17.4\n" {
			t.Errorf("%s --version: %q, want Ollama 0.17.4's release answer", name, stdout)
		}
	}
	same(both, "ps")
	// Called ollama, the binary is Ollama's CLI alone: its help is Ollama's to the letter.
	same([]string{"hearth as ollama"}, "--help")
	same([]string{"hearth as ollama"}, "run", "--help")
	same([]string{"hearth as ollama"}, "serve", "--help")
	same([]string{"hearth as ollama"}, "models")
}

// TestHearthCLIInteractiveSession runs `hearth run` on a real pseudo-terminal as a user would: the prompt,
// a message answered as the same message is answered non-interactively, /show info, a """ multi-line
// message, /set, /save, /clear, /load, and /bye, which ends the session with status 0.
func TestHearthCLIInteractiveSession(t *testing.T) {
	gguf, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	h := startHearth(t)
	c := cli{t: t, bin: hearthBinary(t), host: strings.TrimPrefix(h.URL, "http://"), home: t.TempDir()}
	modelfile := filepath.Join(t.TempDir(), "Modelfile")
	os.WriteFile(modelfile, []byte("FROM "+gguf+"\nPARAMETER num_predict 8\nPARAMETER seed 7\n"), 0o644)
	c.ok("create", "short", "-f", modelfile)
	answer, _ := c.ok("run", "--nowordwrap", "short", "hello")
	answer = strings.TrimSpace(answer)
	if answer == "" {
		t.Fatal("hearth run printed no answer")
	}

	cmd := exec.Command(c.bin, "run", "--nowordwrap", "short")
	cmd.Env = append(os.Environ(), "OLLAMA_HOST="+c.host, "HOME="+c.home, "TERM=xterm")
	term := startTerminal(t, cmd)
	term.WaitFor(">>> ", 1)
	term.Type("hello\r")
	screen := term.WaitFor(">>> ", 2)
	if !strings.Contains(screen, answer) {
		t.Errorf("the session's answer to hello is not %q", answer)
	}
	term.Type("/show info\r")
	screen = term.WaitFor(">>> ", 3)
	wants(t, "/show info", screen, "Model", "architecture", "llama", "context length", "Capabilities", "completion")

	// The rest of the session's commands: a multi-line message, /set, /save (a create on the server with
	// the session's messages), /clear and /load.
	term.Type("\"\"\"first line\rsecond line\r\"\"\"\r")
	term.WaitFor(">>> ", 4)
	term.Type("/set parameter num_predict 4\r")
	term.WaitFor("Set parameter 'num_predict' to '4'", 1)
	term.Type("/set system You are terse.\r")
	term.WaitFor("Set system message.", 1)
	term.Type("/save saved\r")
	term.WaitFor("Created new model 'saved'", 1)
	term.Type("/clear\r")
	term.WaitFor("Cleared session context", 1)
	term.Type("/load saved\r")
	term.WaitFor("Loading model 'saved'", 1)
	term.WaitFor(">>> ", 9)
	term.Type("/bye\r")
	if code := term.Wait(); code != 0 {
		t.Errorf("/bye: exit %d", code)
	}
	stdout, _ := c.ok("show", "saved", "--modelfile")
	wants(t, "the model /save created", stdout, "SYSTEM You are terse.", "PARAMETER num_predict 4",
		"MESSAGE user hello", "MESSAGE user \"first line\nsecond line")
}

// TestMakeInstallServes runs `make install` into a staging folder (DESTDIR) and starts the installed
// bin/hearth with an empty cache, so the ggml CPU backends and ONNX Runtime can only come from the
// installed tree: it serves, runs a GGUF model through its own CLI, and reranks with an ONNX model.
func TestMakeInstallServes(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dest := t.TempDir()
	install := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "PREFIX=/usr")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(dest, "usr", "bin", "hearth")
	for _, p := range []string{bin, filepath.Join(dest, "usr", "lib", "libonnxruntime.so")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dest, "usr", "lib", "ollama", "libggml-cpu-*.so")); len(m) == 0 {
		t.Fatal("make install put no ggml CPU backend under lib/ollama")
	}

	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	addr := freeAddr(t)
	serve := exec.Command(bin, "serve")
	serve.Env = append(env, "OLLAMA_HOST="+addr, "HEARTH_DEFAULT_MODELS=false", "HEARTH_CACHE="+t.TempDir())
	p := &hearthProcess{URL: "http://" + addr, cmd: serve, exited: make(chan error, 1)}
	startProcess(t, p)
	if !strings.Contains(p.Log(), filepath.Join(dest, "usr", "lib", "ollama")) {
		t.Errorf("the installed hearth does not name its own lib/ollama as its library path:\n%s", p.Log())
	}

	c := cli{t: t, bin: bin, host: addr, home: home}
	gguf, err := models.Ensure(context.Background(), "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	modelfile := filepath.Join(t.TempDir(), "Modelfile")
	os.WriteFile(modelfile, []byte("FROM "+gguf+"\nPARAMETER num_predict 4\n"), 0o644)
	c.ok("create", "tiny", "-f", modelfile)
	if out, _ := c.ok("run", "tiny", "hi"); strings.TrimSpace(out) == "" {
		t.Error("the installed hearth's run printed no answer")
	}

	onnxModel, err := models.Ensure(context.Background(), "", "tinybert-rerank-onnx")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p.URL)
	if err := hearthapi.CreateFromPath(context.Background(), api.NewClient(u, http.DefaultClient), "rerank", onnxModel); err != nil {
		t.Fatal(err)
	}
	code, body := post(t, p.URL+"/api/rerank", `{"model": "rerank", "query": "capital of France", "documents": ["Paris", "Bananas"]}`)
	if code != http.StatusOK || !strings.Contains(body, "relevance_score") {
		t.Errorf("rerank with ONNX Runtime from the installed tree: %d %s", code, body)
	}
}

// post sends a JSON body and returns the status code and the answer.
func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
