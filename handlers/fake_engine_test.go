package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/handlers"
	"github.com/hearthlink/hearth/registry"
	"github.com/hearthlink/hearth/registry/storetest"
)

// fakeEngine answers every inference route from canned chunks or a canned error, so the HTTP layer's own
// rules (streaming shape, error status mapping) are tested without loading any model.
type fakeEngine struct {
	chunks []string
	err    error
}

func (f *fakeEngine) Generate(ctx context.Context, m *registry.Model, req *api.GenerateRequest, fn func(api.GenerateResponse) error) error {
	if f.err != nil {
		return f.err
	}
	for i, c := range f.chunks {
		r := api.GenerateResponse{Model: req.Model, Response: c, Done: i == len(f.chunks)-1}
		if r.Done {
			r.DoneReason = "stop"
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeEngine) Chat(ctx context.Context, m *registry.Model, req *api.ChatRequest, fn func(api.ChatResponse) error) error {
	return f.err
}

func (f *fakeEngine) Embed(ctx context.Context, m *registry.Model, req *api.EmbedRequest) (*api.EmbedResponse, error) {
	return nil, f.err
}

func (f *fakeEngine) Embeddings(ctx context.Context, m *registry.Model, req *api.EmbeddingRequest) (*api.EmbeddingResponse, error) {
	return nil, f.err
}

func (f *fakeEngine) Classify(ctx context.Context, m *registry.Model, req *hapi.ClassifyRequest) (*hapi.ClassifyResponse, error) {
	return nil, f.err
}

func (f *fakeEngine) Rerank(ctx context.Context, m *registry.Model, req *hapi.RerankRequest) (*hapi.RerankResponse, error) {
	return nil, f.err
}

// fakeServer serves a store holding one model, "m", over fake.
func fakeServer(t *testing.T, fake *fakeEngine) *httptest.Server {
	store, _ := storetest.GGUFModel(t, nil, "")
	srv := httptest.NewServer(handlers.New(handlers.Options{
		Store: store, Engine: fake,
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStreamingWithFakeEngine(t *testing.T) {
	srv := fakeServer(t, &fakeEngine{chunks: []string{"Hel", "lo", "!"}})
	resp, err := http.Post(srv.URL+"/api/generate", "application/json", strings.NewReader(`{"model":"m","prompt":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/x-ndjson" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	var texts []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var r api.GenerateResponse
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		texts = append(texts, r.Response)
	}
	if strings.Join(texts, "|") != "Hel|lo|!" {
		t.Errorf("chunks %q, want one line per chunk", texts)
	}

	resp, err = http.Post(srv.URL+"/api/generate", "application/json", strings.NewReader(`{"model":"m","prompt":"hi","stream":false}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var one api.GenerateResponse
	if err := json.NewDecoder(resp.Body).Decode(&one); err != nil || one.Response != "Hello!" || !one.Done || one.DoneReason != "stop" {
		t.Errorf("stream false: %+v, %v; want the chunks reduced to one reply", one, err)
	}
}

// TestEngineErrorsWithFakeEngine checks that each kind of engine error reaches the client with its status
// and message in Ollama's error shape, on every route.
func TestEngineErrorsWithFakeEngine(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
	}{
		{&engine.RequestError{Msg: "bad option"}, http.StatusBadRequest},
		{&engine.CapabilityError{Model: "m", Capability: engine.CapabilityEmbedding}, http.StatusBadRequest},
		{engine.ErrServerBusy, http.StatusServiceUnavailable},
		{&engine.LoadError{Model: "m", Err: io.ErrUnexpectedEOF}, http.StatusInternalServerError},
	} {
		srv := fakeServer(t, &fakeEngine{err: tc.err})
		for _, route := range []string{"/api/generate", "/api/chat", "/api/embed", "/api/embeddings", "/api/classify", "/api/rerank"} {
			body := `{"model":"m","prompt":"hi","messages":[{"role":"user","content":"hi"}],"input":"hi","query":"q","documents":["d"],"stream":false}`
			resp, err := http.Post(srv.URL+route, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				Error string `json:"error"`
			}
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != tc.status || out.Error != tc.err.Error() {
				t.Errorf("%s with %T: %d %q, want %d %q", route, tc.err, resp.StatusCode, out.Error, tc.status, tc.err.Error())
			}
		}
	}
}
