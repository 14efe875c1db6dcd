package compat_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// liveRoute is one route of `hearth serve` and a valid request for it, the seed FuzzLiveServer mutates.
// P in path is the fuzzed path parameter; for a route without one the parameter is unused.
type liveRoute struct {
	method, path, param, body string
	// transfer routes talk to a registry, which the fuzzed server cannot reach: a 502 or 504 is the
	// registry's failure, not a 5xx for the request.
	transfer bool
	// writes marks the routes that change the store, after which its consistency is checked.
	writes bool
}

// blobSeed is a small blob whose digest names it, for the blob routes.
const blobSeed = "hearth fuzz blob"

var liveRoutes = []liveRoute{
	{"GET", "/", "", "", false, false},
	{"HEAD", "/", "", "", false, false},
	{"GET", "/api/version", "", "", false, false},
	{"GET", "/api/tags", "", "", false, false},
	{"HEAD", "/api/tags", "", "", false, false},
	{"GET", "/api/ps", "", "", false, false},
	{"GET", "/metrics", "", "", false, false},
	{"GET", "/v1/models", "", "", false, false},
	{"GET", "/v1/models/P", "m", "", false, false},
	{"HEAD", "/api/blobs/P", fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(blobSeed))), "", false, false},
	{"POST", "/api/blobs/P", fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(blobSeed))), blobSeed, false, true},
	{"POST", "/api/generate", "", `{"model":"m","prompt":"hi","stream":false,"options":{"temperature":0.5,"num_predict":4},"format":"json","keep_alive":"5m"}`, false, false},
	{"POST", "/api/generate", "", `{"model":"m","prompt":"hi","options":{"num_predict":6,"stop":["x"]}}`, false, false},
	{"POST", "/api/chat", "", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}],"options":{"num_predict":4}}`, false, false},
	{"POST", "/api/embed", "", `{"model":"e","input":["a","b"],"truncate":true,"dimensions":2}`, false, false},
	{"POST", "/api/embeddings", "", `{"model":"e","prompt":"a"}`, false, false},
	{"POST", "/api/classify", "", `{"model":"e","input":["a"]}`, false, false},
	{"POST", "/api/rerank", "", `{"model":"r","query":"q","documents":["a","b"],"top_n":1}`, false, false},
	{"POST", "/api/show", "", `{"model":"m","verbose":true}`, false, false},
	{"POST", "/api/create", "", `{"model":"c","from":"m","system":"be brief","parameters":{"stop":["x"],"temperature":0.1},"stream":false}`, true, true},
	{"POST", "/api/pull", "", `{"model":"127.0.0.1:1/x/y:z","insecure":true,"stream":false}`, true, true},
	{"POST", "/api/push", "", `{"model":"m","insecure":true,"stream":false}`, true, false},
	{"POST", "/api/copy", "", `{"source":"m","destination":"m2"}`, false, true},
	{"DELETE", "/api/delete", "", `{"model":"m2"}`, false, true},
	{"POST", "/v1/chat/completions", "", `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":4}`, false, false},
	{"POST", "/v1/completions", "", `{"model":"m","prompt":"hi","max_tokens":4,"stop":["x"],"seed":1}`, false, false},
	{"POST", "/v1/embeddings", "", `{"model":"e","input":"a","encoding_format":"base64"}`, false, false},
	{"POST", "/v1/responses", "", `{"model":"m","input":[{"role":"user","content":"hi"}],"max_output_tokens":4,"stream":false}`, false, false},
	{"POST", "/v1/messages", "", `{"model":"m","max_tokens":4,"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true}`, false, false},
	{"POST", "/v1/rerank", "", `{"model":"r","query":"q","documents":["a"]}`, false, false},
}

// liveTimeout bounds one fuzzed request: a mutated num_predict or num_ctx can ask for minutes of work,
// and a client that gives up is as much a test of the server as one that waits.
const liveTimeout = 15 * time.Second

// FuzzLiveServer sends mutated requests for every route to a real `hearth serve` (tiny-llama as "m",
// bert-embed as "e", bert-rerank as "r"; registries unreachable behind a refusing proxy) and asserts that
// no request gets a 5xx but a transfer's 502/504, that the server stays up (answers every request or
// its timeout, then /api/version), and that after every request that may write the store, every
// manifest is whole and every blob it references exists and hashes to its name (checkStore). Plain `go
// test` sends the seeds; FUZZING.md has the longer run.
func FuzzLiveServer(f *testing.F) {
	// Two seeds a route keep the plain test short (each valid inference request is a real one); the
	// fuzzer derives the broken bodies, wrong types and odd names itself.
	for i, r := range liveRoutes {
		f.Add(uint8(i), r.param, r.body)
		f.Add(uint8(i), r.param+"x", strings.Replace(r.body, `"m"`, `"no/such:model"`, 1)+"}")
	}
	ctx := context.Background()
	files := map[string]string{}
	for name, recipe := range map[string]string{"m": "tiny-llama", "e": "bert-embed", "r": "bert-rerank"} {
		path, err := models.Ensure(ctx, "", recipe)
		if err != nil {
			f.Fatal(err)
		}
		files[name] = path
	}
	dir := filepath.Join(f.TempDir(), "models")
	// Room for m, e, r and a model created from m, so no seed waits for another's reload.
	p := startHearth(f, "OLLAMA_MODELS="+dir, "OLLAMA_MAX_LOADED_MODELS=4", "HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1",
		"https_proxy=http://127.0.0.1:1", "http_proxy=http://127.0.0.1:1", "NO_PROXY=", "no_proxy=")
	createAll(f, p.URL, files)
	client := &http.Client{Timeout: liveTimeout}

	f.Fuzz(func(t *testing.T, route uint8, param, body string) {
		r := liveRoutes[int(route)%len(liveRoutes)]
		if r.writes && !r.transfer && touchesModel(r, param, body) {
			return // keep m, e and r for the inputs after this one
		}
		target := p.URL + strings.Replace(r.path, "P", url.PathEscape(param), 1)
		req, err := http.NewRequest(r.method, target, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		var answer []byte
		if err == nil {
			answer, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		var timeout net.Error
		switch {
		case err != nil && errors.As(err, &timeout) && timeout.Timeout():
			// gave up on a long request: the server must still answer below
		case err != nil:
			t.Fatalf("%s %s %q: %v (the server closed the connection?)\n%s", r.method, target, body, err, p.Log())
		case resp.StatusCode >= 500 && !(r.transfer && (resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout)):
			t.Fatalf("%s %s %q answered %d: %s", r.method, target, body, resp.StatusCode, answer)
		}
		if v, err := client.Get(p.URL + "/api/version"); err != nil {
			t.Fatalf("the server stopped answering after %s %s %q: %v\n%s", r.method, target, body, err, p.Log())
		} else {
			v.Body.Close()
		}
		if r.writes {
			checkStore(t, p.URL, dir, false)
		}
	})
}

// touchesModel reports whether a store-writing request names one of the models every input expects, as
// its destination or the model it deletes or replaces.
func touchesModel(r liveRoute, param, body string) bool {
	if r.path == "/api/blobs/P" {
		return false // blobs are content-addressed: a write never replaces another's bytes
	}
	for _, name := range []string{"m", "e", "r"} {
		n, err := registry.ParseName(name)
		if err != nil {
			continue
		}
		short := strings.ToLower(n.DisplayShortest())
		for _, s := range strings.FieldsFunc(body, func(c rune) bool { return c == '"' }) {
			if m, err := registry.ParseName(s); err == nil && strings.ToLower(m.DisplayShortest()) == short {
				return true
			}
		}
	}
	return false
}
