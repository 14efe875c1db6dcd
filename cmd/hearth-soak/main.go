// Command hearth-soak runs a bounded soak of hearth: it starts `hearth serve` on a free loopback port with
// its own temporary model store and the generated default models, drives minutes of mixed concurrent
// traffic at it (generate and chat, streaming and not, embed, classify, rerank, show, tags,
// create/copy/delete, and clients that hang up mid-stream), samples the server's resident memory and
// goroutines over time, prints a table and exits non-zero when a request failed unexpectedly or memory or
// goroutines kept growing. It talks only to the server it started, and stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is what the flags set.
type config struct {
	Hearth      string
	Duration    time.Duration
	Concurrency int
	MaxRequests int
	// Only, when set, keeps just these route labels of the mix (comma-separated), to narrow down which
	// traffic a growth comes from.
	Only   string
	Sample time.Duration
	// RSSMargin and GoroutineMargin are the growth allowed from the middle third's median to the last
	// third's, as a fraction, on top of RSSSlackMiB and GoroutineSlack (absolute noise floors).
	RSSMargin       float64
	RSSSlackMiB     float64
	GoroutineMargin float64
	GoroutineSlack  float64
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("hearth-soak", flag.ContinueOnError)
	fs.StringVar(&c.Hearth, "hearth", "bin/hearth", "the hearth binary to soak")
	fs.DurationVar(&c.Duration, "duration", 3*time.Minute, "how long the traffic runs, after the models are warmed")
	fs.IntVar(&c.Concurrency, "concurrency", 6, "concurrent clients")
	fs.StringVar(&c.Only, "only", "", "comma-separated route labels to keep from the mix (default: all), e.g. \"embed,classify\"")
	fs.IntVar(&c.MaxRequests, "max-requests", 200000, "stop early after this many requests")
	fs.DurationVar(&c.Sample, "sample", 0, "sampling interval for memory and goroutines (default: duration/60, 1s to 5s)")
	fs.Float64Var(&c.RSSMargin, "rss-margin", 0.10, "allowed resident-memory growth, middle third to last third (fraction)")
	fs.Float64Var(&c.RSSSlackMiB, "rss-slack-mib", 16, "allowed resident-memory growth on top of rss-margin (MiB)")
	fs.Float64Var(&c.GoroutineMargin, "goroutine-margin", 0.25, "allowed goroutine growth, middle third to last third (fraction)")
	fs.Float64Var(&c.GoroutineSlack, "goroutine-slack", 20, "allowed goroutine growth on top of goroutine-margin (count)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.Sample <= 0 {
		c.Sample = min(max(c.Duration/60, time.Second), 5*time.Second)
	}
	if c.Duration < 6*c.Sample {
		return c, fmt.Errorf("-duration %v leaves fewer than 6 samples at -sample %v", c.Duration, c.Sample)
	}
	if c.Concurrency < 1 {
		return c, fmt.Errorf("-concurrency must be at least 1")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := soak(ctx, cfg, os.Stderr)
	if res != nil {
		res.print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hearth-soak:", err)
		os.Exit(1)
	}
}

// soak runs one soak and returns its result; the error is non-nil when the soak could not run or failed
// its verdict (the result then says why).
func soak(ctx context.Context, cfg config, progress io.Writer) (*result, error) {
	srv, err := startServer(ctx, cfg.Hearth)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	fmt.Fprintf(progress, "hearth-soak: %s serving on %s (pid %d); warming the default models\n", cfg.Hearth, srv.url, srv.pid())
	t, err := newTraffic(srv.url, cfg.Only)
	if err != nil {
		return nil, err
	}
	if err := t.warm(ctx); err != nil {
		return nil, fmt.Errorf("warming the models: %w (server log: %s)", err, srv.logTail())
	}
	fmt.Fprintf(progress, "hearth-soak: %d clients for %v, sampling every %v\n", cfg.Concurrency, cfg.Duration, cfg.Sample)
	res := &result{cfg: cfg}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	done := make(chan struct{})
	go func() {
		t.run(runCtx, cfg.Concurrency, cfg.MaxRequests)
		close(done)
	}()
	res.samples = sampleUntil(runCtx, srv, cfg.Sample, done)
	<-done
	res.routes = t.snapshot()
	if !srv.alive() {
		return res, fmt.Errorf("the server exited during the soak (log: %s)", srv.logTail())
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, res.verdict()
}
