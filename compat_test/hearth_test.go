package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// hearthBinary builds cmd/hearth once per test run, with the build settings of scripts/env.sh that the
// Makefile exports, so it reuses the Go build cache.
func hearthBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hearth-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hearth")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/hearthlink/hearth/cmd/hearth")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// hearthProcess is a running `hearth serve`.
type hearthProcess struct {
	URL    string
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan error
}

// Log returns what the server has logged so far.
func (p *hearthProcess) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Stop sends SIGTERM and waits for a graceful exit, returning its error.
func (p *hearthProcess) Stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("hearth did not exit within 30s of SIGTERM")
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHearth runs `hearth serve` on a free loopback port with a fresh model store, plus env (KEY=VALUE),
// and waits until it answers. The process is stopped when the test ends.
func startHearth(t testing.TB, env ...string) *hearthProcess {
	t.Helper()
	bin := hearthBinary(t)
	addr := freePort(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"OLLAMA_HOST="+addr,
		"OLLAMA_MODELS="+filepath.Join(t.TempDir(), "models"),
		"HEARTH_DEFAULT_MODELS=false",
	)
	cmd.Env = append(cmd.Env, env...)
	p := &hearthProcess{URL: "http://" + addr, cmd: cmd, exited: make(chan error, 1)}
	startProcess(t, p)
	return p
}

// startProcess starts p's server command, collects its log, stops it when the test ends, and waits until
// it answers at p.URL.
func startProcess(t testing.TB, p *hearthProcess) {
	t.Helper()
	cmd := p.cmd
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	go func() {
		<-logDone
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Logf("hearth stop: %v", err)
		}
		if t.Failed() {
			t.Logf("hearth log:\n%s", p.Log())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		resp, err := http.Head(p.URL + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case err := <-p.exited:
			t.Fatalf("hearth exited before answering: %v\n%s", err, p.Log())
		case <-ctx.Done():
			t.Fatalf("hearth did not answer on %s within 60s\n%s", p.URL, p.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiClient is an Ollama client of the server at base.
func apiClient(t testing.TB, base string) *api.Client {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewClient(u, http.DefaultClient)
}

// TestServeAnswersLikeOllama is the README's first promise: the server answers Ollama's liveness probe,
// reports a version, names the CPU features of the backend it loaded, and exits cleanly on SIGTERM.
func TestServeAnswersLikeOllama(t *testing.T) {
	p := startHearth(t)
	if code, body := get(t, p.URL+"/"); code != 200 || body != "Ollama is running" {
		t.Errorf("GET / = %d %q", code, body)
	}
	if code, body := get(t, p.URL+"/api/version"); code != 200 || !strings.Contains(body, `"version":"0.17.4"`) {
		t.Errorf("GET /api/version = %d %q", code, body)
	}
	if code, body := get(t, p.URL+"/no/such/route"); code != 404 || body != "404 page not found" {
		t.Errorf("GET unknown = %d %q", code, body)
	}
	log := p.Log()
	if !strings.Contains(log, `"message":"inference backend ready"`) || !strings.Contains(log, `"cpu_features":["`) {
		t.Errorf("startup log does not name the CPU features in use:\n%s", log)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
	if !strings.Contains(p.Log(), `"message":"shutting down"`) {
		t.Errorf("no shutdown line in the log")
	}
}

// A port already in use is a clear startup error, not a hang.
func TestServeReportsBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(hearthBinary(t), "serve")
	cmd.Env = append(os.Environ(), "OLLAMA_HOST="+ln.Addr().String(), "OLLAMA_MODELS="+t.TempDir(),
		"HEARTH_DEFAULT_MODELS=false")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("hearth serve succeeded on a busy port")
	}
	if !strings.Contains(string(out), "address already in use") {
		t.Errorf("error does not say why:\n%s", out)
	}
}
