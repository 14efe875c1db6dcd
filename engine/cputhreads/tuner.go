package cputhreads

import (
	"slices"
	"time"
)

// Tuning constants. A probe runs up to probeCalls calls with the other thread count, and ends after one
// that took abortRatio times the current count's time (on a quiet machine, a probe of one thread costs one call). More
// threads win only when faster by winMargin, and one thread loses only when slower by it (see decide), so two
// counts that cost the same do not flap. Probes come every period calls, the period starting at
// minPeriod and doubling up to maxPeriod each time a probe confirms the current count, and only once the
// time spent since the last probe is costRatio times what that probe cost: on a busy machine a call with
// every thread can take fifty times one with a single thread, and probing it must stay rare. When the
// current count's time per token moves by driftRatio either way (a process started or stopped beside the
// server) the next probe comes as soon as driftCostRatio times the last probe's cost has been spent.
const (
	probeCalls     = 3
	abortRatio     = 1.25
	winMargin      = 0.95
	minPeriod      = 16
	maxPeriod      = 1024
	costRatio      = 20.0
	driftRatio     = 1.5
	driftCostRatio = 4.0
)

// A Tuner chooses, call by call, the thread count of a model's graph computations: the model's full
// count (Max) or a single thread, whichever the last calls of the same batch size measured faster per token.
// On a quiet machine that is usually Max; when other processes hold the cores, ggml's spinning workers wait
// a scheduler quantum at each of the graph's hundreds of barriers and one thread, which never waits, is
// many times faster; for a small model one thread can also be as fast as several. Only batches of up to
// tunedTokens tokens are tuned, each size apart (times per token of two sizes cannot be compared); larger
// ones always get every thread (see Threads).
//
// A Tuner belongs to one decode loop and is not safe for concurrent use.
type Tuner struct {
	max     int
	fixed   bool
	classes [tunedTokens]tunerClass
}

// Fixed is a Tuner that always answers n (a thread count the request set).
func Fixed(n int) *Tuner { return &Tuner{max: n, fixed: true} }

// NewTuner tunes between max threads and one; with max 1 or less it always answers max (at least 1).
func NewTuner(max int) *Tuner {
	t := &Tuner{max: max}
	// Start on every thread, what a quiet machine wants: the first probe, of one thread, comes after
	// probeCalls calls and wins at once on a busy machine. (Starting on one thread cost a quiet 2-core
	// machine 10-25% of the first request's decode speed, since a first call with more threads can be slow
	// enough to abort their probe.)
	for i := range t.classes {
		t.classes[i] = tunerClass{cur: max, period: minPeriod}
	}
	return t
}

// Max is the largest count the Tuner answers.
func (t *Tuner) Max() int { return max(1, t.max) }

// Threads is the thread count for a computation of a batch of tokens. Batches of more than tunedTokens
// always get every thread: a probe with one thread would cost a prompt's evaluation at a fraction of the
// speed, and with more work between barriers threading pays more. (Tuning batches of a few sequences
// measured 15-20% lower aggregate throughput for four clients on the shared 2-core test machine.)
func (t *Tuner) Threads(tokens int) int {
	if t.fixed || t.max <= 1 || tokens > tunedTokens {
		return max(1, t.max)
	}
	c := &t.classes[classOf(tokens)]
	if c.probing != 0 {
		return c.probing
	}
	return c.cur
}

// Observe records that a computation of a batch of tokens with threads threads took d.
func (t *Tuner) Observe(tokens, threads int, d time.Duration) {
	if t.fixed || t.max <= 1 || tokens <= 0 || tokens > tunedTokens || d <= 0 {
		return
	}
	t.classes[classOf(tokens)].observe(threads, d.Seconds()/float64(tokens), d.Seconds(), t.max)
}

// tunedTokens is the largest batch the Tuner tunes: single-token decoding, the single stream whose
// collapse on a busy machine this package exists for.
const tunedTokens = 1

// classOf is the state index of a batch size up to tunedTokens: each size is tuned on its own, since the
// time per token falls as batches grow and two sizes' times cannot be compared.
func classOf(tokens int) int {
	return max(tokens, 1) - 1
}

// tunerClass is the state of one batch-size class.
type tunerClass struct {
	cur       int       // the chosen thread count
	recent    []float64 // the last seconds per token with cur, newest last
	baseline  float64   // cur's seconds per token when last chosen or confirmed; 0 before the first probe
	since     int       // calls with cur since the last probe
	spent     float64   // seconds of those calls
	period    int       // calls between probes
	probing   int       // the count being probed, 0 when none
	probe     []float64 // the probe's seconds per token
	probeCost float64   // seconds the running or last probe took
}

func (c *tunerClass) observe(threads int, perToken, seconds float64, maxThreads int) {
	if c.probing != 0 {
		if threads != c.probing {
			return
		}
		c.probe = append(c.probe, perToken)
		c.probeCost += seconds
		if len(c.probe) >= probeCalls || perToken > abortRatio*median(c.last(probeCalls)) {
			c.decide()
		}
		return
	}
	if threads != c.cur {
		return
	}
	c.recent = append(c.recent, perToken)
	if len(c.recent) > 2*probeCalls {
		c.recent = c.recent[1:]
	}
	c.since++
	c.spent += seconds
	if len(c.recent) < probeCalls {
		return
	}
	now := median(c.last(probeCalls))
	drifted := c.baseline > 0 && (now > driftRatio*c.baseline || now < c.baseline/driftRatio)
	due := c.baseline == 0 || (c.since >= c.period && c.spent >= costRatio*c.probeCost)
	if drifted && c.spent >= driftCostRatio*c.probeCost {
		due, c.period = true, minPeriod
	}
	if !due {
		return
	}
	c.probing = maxThreads
	if c.cur == maxThreads {
		c.probing = 1
	}
	c.probe, c.probeCost = c.probe[:0], 0
}

// decide ends a probe. More threads replace one when they were faster by winMargin; one thread replaces
// more unless it was slower by that margin: threads that do not pay are left to other work.
func (c *tunerClass) decide() {
	now := median(c.last(probeCalls))
	got := median(c.probe)
	wins := got < winMargin*now
	if c.probing == 1 {
		wins = winMargin*got < now
	}
	if wins {
		c.cur, c.baseline, c.period = c.probing, got, minPeriod
		c.recent = append(c.recent[:0], c.probe...)
	} else {
		c.baseline, c.period = now, min(2*c.period, maxPeriod)
	}
	c.probing, c.since, c.spent = 0, 0, 0
}

// last is up to n of the newest times with cur.
func (c *tunerClass) last(n int) []float64 {
	return c.recent[max(0, len(c.recent)-n):]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
