package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// step is one kind of request in the mix: a route label and what to send. Each client walks the mix in
// turn from its own offset, so every kind runs concurrently with every other.
type step struct {
	label string
	do    func(ctx context.Context, t *traffic, client, n int) outcome
}

// outcome is how one request ended.
type outcome struct {
	status int // HTTP status; 0 for a transport error
	// streamErr is an error line inside a 200 stream (how Ollama's streams report a failure mid-way).
	streamErr string
	// hungUp marks a deliberate disconnect mid-stream: expected, not a failure.
	hungUp bool
	err    error
}

// routeStats counts one route label's outcomes.
type routeStats struct {
	Label      string
	ByStatus   map[int]int
	Transport  int
	StreamErrs int
	HungUp     int
	Latencies  []time.Duration
	FirstError string
}

// traffic drives the mix against one server and keeps the counts.
type traffic struct {
	url    string
	steps  []step // the mix, or the part of it -only kept
	client *http.Client
	mu     sync.Mutex
	stats  map[string]*routeStats
	issued atomic.Int64
}

func newTraffic(url, only string) (*traffic, error) {
	steps := mix
	if only != "" {
		steps = nil
		for _, label := range strings.Split(only, ",") {
			n := len(steps)
			for _, s := range mix {
				if s.label == strings.TrimSpace(label) {
					steps = append(steps, s)
				}
			}
			if len(steps) == n {
				return nil, fmt.Errorf("-only: no route labelled %q in the mix", label)
			}
		}
	}
	return &traffic{url: url, steps: steps, stats: map[string]*routeStats{},
		// A request that hangs is a failure, not a reason for the soak to outlive its duration by much.
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}, nil
}

const llm = "hearth/tiny-llama"

var chatMessages = []map[string]string{{"role": "user", "content": "Say something about hearths."}}

// mix is the traffic, weighted by repetition: inference most, the store's write routes least.
var mix = []step{
	{"generate", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/generate", map[string]any{"model": llm, "prompt": prompt(c, n), "stream": false, "options": map[string]any{"num_predict": 16}})
	}},
	{"generate stream", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.stream(ctx, "/api/generate", map[string]any{"model": llm, "prompt": prompt(c, n), "options": map[string]any{"num_predict": 24}}, false)
	}},
	{"embed", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/embed", map[string]any{"model": "hearth/bert-embed", "input": []string{prompt(c, n), "a second input"}})
	}},
	{"chat", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/chat", map[string]any{"model": llm, "messages": chatMessages, "stream": false, "options": map[string]any{"num_predict": 16}})
	}},
	{"embed onnx", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/embed", map[string]any{"model": "hearth/minilm-onnx", "input": prompt(c, n)})
	}},
	{"chat stream", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.stream(ctx, "/api/chat", map[string]any{"model": llm, "messages": chatMessages, "options": map[string]any{"num_predict": 24}}, false)
	}},
	{"classify", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/classify", map[string]any{"model": "hearth/tinybert-cls-onnx", "input": []string{prompt(c, n), "great stuff"}})
	}},
	{"tags", func(ctx context.Context, t *traffic, c, n int) outcome { return t.get(ctx, "/api/tags") }},
	{"disconnect mid-stream", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.stream(ctx, "/api/generate", map[string]any{"model": llm, "prompt": prompt(c, n), "options": map[string]any{"num_predict": 256}}, true)
	}},
	{"rerank", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/rerank", map[string]any{"model": "hearth/bert-rerank", "query": "warm fire", "documents": []string{"a hearth", "a river", prompt(c, n)}})
	}},
	{"show", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/show", map[string]any{"model": llm})
	}},
	{"rerank onnx", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/rerank", map[string]any{"model": "hearth/tinybert-rerank-onnx", "query": "warm fire", "documents": []string{"a hearth", prompt(c, n)}})
	}},
	{"generate", func(ctx context.Context, t *traffic, c, n int) outcome {
		return t.post(ctx, "/api/generate", map[string]any{"model": llm, "prompt": prompt(c, n), "stream": false, "options": map[string]any{"num_predict": 8}})
	}},
	{"create+copy+delete", createCopyDelete},
}

// createCopyDelete makes a small model from the tiny LLM with a new system prompt, copies it and deletes
// both, under names unique to this client and round so concurrent clients never collide.
func createCopyDelete(ctx context.Context, t *traffic, c, n int) outcome {
	name := fmt.Sprintf("soak/m%d-%d", c, n)
	steps := []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/create", map[string]any{"model": name, "from": llm, "system": "You are soak " + name, "stream": false}},
		{"POST", "/api/copy", map[string]any{"source": name, "destination": name + "-copy"}},
		{"DELETE", "/api/delete", map[string]any{"model": name}},
		{"DELETE", "/api/delete", map[string]any{"model": name + "-copy"}},
	}
	for _, s := range steps {
		if o := t.send(ctx, s.method, s.path, s.body); o.status != http.StatusOK || o.err != nil {
			if o.err == nil {
				o.err = fmt.Errorf("%s %s", s.method, s.path)
			}
			return o
		}
	}
	return outcome{status: http.StatusOK}
}

func prompt(c, n int) string {
	return fmt.Sprintf("Client %d, request %d: tell me about the fire.", c, n)
}

// warm sends each kind once, in order, so model loads happen before the clock and the samples start.
func (t *traffic) warm(ctx context.Context) error {
	for i, s := range t.steps {
		if o := s.do(ctx, t, -1, i); !o.ok() {
			return fmt.Errorf("%s: %s", s.label, o.describe())
		}
	}
	return nil
}

// run starts clients that each walk the mix until ctx ends or maxRequests have been issued in all.
func (t *traffic) run(ctx context.Context, clients, maxRequests int) {
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil && t.issued.Add(1) <= int64(maxRequests); n++ {
				s := t.steps[(c*5+n)%len(t.steps)]
				start := time.Now()
				// The request itself is not cut off at the deadline: one already sent finishes and is counted.
				o := s.do(context.WithoutCancel(ctx), t, c, n)
				t.record(s.label, o, time.Since(start))
			}
		}()
	}
	wg.Wait()
}

func (o outcome) ok() bool {
	return o.hungUp || (o.err == nil && o.streamErr == "" && o.status >= 200 && o.status < 300)
}

func (o outcome) describe() string {
	switch {
	case o.status == 0:
		return fmt.Sprintf("transport error: %v", o.err)
	case o.streamErr != "":
		return "error in stream: " + o.streamErr
	default:
		return fmt.Sprintf("status %d: %v", o.status, o.err)
	}
}

func (t *traffic) record(label string, o outcome, took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.stats[label]
	if st == nil {
		st = &routeStats{Label: label, ByStatus: map[int]int{}}
		t.stats[label] = st
	}
	switch {
	case o.hungUp:
		st.HungUp++
	case o.status == 0:
		st.Transport++
	default:
		st.ByStatus[o.status]++
		if o.streamErr != "" {
			st.StreamErrs++
		}
		st.Latencies = append(st.Latencies, took)
	}
	if !o.ok() && st.FirstError == "" {
		st.FirstError = o.describe()
	}
}

// snapshot returns the counts by route label, sorted by label.
func (t *traffic) snapshot() []*routeStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*routeStats, 0, len(t.stats))
	for _, st := range t.stats {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

func (t *traffic) get(ctx context.Context, path string) outcome { return t.send(ctx, "GET", path, nil) }

func (t *traffic) post(ctx context.Context, path string, body any) outcome {
	return t.send(ctx, "POST", path, body)
}

// send makes one request and reads the whole answer; a non-2xx status carries the body as its error.
func (t *traffic) send(ctx context.Context, method, path string, body any) outcome {
	resp, err := t.do(ctx, method, path, body)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return outcome{err: err}
	}
	o := outcome{status: resp.StatusCode}
	if resp.StatusCode >= 300 {
		o.err = errors.New(strings.TrimSpace(string(b)))
	}
	return o
}

// stream makes a streaming request and reads its NDJSON lines; hangUp closes the connection after the
// first line, as a client that gives up would.
func (t *traffic) stream(ctx context.Context, path string, body any, hangUp bool) outcome {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := t.do(ctx, "POST", path, body)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	o := outcome{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		o.err = errors.New(strings.TrimSpace(string(b)))
		return o
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			o.streamErr = fmt.Sprintf("undecodable line %q", sc.Text())
			return o
		}
		if line.Error != "" {
			o.streamErr = line.Error
			return o
		}
		if hangUp {
			cancel()
			o.hungUp = true
			return o
		}
	}
	if err := sc.Err(); err != nil {
		return outcome{err: fmt.Errorf("reading the stream: %w", err)}
	}
	return o
}

func (t *traffic) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.url+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return t.client.Do(req)
}
