package llama

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/internal/malloc"
	"github.com/hearthlink/hearth/models"
)

// TestLoadUnloadChurn loads and frees a model HEARTH_CHURN_CYCLES times (an encoder, bert-embed, used once
// per load, and tiny-llama), each load on a fresh goroutine as the scheduler's loads are, and logs this
// process's resident memory; it fails when the last third of the cycles sits above the middle third by
// more than 10% + 8 MiB. It measures what `make soak` found (memory growing with model load/unload
// churn) one backend at a time; HEARTH_CHURN_DYNAMIC=1 leaves glibc's dynamic mmap threshold on, to see
// the growth internal/malloc prevents. Skipped unless HEARTH_CHURN_CYCLES is set:
//
//	HEARTH_CHURN_CYCLES=150 go test -run TestLoadUnloadChurn -v ./engine/llama
func TestLoadUnloadChurn(t *testing.T) {
	cycles, _ := strconv.Atoi(os.Getenv("HEARTH_CHURN_CYCLES"))
	if cycles < 6 {
		t.Skip("set HEARTH_CHURN_CYCLES (at least 6) to run")
	}
	if os.Getenv("HEARTH_CHURN_DYNAMIC") == "" {
		malloc.BoundFragmentation()
	}
	Init("")
	for _, recipe := range []string{"bert-embed", "tiny-llama"} {
		t.Run(recipe, func(t *testing.T) {
			path, err := models.Ensure(context.Background(), "", recipe)
			if err != nil {
				t.Fatal(err)
			}
			cfg := engine.LoadConfig{NumCtx: 4096, NumBatch: 512, NumThread: 2, Parallel: 1}
			var rss []float64
			for i := range cycles {
				done := make(chan struct{})
				go func() {
					defer close(done)
					if recipe == "tiny-llama" {
						r, err := Open(path, nil, cfg)
						if err != nil {
							t.Error(err)
							return
						}
						enginetest.Collect(t, r, context.Background(), engine.GenerateRequest{Prompt: "hello", Options: enginetest.Greedy(4)})
						r.Close()
						return
					}
					e, err := OpenEncoder(path, cfg)
					if err != nil {
						t.Error(err)
						return
					}
					if _, _, err := e.Embed(context.Background(), []string{"hello world", "another input"}, true); err != nil {
						t.Error(err)
					}
					e.Close()
				}()
				<-done
				rss = append(rss, float64(residentKiB(t))/1024)
				if i%(cycles/6) == 0 || i == cycles-1 {
					t.Logf("cycle %d: RSS %.0f MiB", i, rss[i])
				}
			}
			third := len(rss) / 3
			middle, last := median(rss[third:2*third]), median(rss[2*third:])
			if last > middle*1.10+8 {
				t.Errorf("resident memory kept growing: middle third's median %.0f MiB, last third's %.0f MiB", middle, last)
			}
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// residentKiB is this process's VmRSS.
func residentKiB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Skip("no VmRSS")
	return 0
}
