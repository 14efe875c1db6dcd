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

func TestTunerTunesBatchSizesApart(t *testing.T) {
	tu := NewTuner(4)
	if got := tu.Threads(1); got != 1 {
		t.Errorf("one token starts on %d threads, want 1", got)
	}
	if got := tu.Threads(4); got != 4 {
		t.Errorf("four tokens start on %d threads, want 4", got)
	}
	run(tu, busy, 1, 100)  // single tokens learn the machine is busy...
	run(tu, quiet, 4, 100) // ...while batches of four, measured faster with every thread, use them
	if tu.Threads(1) != 1 || tu.Threads(4) != 4 {
		t.Errorf("got %d threads for one token and %d for four, want 1 and 4", tu.Threads(1), tu.Threads(4))
	}
}

func TestTunerDropsBatchesOfAFewTokensToOneThreadOnABusyMachine(t *testing.T) {
	tu := NewTuner(4)
	used := run(tu, busy, 4, 1000)
	if used[4] > 15 || tu.Threads(4) != 1 {
		t.Errorf("busy machine, four-token batches: %v calls per count, settled on %d; want one thread", used, tu.Threads(4))
	}
}

func TestTunerGivesPromptsEveryThread(t *testing.T) {
	tu := NewTuner(4)
	if used := run(tu, busy, 512, 50); used[4] != 50 {
		t.Errorf("prompts: %v calls per count, want all 50 with 4 threads", used)
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
