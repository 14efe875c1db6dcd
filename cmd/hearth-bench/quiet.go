package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearthlink/hearth/internal/proctree"
)

// quietness is how much of the machine others used while the bench ran: the CPU time every process used
// (/proc/stat) less what this process and its children (the servers and their runners) used, and the time
// the hypervisor stole. A comparison measured while something else computes beside it is noise: the
// report says so, in the report itself.
type quietness struct {
	// OtherCores is the CPU others used on average over the run, in cores.
	OtherCores float64 `json:"other_cores"`
	// PeakOtherCores is the most others used over any window of quietWindow, in cores.
	PeakOtherCores float64 `json:"peak_other_cores"`
	// StealPct is the share of the machine's CPU time the hypervisor gave to other guests.
	StealPct float64 `json:"steal_pct"`
	// Seconds is how long it was sampled.
	Seconds float64 `json:"seconds"`
	// Error says why it could not be measured; the run then counts as not quiet.
	Error string `json:"error,omitempty"`
}

// Thresholds of a quiet run: others average under a tenth of a core, never more than half a core over
// quietWindow, and the hypervisor steals under 2% of the time.
const (
	quietMeanCores = 0.10
	quietPeakCores = 0.5
	quietStealPct  = 2.0
	quietWindow    = 10 * time.Second
)

// Quiet reports whether the run had the machine to itself, and if not, why.
func (q quietness) Quiet() (bool, string) {
	switch {
	case q.Error != "":
		return false, "the other processes' CPU use could not be measured (" + q.Error + ")"
	case q.Seconds == 0:
		return false, "the other processes' CPU use was not sampled"
	case q.OtherCores >= quietMeanCores:
		return false, fmt.Sprintf("other processes used %.2f cores on average", q.OtherCores)
	case q.PeakOtherCores >= quietPeakCores:
		return false, fmt.Sprintf("other processes used up to %.2f cores over %v", q.PeakOtherCores, quietWindow)
	case q.StealPct >= quietStealPct:
		return false, fmt.Sprintf("the hypervisor stole %.1f%% of the CPU time", q.StealPct)
	}
	return true, ""
}

// cpuSample is one reading of the machine's and this process tree's CPU counters.
type cpuSample struct {
	at                 time.Time
	total, busy, steal int64 // /proc/stat "cpu" line, clock ticks over all CPUs
	own                int64 // this process and its descendants, clock ticks
}

// readCPU takes one sample.
func readCPU() (cpuSample, error) {
	s := cpuSample{at: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return s, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var v [8]int64 // user nice system idle iowait irq softirq steal (guest time is inside user)
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return s, fmt.Errorf("unexpected /proc/stat line %q: %w", line, err)
		}
	}
	s.busy = v[0] + v[1] + v[2] + v[5] + v[6]
	s.steal = v[7]
	for _, x := range v {
		s.total += x
	}
	s.own, err = proctree.CPUTicks(os.Getpid())
	return s, err
}

// others is the CPU, in cores, that processes outside this tree used between a and b.
func others(a, b cpuSample) float64 {
	dt := b.total - a.total
	if dt <= 0 {
		return 0
	}
	other := max(0, (b.busy-a.busy)-(b.own-a.own))
	return float64(other) / float64(dt) * float64(runtime.NumCPU())
}

// quietMonitor samples the counters every second until stopped.
type quietMonitor struct {
	mu      sync.Mutex
	samples []cpuSample
	err     error
	stop    chan struct{}
	done    chan struct{}
}

// watchQuiet starts sampling.
func watchQuiet() *quietMonitor {
	m := &quietMonitor{stop: make(chan struct{}), done: make(chan struct{})}
	m.sample()
	go func() {
		defer close(m.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-tick.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *quietMonitor) sample() {
	s, err := readCPU()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if m.err == nil {
			m.err = err
		}
		return
	}
	m.samples = append(m.samples, s)
}

// close stops sampling.
func (m *quietMonitor) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
		<-m.done
	}
}

// result summarizes the samples so far (a final sample is taken first).
func (m *quietMonitor) result() quietness {
	m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	var q quietness
	if m.err != nil {
		q.Error = m.err.Error()
	}
	if len(m.samples) < 2 {
		return q
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	q.Seconds = last.at.Sub(first.at).Seconds()
	q.OtherCores = others(first, last)
	if dt := last.total - first.total; dt > 0 {
		q.StealPct = 100 * float64(last.steal-first.steal) / float64(dt)
	}
	// The busiest window: from each sample, the first later one at least quietWindow away.
	j := 0
	for i := range m.samples {
		for j < len(m.samples) && m.samples[j].at.Sub(m.samples[i].at) < quietWindow {
			j++
		}
		if j == len(m.samples) {
			break
		}
		q.PeakOtherCores = max(q.PeakOtherCores, others(m.samples[i], m.samples[j]))
	}
	if q.PeakOtherCores == 0 { // a run shorter than one window
		q.PeakOtherCores = q.OtherCores
	}
	return q
}
