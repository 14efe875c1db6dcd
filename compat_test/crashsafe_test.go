package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"

	hearthapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/models"
)

// crashCase is one store write during which the server is killed.
type crashCase struct {
	name string
	// at is HEARTH_TEST_CRASH_AT: the step at which the server SIGKILLs itself.
	at string
	// op is the request that reaches the step; it is repeated on the restarted server.
	op func(c *api.Client) error
	// model is the name op creates, replaces or deletes; present says whether the restarted server
	// lists it (the write was committed before the kill) or not.
	model   string
	present bool
	// repeat is what is tried again after the restart when it is not op (a second delete would be a
	// 404: the model is created again, then deleted).
	repeat func(c *api.Client) error
}

// A server killed with SIGKILL at any step of a create (from an uploaded GGUF, with a quantization, from
// an ONNX folder), a copy or a delete leaves a store that a restart over the same OLLAMA_MODELS serves
// consistently: the write happened entirely or not at all, every listed model shows, every blob is named
// after the sha256 of its bytes, no temporary file is left under a final name, the startup prune removed
// exactly what no manifest references (the leftovers of the killed write) and nothing else, and the same
// request then succeeds. The killed store is checked before the restart too: whatever sits under a final
// name (a digest in blobs/, a model path in manifests/) is whole. Each case kills the server at a named step (HEARTH_TEST_CRASH_AT) and checks
// that it did die there, so a step that is never reached fails the test.
func TestKilledStoreWritesLeaveAConsistentStore(t *testing.T) {
	ctx := context.Background()
	ensure := func(recipe string) string {
		path, err := models.Ensure(ctx, "", recipe)
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	llama, gpt2 := ensure("tiny-llama"), ensure("tiny-gpt2")
	rerankDir, clsDir := ensure("tinybert-rerank-onnx"), ensure("tinybert-cls-onnx")
	f16 := writeF16GGUF(t)
	f16Digest := fileDigest(t, f16)

	// The starting store: GGUF models (one of F16 weights, to quantize) and an ONNX one.
	template := filepath.Join(t.TempDir(), "models")
	p := startHearth(t, "OLLAMA_MODELS="+template)
	createAll(t, p.URL, map[string]string{"base": llama, "f16": f16, "rerank": rerankDir})
	noStream := false
	twin := func(c *api.Client) error { // base's weights with a system prompt of its own
		return c.Create(ctx, &api.CreateRequest{Model: "twin", From: "base", System: "You are base's twin.", Stream: &noStream},
			func(api.ProgressResponse) error { return nil })
	}
	if err := twin(apiClient(t, p.URL)); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	checkStore(t, p.URL, template, true)

	createFrom := func(name, path string) func(c *api.Client) error {
		return func(c *api.Client) error { return hearthapi.CreateFromPath(ctx, c, name, path) }
	}
	quantize := func(c *api.Client) error {
		return c.Create(ctx, &api.CreateRequest{Model: "fresh", Files: map[string]string{"m.gguf": f16Digest}, Quantize: "q8_0", Stream: &noStream},
			func(api.ProgressResponse) error { return nil })
	}
	cp := func(dst string) func(c *api.Client) error {
		return func(c *api.Client) error { return c.Copy(ctx, &api.CopyRequest{Source: "base", Destination: dst}) }
	}
	deleteModel := func(name string) func(c *api.Client) error {
		return func(c *api.Client) error { return c.Delete(ctx, &api.DeleteRequest{Model: name}) }
	}
	recreateAndDelete := func(create func(c *api.Client) error, name string) func(c *api.Client) error {
		return func(c *api.Client) error {
			if err := create(c); err != nil {
				return err
			}
			return deleteModel(name)(c)
		}
	}

	cases := []crashCase{
		{name: "gguf upload", at: "blob-rename", op: createFrom("fresh", gpt2), model: "fresh"},
		{name: "gguf create", at: "manifest-rename", op: createFrom("fresh", gpt2), model: "fresh"},
		{name: "gguf create over a model", at: "manifest-renamed", op: createFrom("rerank", gpt2), model: "rerank", present: true},
		{name: "quantize partway", at: "quantize-write", op: quantize, model: "fresh"},
		{name: "quantized blob", at: "blob-rename", op: quantize, model: "fresh"},
		{name: "quantized manifest", at: "manifest-rename", op: quantize, model: "fresh"},
		{name: "onnx upload", at: "blob-rename:2", op: createFrom("fresh", clsDir), model: "fresh"},
		{name: "onnx create", at: "manifest-rename", op: createFrom("fresh", clsDir), model: "fresh"},
		{name: "copy", at: "manifest-rename", op: cp("fresh"), model: "fresh"},
		{name: "copy over a model", at: "manifest-renamed", op: cp("rerank"), model: "rerank", present: true},
		{name: "delete", at: "delete-unlinked", op: deleteModel("rerank"), model: "rerank",
			repeat: recreateAndDelete(createFrom("rerank", rerankDir), "rerank")},
		// twin's weights are base's: the prune keeps them.
		{name: "delete sharing weights", at: "delete-unlinked", op: deleteModel("twin"), model: "twin",
			repeat: recreateAndDelete(twin, "twin")},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "models")
			copyTree(t, template, dir)

			crashing := startHearth(t, "OLLAMA_MODELS="+dir, "HEARTH_TEST_CRASH_AT="+c.at)
			opErr := c.op(apiClient(t, crashing.URL))
			if se := (api.StatusError{}); errors.As(opErr, &se) {
				t.Fatalf("the server answered %v instead of dying at %s", opErr, c.at)
			}
			waitKilled(t, crashing, opErr)
			if t.Failed() {
				return
			}
			before := storeFiles(t, dir)
			if len(before.leftovers) == 0 {
				t.Errorf("the killed write left nothing for the prune to remove: %+v", before)
			}

			// With OLLAMA_NOPRUNE the leftovers stay, and are invisible.
			np := startHearth(t, "OLLAMA_MODELS="+dir, "OLLAMA_NOPRUNE=1")
			kept := checkStore(t, np.URL, dir, false)
			if kept.has(c.model) != c.present {
				t.Errorf("after a restart without prune %s listed = %v, want %v", c.model, kept.has(c.model), c.present)
			}
			if !slices.Equal(kept.leftovers, before.leftovers) {
				t.Errorf("OLLAMA_NOPRUNE: the leftovers went from %v to %v", before.leftovers, kept.leftovers)
			}
			if err := np.Stop(); err != nil {
				t.Fatal(err)
			}

			p := startHearth(t, "OLLAMA_MODELS="+dir)
			after := checkStore(t, p.URL, dir, true)
			if after.has(c.model) != c.present {
				t.Errorf("after the restart %s listed = %v, want %v", c.model, after.has(c.model), c.present)
			}
			for _, d := range before.referenced {
				if !slices.Contains(after.blobs, d) {
					t.Errorf("the prune removed blob %s, which a manifest references", d)
				}
			}

			repeat := orOp(c.repeat, c.op)
			if err := repeat(apiClient(t, p.URL)); err != nil {
				t.Fatalf("%s again after the restart: %v", c.name, err)
			}
			after = checkStore(t, p.URL, dir, true)
			if want := c.repeat == nil; after.has(c.model) != want {
				t.Errorf("after %s again, %s listed = %v, want %v", c.name, c.model, after.has(c.model), want)
			}
		})
	}
}

// orOp returns a unless it is nil, else b.
func orOp(a, b func(c *api.Client) error) func(c *api.Client) error {
	if a != nil {
		return a
	}
	return b
}

// waitKilled fails the test unless p died of SIGKILL (its own, at the crash step), opErr being what the
// request that reached the step got.
func waitKilled(t *testing.T, p *hearthProcess, opErr error) {
	t.Helper()
	select {
	case err := <-p.exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("the server exited with %v during the write (request: %v), want SIGKILL", err, opErr)
		}
		if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the server ended with %v, want SIGKILL", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the server was not killed at the crash step (request: %v)", opErr)
	}
}

// storeState is what a model store holds on disk.
type storeState struct {
	blobs      []string // digests (sha256:hex) of the files in blobs/ named like a blob
	referenced []string // digests the manifests reference
	manifests  []string // manifest paths under manifests/
	leftovers  []string // blobs/ and manifests/ files a prune would remove: temporary files, unreferenced blobs
	models     []string // names /api/tags lists, when read from a server
}

// has reports whether /api/tags listed name (as name:latest).
func (s storeState) has(name string) bool {
	return slices.Contains(s.models, name+":latest")
}

// storeFiles reads dir's manifests and blobs, checking each blob's bytes against its name and that each
// manifest decodes.
func storeFiles(t *testing.T, dir string) storeState {
	t.Helper()
	var st storeState
	refs := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(dir, "manifests"), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.Count(filepath.ToSlash(rel), "/") != 4 { // manifests/host/namespace/model/tag
			st.leftovers = append(st.leftovers, rel)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var m struct {
			Config struct{ Digest string }   `json:"config"`
			Layers []struct{ Digest string } `json:"layers"`
		}
		if err := json.Unmarshal(data, &m); err != nil || m.Config.Digest == "" {
			t.Errorf("manifest %s is not a whole manifest (%v): %q", rel, err, data)
			return nil
		}
		st.manifests = append(st.manifests, rel)
		refs[m.Config.Digest] = true
		for _, l := range m.Layers {
			refs[l.Digest] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.referenced = slices.Sorted(maps.Keys(refs))
	entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		hexDigest, ok := strings.CutPrefix(e.Name(), "sha256-")
		if !ok || len(hexDigest) != 64 {
			st.leftovers = append(st.leftovers, "blobs/"+e.Name())
			continue
		}
		d := "sha256:" + hexDigest
		if got := fileDigest(t, filepath.Join(dir, "blobs", e.Name())); got != d {
			t.Errorf("blob %s holds bytes whose digest is %s", e.Name(), got)
		}
		st.blobs = append(st.blobs, d)
		if !refs[d] {
			st.leftovers = append(st.leftovers, "blobs/"+e.Name())
		}
	}
	return st
}

// checkStore checks the store in dir, served by the server at base unless it has stopped: whole
// manifests and blobs, every referenced blob present, every listed model shown, and, if pruned, nothing
// left for a prune.
func checkStore(t *testing.T, base, dir string, pruned bool) storeState {
	t.Helper()
	st := storeFiles(t, dir)
	if pruned && len(st.leftovers) > 0 {
		t.Errorf("files left after the startup prune: %v", st.leftovers)
	}
	for _, d := range st.referenced {
		if !slices.Contains(st.blobs, d) {
			t.Errorf("blob %s is referenced but missing", d)
		}
	}
	resp, err := http.Get(base + "/api/tags")
	if err != nil {
		return st // stopped: the files are all there is to check
	}
	defer resp.Body.Close()
	var tags api.ListResponse
	if err := json.NewDecoder(resp.Body).Decode(&tags); err != nil {
		t.Fatal(err)
	}
	if len(tags.Models) != len(st.manifests) {
		t.Errorf("/api/tags lists %d models, the store holds %d manifests", len(tags.Models), len(st.manifests))
	}
	for _, m := range tags.Models {
		st.models = append(st.models, m.Name)
		if code, body := post(t, base+"/api/show", `{"model": "`+m.Name+`"}`); code != http.StatusOK {
			t.Errorf("show %s = %d %s", m.Name, code, body)
		}
	}
	return st
}

// writeF16GGUF writes a tiny llama GGUF of F16 weight matrices whose rows are 256 wide (one k-quant
// block), which a create can quantize in a moment.
func writeF16GGUF(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f16.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := ggml.KV{
		"general.architecture": "llama", "general.file_type": uint32(ggml.FileTypeF16),
		"llama.block_count": uint32(1), "llama.context_length": uint32(256), "llama.embedding_length": uint32(256),
		"llama.attention.head_count": uint32(4), "llama.attention.head_count_kv": uint32(4),
		"llama.feed_forward_length": uint32(512), "llama.rope.dimension_count": uint32(64),
		"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": []string{"<unk>", "<s>", "</s>", "a"},
		"general.quantization_version": uint32(2),
	}
	f16 := func(rows int) []byte {
		b := make([]byte, rows*256*2)
		for i := 1; i < len(b); i += 2 {
			b[i] = byte(0x30 + i%8) // small positive halves, not all equal
		}
		return b
	}
	ts := []*ggml.Tensor{
		{Name: "token_embd.weight", Kind: uint32(ggml.TensorTypeF16), Shape: []uint64{256, 8}, WriterTo: bytes.NewReader(f16(8))},
		{Name: "blk.0.attn_norm.weight", Kind: uint32(ggml.TensorTypeF32), Shape: []uint64{256}, WriterTo: bytes.NewReader(make([]byte, 256*4))},
		{Name: "blk.0.ffn_up.weight", Kind: uint32(ggml.TensorTypeF16), Shape: []uint64{256, 4}, WriterTo: bytes.NewReader(f16(4))},
		{Name: "output.weight", Kind: uint32(ggml.TensorTypeF16), Shape: []uint64{256, 8}, WriterTo: bytes.NewReader(f16(8))},
	}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyTree copies the regular files and folders of src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
