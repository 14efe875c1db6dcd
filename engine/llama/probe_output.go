package llama

import (
	"cmp"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
)

// probeOutputBytes is how much of a probe child's stderr is kept: its last words, llama.cpp's message and
// the Go runtime's report of the signal, fit many times over; the metadata dump before them need not.
const probeOutputBytes = 256 << 10

// tailBuffer is an io.Writer that keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// Write keeps p, dropping the oldest bytes beyond max.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

var (
	// goSignalLine is how the Go runtime of the child reports a signal raised in C code: "SIGFPE:
	// floating-point exception", or "[signal SIGSEGV: segmentation violation code=... addr=...]".
	goSignalLine = regexp.MustCompile(`^\[?(?:signal )?(SIG[A-Z]+): ([a-z][a-z -]*[a-z])`)
	// ggmlAbortLine is ggml's message before it aborts, GGML_ASSERT's included:
	// ".../llama-model.cpp:522: GGML_ASSERT(hparams.n_expert_used <= hparams.n_expert) failed".
	ggmlAbortLine = regexp.MustCompile(`^(?:\S*/)?([\w.-]+\.(?:c|cc|cpp|h|hpp|cu|m):\d+: .+)$`)
)

// describeFailure reads why a probe child failed from its stderr and exit state: the signal that killed
// it, and the loader's own message (a ggml abort, llama.cpp's "error loading model", an uncaught C++
// exception, the child's own error or panic), or else the last line the loader printed before it died.
func describeFailure(stderr string, state *os.ProcessState) *ProbeError {
	e := &ProbeError{Signal: killedBy(state)}
	var abort, loadErr, exception, childErr, last string
	runtimeReport := false // the Go runtime's crash report has begun: no more loader output
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if m := goSignalLine.FindStringSubmatch(line); m != nil {
			e.Signal = m[1] + ": " + m[2]
			runtimeReport = true
			continue
		}
		if strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "goroutine ") {
			runtimeReport = true
		}
		if runtimeReport {
			continue
		}
		switch {
		case ggmlAbortLine.MatchString(line):
			abort = ggmlAbortLine.FindStringSubmatch(line)[1]
		case strings.Contains(line, "error loading model: "):
			_, after, _ := strings.Cut(line, "error loading model: ")
			loadErr = "error loading model: " + after
		case strings.HasPrefix(line, "what():"):
			exception = strings.TrimSpace(strings.TrimPrefix(line, "what():"))
		case strings.HasPrefix(line, probeErrorPrefix):
			childErr = strings.TrimPrefix(line, probeErrorPrefix)
		case strings.HasPrefix(line, "panic: "): // a Go panic in the child, before its goroutine dump
			childErr = line
		}
		if !strings.HasPrefix(line, probeErrorPrefix) {
			last = line
		}
	}
	e.Detail = cmp.Or(abort, loadErr, exception, childErr)
	if e.Detail == "" {
		e.LastOutput = last
	}
	if e.Signal == "" && e.Detail == "" && e.LastOutput == "" {
		e.Detail = state.String()
	}
	return e
}

// killedBy returns "signal: <name>" when the child was killed by a signal its runtime did not handle.
func killedBy(state *os.ProcessState) string {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return ""
}
