package handlers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"
	"github.com/x448/float16"

	"github.com/hearthlink/hearth/handlers"
	"github.com/hearthlink/hearth/registry"
)

// chatML is the Jinja chat template Ollama's template index maps to its "chatml" template.
const chatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// storeEnv is a hearth HTTP server over a fresh store in a temporary folder, with the official client.
type storeEnv struct {
	t      testing.TB
	store  *registry.Store
	srv    *httptest.Server
	client *api.Client
}

func newStoreEnv(t testing.TB) *storeEnv {
	t.Helper()
	store, err := registry.Open(t.TempDir(), registry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handlers.New(handlers.Options{Store: store, MaxRequestBytes: 1 << 20}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &storeEnv{t: t, store: store, srv: srv, client: api.NewClient(u, http.DefaultClient)}
}

// host is the server's host:port, the registry host of names pulled from its /v2/.
func (e *storeEnv) host() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// upload sends data as a blob the way the CLI does before a create, and returns its digest.
func (e *storeEnv) upload(data []byte) string {
	e.t.Helper()
	d := digestOf(data)
	if err := e.client.CreateBlob(context.Background(), d, bytes.NewReader(data)); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// create runs a create and returns the statuses it reported.
func (e *storeEnv) create(req *api.CreateRequest) []string {
	e.t.Helper()
	statuses, err := e.tryCreate(req)
	if err != nil {
		e.t.Fatalf("create %s: %v", req.Model, err)
	}
	return statuses
}

func (e *storeEnv) tryCreate(req *api.CreateRequest) ([]string, error) {
	var mu sync.Mutex
	var statuses []string
	err := e.client.Create(context.Background(), req, func(p api.ProgressResponse) error {
		mu.Lock()
		defer mu.Unlock()
		if len(statuses) == 0 || statuses[len(statuses)-1] != p.Status {
			statuses = append(statuses, p.Status)
		}
		return nil
	})
	return statuses, err
}

// createGGUF uploads a GGUF and creates a model from it.
func (e *storeEnv) createGGUF(name string, gguf []byte) string {
	e.t.Helper()
	d := e.upload(gguf)
	e.create(&api.CreateRequest{Model: name, Files: map[string]string{"model.gguf": d}})
	return d
}

func (e *storeEnv) show(name string) *api.ShowResponse {
	e.t.Helper()
	resp, err := e.client.Show(context.Background(), &api.ShowRequest{Model: name})
	if err != nil {
		e.t.Fatalf("show %s: %v", name, err)
	}
	return resp
}

// post sends a raw JSON request and returns the status and decoded {"error"} (or whole body).
func (e *storeEnv) post(method, path string, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
		return resp.StatusCode, eb.Error
	}
	return resp.StatusCode, string(b)
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// llamaKV is the metadata of a tiny llama-architecture GGUF with a ChatML template.
func llamaKV(extra ggml.KV) ggml.KV {
	kv := ggml.KV{
		"general.architecture":          "llama",
		"general.name":                  "tiny",
		"general.file_type":             uint32(ggml.FileTypeF16),
		"llama.block_count":             uint32(1),
		"llama.context_length":          uint32(256),
		"llama.embedding_length":        uint32(256),
		"llama.attention.head_count":    uint32(4),
		"tokenizer.ggml.model":          "llama",
		"tokenizer.ggml.tokens":         []string{"<unk>", "<s>", "</s>", "a", "b", "c", "d", "e"},
		"tokenizer.ggml.bos_token_id":   uint32(1),
		"tokenizer.chat_template":       chatML,
		"general.quantization_version":  uint32(2),
		"llama.rope.dimension_count":    uint32(64),
		"llama.feed_forward_length":     uint32(512),
		"llama.attention.head_count_kv": uint32(4),
	}
	for k, v := range extra {
		if v == nil {
			delete(kv, k)
			continue
		}
		kv[k] = v
	}
	return kv
}

// tinyGGUF writes a GGUF with Ollama's own writer: F16 weight matrices whose rows are 256 wide (one
// k-quant block), an F32 norm vector, and the given metadata.
func tinyGGUF(t testing.TB, kv ggml.KV) []byte {
	t.Helper()
	f16 := func(rows, cols int) []byte {
		b := make([]byte, 0, rows*cols*2)
		for i := range rows * cols {
			v := float16.Fromfloat32(float32((i*7919)%101-50) / 100)
			b = append(b, byte(v), byte(v>>8))
		}
		return b
	}
	ts := []*ggml.Tensor{
		{Name: "token_embd.weight", Kind: uint32(ggml.TensorTypeF16), Shape: []uint64{256, 8}, WriterTo: bytes.NewReader(f16(8, 256))},
		{Name: "blk.0.attn_norm.weight", Kind: uint32(ggml.TensorTypeF32), Shape: []uint64{256}, WriterTo: bytes.NewReader(make([]byte, 256*4))},
		{Name: "blk.0.attn_v.weight", Kind: uint32(ggml.TensorTypeF16), Shape: []uint64{256, 4}, WriterTo: bytes.NewReader(f16(4, 256))},
		{Name: "blk.0.ffn_up.weight", Kind: uint32(ggml.TensorTypeF16), Shape: []uint64{256, 4}, WriterTo: bytes.NewReader(f16(4, 256))},
		{Name: "output.weight", Kind: uint32(ggml.TensorTypeF16), Shape: []uint64{256, 8}, WriterTo: bytes.NewReader(f16(8, 256))},
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// statusOf returns the HTTP status of a client error, or 0.
func statusOf(err error) int {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}
