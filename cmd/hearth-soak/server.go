package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearthlink/hearth/internal/proctree"
)

// defaultModels are the models `hearth serve` registers on first start; the soak waits for all of them.
var defaultModels = []string{"hearth/tiny-llama", "hearth/bert-embed", "hearth/bert-rerank",
	"hearth/minilm-onnx", "hearth/tinybert-cls-onnx", "hearth/tinybert-rerank-onnx"}

// server is the hearth under soak, with its own temporary store and log.
type server struct {
	url    string
	cmd    *exec.Cmd
	dir    string
	log    string
	exited chan struct{}
}

// startServer runs bin serve on a free loopback port with a fresh OLLAMA_MODELS and waits until every
// default model is registered. Inherited OLLAMA_* settings are dropped so the user's own configuration
// (a remote host, a different store) cannot leak into the soak.
func startServer(ctx context.Context, bin string) (*server, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (build it with `make build`)", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "hearth-soak-")
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + addr, dir: dir, log: filepath.Join(dir, "serve.log"), exited: make(chan struct{})}
	logf, err := os.Create(s.log)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OLLAMA_") {
			env = append(env, kv)
		}
	}
	env = append(env, "OLLAMA_HOST="+addr, "OLLAMA_MODELS="+filepath.Join(dir, "models"))
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = env
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()

	deadline := time.Now().Add(3 * time.Minute)
	for !s.hasDefaults() {
		select {
		case <-s.exited:
			tail := s.logTail()
			s.stop()
			return nil, fmt.Errorf("hearth exited before its default models were registered: %s", tail)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tail := s.logTail()
			s.stop()
			return nil, fmt.Errorf("the default models were not registered within 3m: %s", tail)
		}
	}
	return s, nil
}

// hasDefaults says whether /api/tags lists every default model.
func (s *server) hasDefaults() bool {
	resp, err := http.Get(s.url + "/api/tags")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var tags struct {
		Models []struct{ Name string } `json:"models"`
	}
	if json.NewDecoder(resp.Body).Decode(&tags) != nil {
		return false
	}
	have := map[string]bool{}
	for _, m := range tags.Models {
		have[strings.TrimSuffix(m.Name, ":latest")] = true
	}
	for _, m := range defaultModels {
		if !have[m] {
			return false
		}
	}
	return true
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop ends the server (SIGTERM, SIGKILL after 15 s) and removes its store and log.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

// logTail is the end of the server's log, for error messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// rss is the resident memory of the server's process tree, in bytes, from /proc/<pid>/status VmRSS; -1 when
// it cannot be read (as runtimeGauges reports what it cannot read).
func (s *server) rss() int64 {
	n, err := proctree.RSS(s.pid())
	if err != nil {
		return -1
	}
	return n
}

// runtimeGauges reads go_goroutines and go_memstats_heap_inuse_bytes from the server's /metrics; -1 for
// either when it cannot. The Go heap beside the process's RSS tells growth in Go code from growth in the
// native libraries (llama.cpp, ONNX Runtime), which the Go heap does not include.
func (s *server) runtimeGauges() (goroutines, heap float64) {
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		return -1, -1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1, -1
	}
	return parseGauge(bytes.NewReader(b), "go_goroutines"), parseGauge(bytes.NewReader(b), "go_memstats_heap_inuse_bytes")
}

// parseGauge finds an unlabelled gauge in Prometheus text exposition; -1 when absent.
func parseGauge(r io.Reader, name string) float64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				return v
			}
		}
	}
	return -1
}
