package cputhreads

import (
	"testing"
	"time"
)

// machine fakes a computation's duration per token for a thread count.
type machine func(threads int) time.Duration

// run drives t through calls computations of batches of tokens on m and returns how many used each count.
func run(t *Tuner, m machine, tokens, calls int) map[int]int {
	used := map[int]int{}
	for range calls {
		n := t.Threads(tokens)
		used[n]++
		t.Observe(tokens, n, time.Duration(tokens)*m(n))
	}
	return used
}

// quiet: every thread is a core of its own, four threads 3x as fast as one.
func quiet(n int) time.Duration {
	if n == 1 {
		return 30 * time.Millisecond
	}
	return 10 * time.Millisecond
}

// busy: other processes hold the cores: one thread gets half a core, several wait at every barrier and are
// 16x slower still.
func busy(n int) time.Duration {
	if n == 1 {
		return 60 * time.Millisecond
	}
	return time.Second
}

func TestTunerUsesEveryThreadOnAQuietMachine(t *testing.T) {
	tu := NewTuner(4)
	run(tu, quiet, 1, 20)
	used := run(tu, quiet, 1, 1000)
	if used[4] < 980 {
		t.Errorf("quiet machine: %v of 1000 calls per count, want at least 980 with 4 threads", used)
	}
	if tu.Threads(1) != 4 {
		t.Errorf("settled on %d threads, want 4", tu.Threads(1))
	}
}

func TestTunerDropsToOneThreadOnABusyMachine(t *testing.T) {
	tu := NewTuner(4)
	used := run(tu, busy, 1, 1000)
	// A probe with every thread costs 16 single-thread calls: costRatio keeps them to a few.
	if used[4] > 10 {
		t.Errorf("busy machine: %v calls per count, want at most 10 with 4 threads", used)
	}
}

func TestTunerFollowsTheLoad(t *testing.T) {
	tu := NewTuner(2)
	run(tu, quiet, 1, 200)
	if got := tu.Threads(1); got != 2 {
		t.Fatalf("quiet: %d threads, want 2", got)
	}
	run(tu, busy, 1, 200)
	if got := tu.Threads(1); got != 1 {
		t.Fatalf("after the machine got busy: %d threads, want 1", got)
	}
	run(tu, quiet, 1, 400)
	if got := tu.Threads(1); got != 2 {
		t.Fatalf("after it got quiet again: %d threads, want 2", got)
	}
}

func TestTunerKeepsOneThreadWhenMoreDoNotPay(t *testing.T) {
	tu := NewTuner(8)
	same := func(int) time.Duration { return 5 * time.Millisecond }
	used := run(tu, same, 1, 1000)
	if tu.Threads(1) != 1 || used[1] < 950 {
		t.Errorf("threads that cost the same: %v calls per count, settled on %d; want one thread", used, tu.Threads(1))
	}
}

func TestTunerGivesLargerBatchesEveryThread(t *testing.T) {
	tu := NewTuner(4)
	for _, n := range []int{tunedTokens + 1, 512} {
		if used := run(tu, busy, n, 50); used[4] != 50 {
			t.Errorf("batches of %d: %v calls per count, want all 50 with 4 threads", n, used)
		}
	}
}

func TestFixedAndSingleThreadTunersNeverChange(t *testing.T) {
	for _, tu := range []*Tuner{Fixed(3), NewTuner(1), NewTuner(0)} {
		want := tu.Max()
		used := run(tu, busy, 1, 100)
		if used[want] != 100 {
			t.Errorf("%+v: %v calls per count, want all 100 with %d", tu, used, want)
		}
	}
}
