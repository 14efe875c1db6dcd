package registry

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/parser"
)

// The fuzz targets of the store's readers: what a user or a registry hands the store (a GGUF upload, a
// Modelfile's create request, a manifest, a config blob) is decoded without a panic, and what a request
// got wrong is an error the HTTP layer answers with a 4xx. Longer runs, one target at a time:
//
//	go test -run '^$' -fuzz '^FuzzGGUF$' -fuzztime 60s ./registry

// requestFault reports errors a handler answers with a 4xx (see handlers' storeErrorStatus): the fault of
// the request, not of the store.
func requestFault(err error) bool {
	for _, target := range []error{ErrInvalidInput, ErrInvalidName, ErrInvalidDigest, ErrDigestMismatch, ErrNotFound, ErrMissingBlob} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// fuzzStore is a store holding "m", a model made from a tiny GGUF with a chat template, so that created
// and fuzzed models can start from it and reference its blobs.
func fuzzStore(f *testing.F) (*Store, *ManifestFile) {
	f.Helper()
	s := openStore(f, Options{Logger: slog.New(slog.DiscardHandler)})
	err := s.Create(context.Background(), api.CreateRequest{Model: "m", Files: map[string]string{
		"m.gguf": putBlob(f, s, MediaTypeModel, tinyGGUF(f, llamaKV(nil))).Digest,
	}}, CreateOptions{})
	if err != nil {
		f.Fatal(err)
	}
	mf, err := s.ReadManifest("m")
	if err != nil {
		f.Fatal(err)
	}
	return s, mf
}

// forget removes a fuzzed model and blob, so that a long run does not fill the disk.
func forget(s *Store, name, digest string) {
	_ = s.Delete(name)
	if digest != "" {
		if p, err := s.BlobPath(digest); err == nil {
			os.Remove(p)
		}
		s.gguf.forget(digest)
		s.configs.Delete(digest)
	}
}

// FuzzGGUF uploads fuzzed bytes as a GGUF blob and creates a model from it, as POST /api/blobs and
// POST /api/create do: the header is decoded (with and without its arrays, as /api/show and its verbose
// form read it), and the create either succeeds, leaving a model that resolves, or fails as the request's
// fault.
func FuzzGGUF(f *testing.F) {
	good := tinyGGUF(f, llamaKV(nil))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:40])
	f.Add(tinyGGUF(f, llamaKV(ggml.KV{"general.architecture": "bert", "bert.pooling_type": uint32(1), "tokenizer.chat_template": "{{ messages }}"})))
	f.Add(tinyGGUF(f, ggml.KV{"general.architecture": "clip", "clip.has_vision_encoder": true}))
	f.Add(tinyGGUF(f, ggml.KV{"general.type": "adapter", "adapter.type": "lora", "general.architecture": "llama"}))
	f.Add([]byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("GGUF\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00name\x09\x00\x00\x00\x08\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f"))
	f.Add([]byte("FUGG\x00\x00\x00\x03"))
	// Headers ggml.Decode alone cannot survive (see DecodeGGUFHeader): an alignment of 0 (a division by
	// zero), a version 1 string of length 0 (a panic), 2^32-1 tensor dimensions (a 32 GiB allocation), a
	// string of 2^62 bytes.
	f.Add(rawGGUF(3, 0, 1, ggufStr("general.alignment"), le(uint32(ggufUint32)), le(uint32(0))))
	f.Add(rawGGUF(1, 0, 1, le(uint64(0)), le(uint32(ggufUint8)), []byte{1}))
	f.Add(rawGGUF(3, 1, 0, ggufStr("t"), le(uint32(0xffffffff)), make([]byte, 64)))
	f.Add(rawGGUF(3, 0, 1, ggufStr("k"), le(uint32(ggufString)), le(uint64(1<<62))))
	s, _ := fuzzStore(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := s.WriteBlob(ctx, bytes.NewReader(data), "")
		if err != nil {
			t.Fatal(err)
		}
		defer forget(s, "fz", b.Digest)
		if info, err := s.GGUFInfo(b.Digest); err == nil && info.KV == nil {
			t.Fatal("a decoded header without key/values")
		}
		_, _ = s.DecodeGGUF(b.Digest, -1)
		err = s.Create(ctx, api.CreateRequest{Model: "fz", Files: map[string]string{"model.gguf": b.Digest}}, CreateOptions{})
		if err != nil {
			if !requestFault(err) {
				t.Fatalf("create from a fuzzed GGUF failed as the store's fault: %v", err)
			}
			return
		}
		if _, err := s.Resolve("fz"); err != nil {
			t.Fatalf("created, but does not resolve: %v", err)
		}
	})
}

// rawGGUF is a little-endian GGUF header with the given counts, followed by body.
func rawGGUF(version uint32, numTensor, numKV uint64, body ...[]byte) []byte {
	out := append([]byte("GGUF"), le(version)...)
	if version == 1 {
		out = append(append(out, le(uint32(numTensor))...), le(uint32(numKV))...)
	} else {
		out = append(append(out, le(numTensor)...), le(numKV)...)
	}
	return append(out, bytes.Join(body, nil)...)
}

// le is v little-endian.
func le[T uint32 | uint64](v T) []byte {
	out, _ := binary.Append(nil, binary.LittleEndian, v)
	return out
}

// ggufStr is a GGUF (version 2+) string.
func ggufStr(s string) []byte { return append(le(uint64(len(s))), s...) }

// FuzzModelfile parses a fuzzed Modelfile with Ollama's parser and sends the create request it makes (as
// `ollama create -f` does) to the store, FROM the stored "m": it succeeds, leaving a model that resolves,
// or fails as the request's fault. FROM and ADAPTER lines are replaced, so no file outside the test is read.
func FuzzModelfile(f *testing.F) {
	for _, seed := range []string{
		"FROM m\nPARAMETER temperature 0.7\nPARAMETER stop <|im_end|>\nPARAMETER stop \"\"\"x\"\"\"\nSYSTEM \"\"\"You are terse.\"\"\"\n",
		"FROM m\nTEMPLATE \"\"\"{{ if .System }}<|system|>{{ .System }}{{ end }}{{ range .Messages }}{{ .Role }}: {{ .Content }}{{ end }}\"\"\"\n",
		"FROM m\nMESSAGE user hello\nMESSAGE assistant hi\nLICENSE \"\"\"MIT\nline two\"\"\"\n",
		"FROM m\nTEMPLATE {{ .Prompt \nPARAMETER num_ctx 4096\nPARAMETER num_predict -1\n",
		"FROM m\nRENDERER qwen3-coder\nPARSER qwen3-coder\nREQUIRES 0.14.0\n",
		"FROM m\nPARAMETER seed 42\nPARAMETER mirostat 2\nPARAMETER penalize_newline true\n# comment\n",
		"FROM m\nMESSAGE system be nice\nMESSAGE tool {\"a\":1}\nTEMPLATE \"{{ range 3 }}x{{ end }}\"\n",
	} {
		f.Add(seed)
	}
	s, _ := fuzzStore(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, text string) {
		mf, err := parser.ParseFile(strings.NewReader(text))
		if err != nil {
			return // the client refuses it; nothing reaches the server
		}
		cmds := []parser.Command{{Name: "model", Args: "m"}}
		for _, c := range mf.Commands {
			if c.Name != "model" && c.Name != "adapter" {
				cmds = append(cmds, c)
			}
		}
		mf.Commands = cmds
		req, err := mf.CreateRequest(t.TempDir())
		if err != nil {
			return
		}
		req.Model = "fz"
		defer forget(s, "fz", "")
		if err := s.Create(ctx, *req, CreateOptions{}); err != nil {
			if !requestFault(err) {
				t.Fatalf("create of %+v failed as the store's fault: %v", req, err)
			}
			return
		}
		if _, err := s.Resolve("fz"); err != nil {
			t.Fatalf("created from %q, but does not resolve: %v", text, err)
		}
	})
}

// FuzzManifest puts fuzzed bytes where the manifest of "fz" lives, next to the blobs of "m", and reads
// them the ways hearth does: as a registry's answer (decodeManifest), by name (ReadManifest, Resolve) and
// in /api/tags' listing, which a corrupt manifest must not break.
func FuzzManifest(f *testing.F) {
	s, m := fuzzStore(f)
	good, err := json.Marshal(m.Manifest)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":1`), 1))
	f.Add(bytes.Replace(good, []byte(MediaTypeModel), []byte(MediaTypeONNXModel), 1))
	f.Add(bytes.Replace(good, []byte(`"size":`), []byte(`"size":-`), 1))
	f.Add([]byte(`{"schemaVersion":2,"config":{},"layers":[null,{"digest":"sha256:x"}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"` + MediaTypeONNXFile + `","digest":"` + m.Manifest.Layers[0].Digest + `","name":"../x"}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	n, err := ParseName("fz")
	if err != nil {
		f.Fatal(err)
	}
	path := s.manifestPath(s.canonical(n))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := decodeManifest(data); err == nil {
			if m.validate() != nil {
				t.Fatal("decodeManifest accepted a manifest validate refuses")
			}
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		_, _ = s.ReadManifest("fz")
		_, _ = s.Resolve("fz")
		if _, err := s.List(); err != nil {
			t.Fatalf("one fuzzed manifest breaks the listing: %v", err)
		}
	})
}

// FuzzConfig stores fuzzed bytes as the config blob of a model whose weights are "m"'s: resolving it and
// listing it do not panic, and a config that decodes is read back the same from its cache.
func FuzzConfig(f *testing.F) {
	s, m := fuzzStore(f)
	var cfg bytes.Buffer
	if p, err := s.BlobPath(m.Manifest.Config.Digest); err == nil {
		data, _ := os.ReadFile(p)
		cfg.Write(data)
	}
	f.Add(cfg.Bytes())
	f.Add([]byte(`{"model_format":"onnx","capabilities":["embedding",7],"rootfs":{"type":"layers","diff_ids":[null]}}`))
	f.Add([]byte(`{"model_format":"gguf","remote_host":"http://127.0.0.1:1","remote_model":"x","context_length":-1,"embedding_length":1e400}`))
	f.Add([]byte(`{"renderer":"qwen3-coder","parser":"harmony","requires":"9.9.9","model_families":null}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`"`))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := s.WriteBlob(ctx, bytes.NewReader(data), "")
		if err != nil {
			t.Fatal(err)
		}
		defer forget(s, "fz", "")
		if b.Digest != m.Manifest.Config.Digest {
			defer forget(s, "", b.Digest)
		}
		if _, err := s.WriteManifest("fz", NewManifest(b.Layer(MediaTypeConfig), m.Manifest.Layers)); err != nil {
			t.Fatal(err)
		}
		_, _ = s.Resolve("fz")
		if _, err := s.List(); err != nil {
			t.Fatalf("one fuzzed config breaks the listing: %v", err)
		}
	})
}
