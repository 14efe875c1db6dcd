package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
)

// BenchmarkShowRoute measures POST /api/show end to end over loopback HTTP (the CLI and every UI call it
// before each chat). GGUF metadata comes from the store's cache, so this is manifest and small-layer
// reads plus encoding; the reference Ollama re-reads the GGUF header on every call.
func BenchmarkShowRoute(b *testing.B) {
	e := newStoreEnv(b)
	benchCreate(b, e, "tiny")
	benchRequest(b, e, http.MethodPost, "/api/show", `{"model":"tiny"}`)
}

// BenchmarkTagsRoute measures GET /api/tags over a store of 20 models.
func BenchmarkTagsRoute(b *testing.B) {
	e := newStoreEnv(b)
	for i := range 20 {
		benchCreate(b, e, fmt.Sprintf("m%d", i))
	}
	benchRequest(b, e, http.MethodGet, "/api/tags", "")
}

func benchCreate(b *testing.B, e *storeEnv, name string) {
	b.Helper()
	gguf := tinyGGUF(b, llamaKV(nil))
	d := digestOf(gguf)
	if err := e.client.CreateBlob(context.Background(), d, strings.NewReader(string(gguf))); err != nil {
		b.Fatal(err)
	}
	if err := e.client.Create(context.Background(), &api.CreateRequest{Model: name, Files: map[string]string{"m.gguf": d}, System: name},
		func(api.ProgressResponse) error { return nil }); err != nil {
		b.Fatal(err)
	}
}

func benchRequest(b *testing.B, e *storeEnv, method, path, body string) {
	b.Helper()
	client := &http.Client{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
}
