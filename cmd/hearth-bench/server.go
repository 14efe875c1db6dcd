package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/internal/proctree"
	"github.com/hearthlink/hearth/models"
)

// serverSpec says how to start one server under test.
type serverSpec struct {
	// Name labels the server in the report: "hearth", "ollama", "ollama-np4", "ollama-amx".
	Name string
	// Kind is "hearth" or "ollama".
	Kind string
	// Bin is the executable; both are run as `BIN serve`.
	Bin string
	// LibDir, when set, is given as OLLAMA_LIBRARY_PATH (the ggml CPU backends the server may load).
	LibDir string
	// Parallel, when > 0, is given as OLLAMA_NUM_PARALLEL; 0 leaves the server's default.
	Parallel int
	// NumCtx is given as OLLAMA_CONTEXT_LENGTH to every server, so all run the same context per sequence.
	NumCtx int
	// Matched marks the Ollama started with OLLAMA_NUM_PARALLEL set to hearth's slots; it runs only the
	// workloads where parallelism matters.
	Matched bool
	// GoEngine starts the server with OLLAMA_NEW_ENGINE=1 (hearth-go: every architecture Ollama's Go engine
	// supports runs on it); it runs only the Go-engine workloads.
	GoEngine bool
}

// server is a running server under test with its own model store, home folder and log file.
type server struct {
	spec   serverSpec
	url    string
	client *api.Client
	cmd    *exec.Cmd
	dir    string
	log    *os.File
	exited chan error
}

// startServer runs spec's binary on a free loopback port with a fresh store under workDir, logging to
// logDir/<name>.log, and waits until it answers. Every inherited OLLAMA_* variable is dropped so the
// user's own configuration cannot make the two servers differ.
func startServer(ctx context.Context, spec serverSpec, workDir, logDir string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(workDir, spec.Name+"-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(logDir, spec.Name+".log"))
	if err != nil {
		return nil, err
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OLLAMA_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "HEARTH_CACHE=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"HOME="+dir,                       // Ollama writes its key pair under $HOME/.ollama
		"HEARTH_CACHE="+models.CacheDir(), // hearth's CPU backends and ONNX Runtime, whatever HOME says
		"OLLAMA_HOST="+addr,
		"OLLAMA_MODELS="+filepath.Join(dir, "models"),
		"OLLAMA_KEEP_ALIVE=-1", // nothing unloads mid-run; the cold-load workload unloads explicitly
		"OLLAMA_CONTEXT_LENGTH="+strconv.Itoa(spec.NumCtx),
		"HEARTH_DEFAULT_MODELS=false",
	)
	if spec.LibDir != "" {
		env = append(env, "OLLAMA_LIBRARY_PATH="+spec.LibDir)
	}
	if spec.Parallel > 0 {
		env = append(env, "OLLAMA_NUM_PARALLEL="+strconv.Itoa(spec.Parallel))
	}
	if spec.GoEngine {
		env = append(env, "OLLAMA_NEW_ENGINE=1")
	}
	cmd := exec.Command(spec.Bin, "serve")
	// A bench that dies without stopping its servers (killed, or a test's timeout) takes them with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	s := &server{spec: spec, url: "http://" + addr, cmd: cmd, dir: dir, log: logf, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	u, _ := url.Parse(s.url)
	s.client = api.NewClient(u, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}})

	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(s.url + "/api/version")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			return nil, fmt.Errorf("%s exited before answering (%v); see %s", spec.Name, err, logf.Name())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not answer on %s within 90s; see %s", spec.Name, addr, logf.Name())
		}
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 15 s) and removes its store. Ollama's runner
// children exit when their parent closes their pipes; any left are killed by process id.
func (s *server) stop() {
	children := proctree.Descendants(s.cmd.Process.Pid)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
	}
	for _, pid := range children {
		// Only a process still running our binary: the id may have been reused since.
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil &&
			strings.HasPrefix(string(cmdline), s.spec.Bin) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
	s.log.Close()
	_ = os.RemoveAll(s.dir)
}

// rss is the resident memory of the server and every process below it (Ollama's runners), in bytes.
func (s *server) rss() (int64, error) {
	n, err := proctree.RSS(s.cmd.Process.Pid)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.spec.Name, err)
	}
	return n, nil
}

// processes counts the server's process tree.
func (s *server) processes() int { return 1 + len(proctree.Descendants(s.cmd.Process.Pid)) }

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
