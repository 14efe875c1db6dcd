package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// metric is one measured quantity, with every target's values (one per repetition, or one per request
// where the metric is a percentile over a run).
type metric struct {
	// ID is the key in the JSON output, e.g. "decode_tps" or "agg_tps_c4".
	ID string `json:"id"`
	// Group is the table section: "Generation", "Concurrency", "Embeddings", "Server", "Memory".
	Group string `json:"group"`
	// Label says what was measured, in words.
	Label string `json:"label"`
	// Unit is the unit of the values: "tok/s", "ms", "MB", "x".
	Unit string `json:"unit"`
	// HigherIsBetter says which way a ratio favours hearth.
	HigherIsBetter bool `json:"higher_is_better"`
	// Subject is the hearth server the ratio columns divide: "hearth", or "hearth-go" for the Go-engine rows.
	Subject string `json:"subject"`
	// Expected is how many values each server should have: the repetitions asked for, or 1 for a metric
	// measured once per run. A cell built from fewer says so.
	Expected int `json:"expected"`
	// Values holds each target's measurements.
	Values map[string][]float64 `json:"values"`
	// Errors holds, per target, the first error that kept a measurement from being taken.
	Errors map[string]string `json:"errors,omitempty"`
}

// results collects metrics in the order they were first defined; safe for concurrent use.
type results struct {
	mu      sync.Mutex
	order   []string
	metrics map[string]*metric
}

func newResults() *results { return &results{metrics: map[string]*metric{}} }

// define registers a metric once; later calls with the same id are ignored.
func (r *results) define(m metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.metrics[m.ID]; ok {
		return
	}
	if m.Subject == "" {
		m.Subject = "hearth"
	}
	m.Values, m.Errors = map[string][]float64{}, map[string]string{}
	r.order = append(r.order, m.ID)
	r.metrics[m.ID] = &m
}

// add records one value of metric id for target. Every quantity measured here (a rate, a time, a size, a
// ratio of sizes) is positive and finite: any other value means the measurement failed, and is recorded
// as that failure, never as a value.
func (r *results) add(id, target string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		err := fmt.Errorf("measured %v: not a valid measurement", v)
		r.fail(id, target, err)
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.metrics[id]
	if !ok {
		panic("hearth-bench: undefined metric " + id)
	}
	m.Values[target] = append(m.Values[target], v)
	return nil
}

// fail records why target has no value for metric id, once per distinct error: a repetition that failed
// leaves the cell one value short, and the error is shown beside it.
func (r *results) fail(id, target string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.metrics[id]; ok {
		if prev := m.Errors[target]; prev == "" {
			m.Errors[target] = err.Error()
		} else if !strings.Contains(prev, err.Error()) {
			m.Errors[target] = prev + "; " + err.Error()
		}
	}
}

// list returns the metrics in definition order.
func (r *results) list() []*metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*metric, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.metrics[id])
	}
	return out
}

// get returns metric id, or nil.
func (r *results) get(id string) *metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.metrics[id]
}

// summary is the median and range of a list of values.
type summary struct {
	Median, Min, Max float64
	N                int
}

// summarize returns the median, minimum and maximum of vs (N 0 when empty).
func summarize(vs []float64) summary {
	if len(vs) == 0 {
		return summary{}
	}
	s := slices.Clone(vs)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{Median: med, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// percentile returns the p-th percentile (0–100) of vs by the nearest-rank method.
func percentile(vs []float64, p float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	sort.Float64s(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(rank, len(s)-1))]
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perSecond converts a count over a duration to a rate; an error when either is not positive (a server
// that reported no tokens, a clock that did not move), never a 0.
func perSecond(n int, d time.Duration) (float64, error) {
	if n <= 0 || d <= 0 {
		return 0, fmt.Errorf("no rate from %d tokens in %v", n, d)
	}
	return float64(n) / d.Seconds(), nil
}

// formatValue prints v with precision suited to its size.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
