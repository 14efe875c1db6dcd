package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthlink/hearth/models"
)

// TestDisconnectFreesSlotOnBusyMachine is issue #16's "a disconnected client frees its slot within one
// decode step even when the machine is busy", against the real `hearth serve` with one slot per model
// (OLLAMA_NUM_PARALLEL=1), for a model of each generative engine, while CPU-bound goroutines keep every
// core busy (a decode step then takes a second or more: ggml's threads wait for each other at each graph
// node). A streaming client reads a line and hangs up while a second request waits for the only slot: the
// second request must be answered, and the server's counters must show the first sequence ended as
// cancelled with at most one decode step completed after its client left (llama.cpp stops the step in
// flight instead when it can).
func TestDisconnectFreesSlotOnBusyMachine(t *testing.T) {
	ctx := context.Background()
	llama, err := models.Ensure(ctx, "", "tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	p := startHearth(t, "OLLAMA_NUM_PARALLEL=1")
	createAll(t, p.URL, map[string]string{"llm": llama, "olmo3": hfGGUFs(t, "tiny-olmo3")[0]})
	for _, m := range []struct{ name, backend string }{{"llm", "llama"}, {"olmo3", "ollamaengine"}} {
		t.Run(m.backend, func(t *testing.T) {
			if code, text := generateWith(t, p.URL, m.name, 2, false); code != http.StatusOK {
				t.Fatalf("warm-up generate = %d %q", code, text)
			}
			if engine := loadedBy(p.Log(), m.name+":latest"); engine != m.backend {
				t.Fatalf("%s was loaded by %q, want %q", m.name, engine, m.backend)
			}
			before := cancelCounters(t, p.URL)
			stopHogs := hogCPUs()
			defer stopHogs()

			// The first client streams a reply that would run for ten contexts, and hangs up after a line.
			streamCtx, hangUp := context.WithCancel(ctx)
			defer hangUp()
			body, _ := json.Marshal(map[string]any{"model": m.name, "prompt": "Tell a long story",
				"options": map[string]any{"num_predict": -1, "num_ctx": 256}})
			req, _ := http.NewRequestWithContext(streamCtx, "POST", p.URL+"/api/generate", bytes.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
				t.Fatalf("reading the first line: %v", err)
			}

			// The second waits for the only slot, which the first holds until the server notices it left.
			second := make(chan int, 1)
			go func() {
				code, _ := generateWith(t, p.URL, m.name, 2, true)
				second <- code
			}()
			hangUp()
			select {
			case code := <-second:
				if code != http.StatusOK {
					t.Errorf("the request waiting for the slot got %d, want 200", code)
				}
			case <-time.After(2 * time.Minute): // a hang guard, far beyond any step; not a measurement
				t.Fatal("the request waiting for the slot was not answered: the disconnected client kept it")
			}
			stopHogs()

			after := cancelCounters(t, p.URL)
			cancelled := after[0] - before[0]
			stepsAfter := after[1] - before[1]
			if cancelled < 1 {
				t.Errorf("hearth_cancelled_sequences_total rose by %d, want the disconnected sequence counted", cancelled)
			}
			if stepsAfter > cancelled {
				t.Errorf("%d decode steps completed for %d cancelled sequences after their clients left, want at most one each", stepsAfter, cancelled)
			}
			t.Logf("%s: %d cancelled, %d completed a step after the client left, %d steps aborted", m.backend, cancelled, stepsAfter, after[2]-before[2])
		})
	}
}

// generateWith sends a non-streaming /api/generate of n tokens with the context the test loads models
// with, and returns the status and the reply or error text. ignoreErr reports a transport failure as
// status 0 instead of failing the test (for calls from other goroutines).
func generateWith(t *testing.T, base, model string, n int, ignoreErr bool) (int, string) {
	body, _ := json.Marshal(map[string]any{"model": model, "prompt": "hello", "stream": false,
		"options": map[string]any{"num_predict": n, "num_ctx": 256}})
	resp, err := http.Post(base+"/api/generate", "application/json", bytes.NewReader(body))
	if err != nil {
		if ignoreErr {
			return 0, err.Error()
		}
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cancelCounters reads hearth_cancelled_sequences_total, hearth_decode_steps_after_cancel_total and
// hearth_aborted_decode_steps_total from the server's /metrics.
func cancelCounters(t *testing.T, base string) [3]int {
	t.Helper()
	_, text := get(t, base+"/metrics")
	var out [3]int
	for i, name := range []string{"hearth_cancelled_sequences_total", "hearth_decode_steps_after_cancel_total", "hearth_aborted_decode_steps_total"} {
		for _, line := range strings.Split(text, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == name {
				v, err := strconv.ParseFloat(f[1], 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				out[i] = int(v)
			}
		}
	}
	return out
}

// hogCPUs keeps twice as many goroutines as the machine has cores spinning until the returned function is
// called (it may be called more than once).
func hogCPUs() (stop func()) {
	n := 2 * runtime.NumCPU()
	prev := runtime.GOMAXPROCS(n)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := 0; ; x++ {
				if x%1_000_000 == 0 {
					select {
					case <-done:
						return
					default:
					}
				}
			}
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			runtime.GOMAXPROCS(prev)
		})
	}
}
