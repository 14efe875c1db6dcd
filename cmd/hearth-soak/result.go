package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// sample is the server's footprint at one moment of the soak.
type sample struct {
	At         time.Duration
	RSS        int64   // bytes, the whole process tree; -1 when unread
	Goroutines float64 // go_goroutines from /metrics; -1 when unread
	GoHeap     float64 // go_memstats_heap_inuse_bytes from /metrics, shown, not judged; -1 when unread
}

// sampleUntil samples srv every interval until ctx ends or done closes, starting at once.
func sampleUntil(ctx context.Context, srv *server, interval time.Duration, done <-chan struct{}) []sample {
	start := time.Now()
	var out []sample
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		g, heap := srv.runtimeGauges()
		out = append(out, sample{At: time.Since(start), RSS: srv.rss(), Goroutines: g, GoHeap: heap})
		select {
		case <-ctx.Done():
			return out
		case <-done:
			return out
		case <-tick.C:
		}
	}
}

// result is one soak's figures.
type result struct {
	cfg     config
	routes  []*routeStats
	samples []sample
	// growth holds the growth rule's figures, filled by verdict.
	growth []growth
}

// growth compares a series' median over the middle third of the samples with its median over the last
// third. The first third is the warm-up (allocator arenas, caches and pools filling) and is not judged.
// A leak shows as a last third above the middle one by more than the margin; noise and a plateau do not.
type growth struct {
	Name           string
	Middle, Last   float64
	Limit          float64
	Unit           string
	Growing        bool
	First, Highest float64
}

func judge(name, unit string, series []float64, margin, slack float64) growth {
	n := len(series)
	g := growth{Name: name, Unit: unit, First: series[0], Highest: slices.Max(series)}
	g.Middle = median(series[n/3 : 2*n/3])
	g.Last = median(series[2*n/3:])
	g.Limit = g.Middle*(1+margin) + slack
	g.Growing = g.Last > g.Limit
	return g
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// verdict fails the soak on any unexpected request failure or on growth.
func (r *result) verdict() error { return errors.Join(r.requestFailures(), r.growthFailures()) }

// requestFailures lists the routes with failed requests: a non-2xx status, a transport error or an error
// line in a stream. None of the mix's requests is a client mistake, so none of these is expected; only the
// deliberate mid-stream disconnects are not failures.
func (r *result) requestFailures() error {
	var errs []error
	total := 0
	for _, st := range r.routes {
		total += sum(st.ByStatus) + st.Transport + st.HungUp
		bad := st.Transport + st.StreamErrs
		for code, n := range st.ByStatus {
			if code < 200 || code >= 300 {
				bad += n
			}
		}
		if bad > 0 {
			errs = append(errs, fmt.Errorf("%s: %d failed, first: %s", st.Label, bad, st.FirstError))
		}
	}
	if total == 0 {
		errs = append(errs, errors.New("no request was answered"))
	}
	return errors.Join(errs...)
}

// growthFailures applies the growth rule to resident memory and goroutines, filling r.growth.
func (r *result) growthFailures() error {
	if len(r.samples) < 6 {
		return fmt.Errorf("%d samples: too few to judge growth", len(r.samples))
	}
	rss := make([]float64, len(r.samples))
	gor := make([]float64, len(r.samples))
	for i, s := range r.samples {
		if s.Goroutines < 0 {
			return fmt.Errorf("go_goroutines unreadable from /metrics at %v", s.At.Round(time.Second))
		}
		if s.RSS < 0 {
			return fmt.Errorf("resident memory unreadable from /proc at %v", s.At.Round(time.Second))
		}
		rss[i] = float64(s.RSS) / (1 << 20)
		gor[i] = s.Goroutines
	}
	r.growth = []growth{
		judge("resident memory", "MiB", rss, r.cfg.RSSMargin, r.cfg.RSSSlackMiB),
		judge("goroutines", "", gor, r.cfg.GoroutineMargin, r.cfg.GoroutineSlack),
	}
	var errs []error
	for _, g := range r.growth {
		if g.Growing {
			errs = append(errs, fmt.Errorf("%s keeps growing: last third's median %.0f%s > limit %.0f%s (middle third's %.0f)", g.Name, g.Last, g.Unit, g.Limit, g.Unit, g.Middle))
		}
	}
	return errors.Join(errs...)
}

func sum(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// print writes the requests table, the samples over time and the growth rule's figures.
func (r *result) print(w io.Writer) {
	if len(r.growth) == 0 {
		_ = r.growthFailures() // fills growth when the caller has not judged yet
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\trequests\tby status\ttransport errors\tstream errors\tdisconnects (deliberate)\tp50 ms\tp99 ms\t")
	var total, hung int
	for _, st := range r.routes {
		n := sum(st.ByStatus) + st.Transport + st.HungUp
		total += n
		hung += st.HungUp
		var codes []string
		for _, c := range slices.Sorted(maps.Keys(st.ByStatus)) {
			codes = append(codes, fmt.Sprintf("%d:%d", c, st.ByStatus[c]))
		}
		p50, p99 := pct(st.Latencies, 50), pct(st.Latencies, 99)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\t\n", st.Label, n, strings.Join(codes, " "), st.Transport, st.StreamErrs, st.HungUp, p50, p99)
	}
	fmt.Fprintf(tw, "all\t%d\t\t\t\t%d\t\t\t\n", total, hung)
	tw.Flush()
	if len(r.samples) > 0 {
		secs := r.samples[len(r.samples)-1].At.Seconds()
		fmt.Fprintf(w, "\n%d requests in %.0fs (%.1f/s), %d clients\n", total, secs, float64(total)/max(secs, 1), r.cfg.Concurrency)
	}
	fmt.Fprintln(w, "\nover time (every sample; first third is warm-up, middle vs last third judged):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "t\tRSS MiB\tgoroutines\tGo heap MiB\t")
	for _, s := range r.samples {
		fmt.Fprintf(tw, "%.0fs\t%.1f\t%.0f\t%.1f\t\n", s.At.Seconds(), float64(s.RSS)/(1<<20), s.Goroutines, s.GoHeap/(1<<20))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, g := range r.growth {
		state := "steady"
		if g.Growing {
			state = "GROWING"
		}
		fmt.Fprintf(w, "%s: first %.1f, highest %.1f, middle-third median %.1f, last-third median %.1f, limit %.1f %s: %s\n",
			g.Name, g.First, g.Highest, g.Middle, g.Last, g.Limit, g.Unit, state)
	}
}

// pct is the p-th percentile of ds in milliseconds, or "-" when empty.
func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)*p/100, len(s)-1)
	return fmt.Sprintf("%.0f", float64(s[i].Microseconds())/1000)
}
