package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// addModel stores a manifest over freshly written blobs with the given contents and returns it.
func addModel(t *testing.T, s *Store, name string, contents ...string) Manifest {
	t.Helper()
	cfg := putBlob(t, s, MediaTypeConfig, []byte(`{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"1B","file_type":"Q4_0","architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	var layers []Layer
	for _, c := range contents {
		layers = append(layers, putBlob(t, s, MediaTypeSystem, []byte(c)))
	}
	m := NewManifest(cfg, layers)
	if _, err := s.WriteManifest(name, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManifestRoundTrip(t *testing.T) {
	s := openStore(t, Options{})
	m := addModel(t, s, "tiny:1b", "one", "two")

	mf, err := s.ReadManifest("tiny:1b")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mf.Manifest.Layers, m.Layers) || mf.Manifest.Config != m.Config ||
		mf.Manifest.SchemaVersion != 2 || mf.Manifest.MediaType != MediaTypeManifest {
		t.Fatalf("read back %+v, wrote %+v", mf.Manifest, m)
	}
	path := filepath.Join(s.Root(), "manifests", "registry.ollama.ai", "library", "tiny", "1b")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("manifest not at Ollama's path: %v", err)
	}
	sum := sha256.Sum256(data)
	if mf.Digest != hex.EncodeToString(sum[:]) {
		t.Errorf("Digest %s is not the hex sha256 of the file", mf.Digest)
	}
	if !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("manifest should end with a newline like Ollama's encoder output: %q", data)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), "manifests")); len(entries) != 1 {
		t.Errorf("manifests/ holds %d entries, want just the host folder (no temporary files)", len(entries))
	}
}

func TestListCopyDelete(t *testing.T) {
	s := openStore(t, Options{})
	a := addModel(t, s, "alpha", "shared", "only-alpha")
	addModel(t, s, "hf.co/u/beta:Q4_K_M", "shared", "only-beta")

	// Make modification times distinct: alpha older.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(s.Root(), "manifests/registry.ollama.ai/library/alpha/latest"), old, old); err != nil {
		t.Fatal(err)
	}

	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Name.DisplayShortest())
	}
	if !slices.Equal(names, []string{"hf.co/u/beta:Q4_K_M", "alpha:latest"}) {
		t.Fatalf("List names %v, want newest first", names)
	}
	alpha := list[1]
	if alpha.Size != a.Size() || alpha.Size != a.Config.Size+int64(len("shared")+len("only-alpha")) {
		t.Errorf("size %d, want %d", alpha.Size, a.Size())
	}
	if !alpha.ModifiedAt.Equal(old) {
		t.Errorf("modified_at %v, want manifest mtime %v", alpha.ModifiedAt, old)
	}
	d := alpha.Details()
	if d.Format != "gguf" || d.Family != "llama" || !slices.Equal(d.Families, []string{"llama"}) ||
		d.ParameterSize != "1B" || d.QuantizationLevel != "Q4_0" {
		t.Errorf("details %+v", d)
	}

	// Copy: same bytes, same digest, shared blobs.
	if err := s.Copy("alpha", "me/alpha-copy:v1"); err != nil {
		t.Fatal(err)
	}
	src, _ := s.ReadManifest("alpha")
	dst, err := s.ReadManifest("me/alpha-copy:v1")
	if err != nil {
		t.Fatal(err)
	}
	if src.Digest != dst.Digest {
		t.Errorf("copy digest %s differs from source %s", dst.Digest, src.Digest)
	}

	// Deleting alpha keeps everything the copy still references.
	before := sorted(blobFiles(t, s))
	if err := s.Delete("alpha"); err != nil {
		t.Fatal(err)
	}
	if got := sorted(blobFiles(t, s)); !slices.Equal(got, before) {
		t.Errorf("delete of a copied model removed blobs: before %v after %v", before, got)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "manifests/registry.ollama.ai/library/alpha")); !os.IsNotExist(err) {
		t.Errorf("empty model folder not pruned: %v", err)
	}

	// Deleting the copy frees only-alpha; shared stays for beta.
	if err := s.Delete("me/alpha-copy:v1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"only-alpha"} {
		if s.HasBlob(digestOfBytes([]byte(c))) {
			t.Errorf("blob %q survived the last delete", c)
		}
	}
	for _, c := range []string{"shared", "only-beta"} {
		if !s.HasBlob(digestOfBytes([]byte(c))) {
			t.Errorf("blob %q, still used by beta, was removed", c)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "manifests/registry.ollama.ai/me")); !os.IsNotExist(err) {
		t.Errorf("empty namespace folder not pruned: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "manifests")); err != nil {
		t.Errorf("manifests/ itself must stay: %v", err)
	}

	// Deleting beta leaves an empty store.
	if err := s.Delete("HF.CO/U/BETA:q4_k_m"); err != nil {
		t.Fatal(err)
	}
	if files := blobFiles(t, s); len(files) != 0 {
		t.Errorf("blobs left after deleting every model: %v", files)
	}
}

func TestGCKeepsUnrelatedBlobs(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "a", "x")
	uploaded := putBlob(t, s, MediaTypeModel, []byte("uploaded for a create in progress"))
	if err := s.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(uploaded.Digest) {
		t.Error("delete collected a blob the deleted model never referenced")
	}
}

func TestReplacingAManifestCollectsItsOldBlobs(t *testing.T) {
	for _, noPrune := range []bool{false, true} {
		s := openStore(t, Options{NoPrune: noPrune})
		addModel(t, s, "m", "old system")
		addModel(t, s, "m", "new system")
		if got := s.HasBlob(digestOfBytes([]byte("old system"))); got != noPrune {
			t.Errorf("NoPrune=%v: old blob kept = %v", noPrune, got)
		}
	}
}

func TestManifestErrors(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "present", "content")

	tests := []struct {
		name string
		err  error
		is   error
		msg  string
	}{
		{"resolve invalid", func() error { _, err := s.Resolve("../x"); return err }(), ErrInvalidName, `name "../x" is invalid`},
		{"resolve missing", func() error { _, err := s.Resolve("absent"); return err }(), ErrNotFound, `model 'absent' not found`},
		{"read missing", func() error { _, err := s.ReadManifest("absent:v2"); return err }(), ErrNotFound, `model 'absent:v2' not found`},
		{"delete invalid", s.Delete(`a\b`), ErrInvalidName, `name "a\\b" is invalid`},
		{"delete missing", s.Delete("absent"), ErrNotFound, `model 'absent' not found`},
		{"copy invalid source", s.Copy("/abs", "x"), ErrInvalidName, `source "/abs" is invalid`},
		{"copy invalid destination", s.Copy("present", "x/../y"), ErrInvalidName, `destination "x/../y" is invalid`},
		{"copy missing source", s.Copy("absent", "x"), ErrNotFound, `model 'absent' not found`},
		{"write invalid", func() error { _, err := s.WriteManifest("..", Manifest{}); return err }(), ErrInvalidName, `name ".." is invalid`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.is) {
				t.Fatalf("error %v, want %v", tc.err, tc.is)
			}
			if tc.err.Error() != tc.msg {
				t.Errorf("message %q, want %q", tc.err.Error(), tc.msg)
			}
		})
	}
	if !errors.Is(s.Delete("absent"), os.ErrNotExist) {
		t.Error("NotFoundError should match os.ErrNotExist for code ported from Ollama")
	}
}

func TestWriteManifestRefusesBadManifests(t *testing.T) {
	s := openStore(t, Options{})
	cfg := putBlob(t, s, MediaTypeConfig, []byte(`{}`))
	graph := putBlob(t, s, MediaTypeONNXModel, []byte("onnx"))
	absent := Layer{MediaType: MediaTypeModel, Digest: digestOfBytes([]byte("absent")), Size: 6}

	tests := []struct {
		name   string
		layers []Layer
		is     error
	}{
		{"missing blob", []Layer{absent}, ErrMissingBlob},
		{"dash digest", []Layer{{MediaType: MediaTypeSystem, Digest: "sha256-" + cfg.Digest[7:], Size: cfg.Size}}, ErrInvalidDigest},
		{"escaping ONNX name", []Layer{{MediaType: MediaTypeONNXModel, Digest: graph.Digest, Size: graph.Size, Name: "../model.onnx"}}, nil},
		{"absolute ONNX name", []Layer{{MediaType: MediaTypeONNXFile, Digest: graph.Digest, Size: graph.Size, Name: "/etc/x"}}, nil},
		{"unnamed ONNX file", []Layer{{MediaType: MediaTypeONNXFile, Digest: graph.Digest, Size: graph.Size}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.WriteManifest("bad", NewManifest(cfg, tc.layers))
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("WriteManifest = %v, want an error matching %v", err, tc.is)
			}
			if _, err := s.ReadManifest("bad"); !errors.Is(err, ErrNotFound) {
				t.Errorf("a refused manifest was stored: %v", err)
			}
		})
	}
}

func TestMissingBlobIsAClearError(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "broken", "layer that will vanish")
	gone := digestOfBytes([]byte("layer that will vanish"))
	p, _ := s.BlobPath(gone)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}

	for name, err := range map[string]error{
		"ReadManifest": func() error { _, err := s.ReadManifest("broken"); return err }(),
		"Resolve":      func() error { _, err := s.Resolve("broken"); return err }(),
	} {
		var mb *MissingBlobError
		if !errors.As(err, &mb) || !errors.Is(err, ErrMissingBlob) {
			t.Fatalf("%s = %v, want *MissingBlobError", name, err)
		}
		if mb.Digest != gone || mb.MediaType != MediaTypeSystem || !strings.Contains(err.Error(), gone) ||
			!strings.Contains(err.Error(), "pull or create the model again") {
			t.Errorf("%s: %v", name, err)
		}
	}

	// A broken model can still be listed and deleted.
	if list, _ := s.List(); len(list) != 1 {
		t.Errorf("List = %v, want the broken model listed", list)
	}
	if err := s.Delete("broken"); err != nil {
		t.Fatalf("Delete of a broken model: %v", err)
	}
}

func TestCorruptManifest(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "good", "g")
	p := filepath.Join(s.Root(), "manifests/registry.ollama.ai/library/bad/latest")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("bad"); !errors.Is(err, ErrCorruptManifest) {
		t.Errorf("Resolve of corrupt manifest = %v, want ErrCorruptManifest", err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Name.Model != "good" {
		t.Errorf("List = %v, %v; want only the good model", list, err)
	}
	if err := s.Delete("bad"); err != nil {
		t.Errorf("Delete of a corrupt manifest: %v", err)
	}
	if _, err := s.Resolve("good"); err != nil {
		t.Errorf("good model damaged: %v", err)
	}
}
