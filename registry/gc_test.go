package registry

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPrune(t *testing.T) {
	s := openStore(t, Options{})
	m := addModel(t, s, "keep", "referenced")
	unused := putBlob(t, s, MediaTypeModel, []byte("nobody uses me"))

	blobs := s.blobsDir()
	colonKept := digestOfBytes([]byte("colon referenced"))
	colonUnused := digestOfBytes([]byte("colon unused"))
	junk := map[string]string{
		"sha256-" + unused.Digest[7:] + "-partial":     "half a download",
		"sha256-" + unused.Digest[7:] + "-partial-0":   `{"N":0,"Offset":0,"Size":10,"Completed":3}`,
		tempPrefix + "123456":                          "crashed write",
		"sha256-" + strings.ToUpper(unused.Digest[7:]): "uppercase",
		"notes.txt": "stray",
	}
	old := time.Now().Add(-partialTTL - time.Hour)
	for name, content := range junk {
		if err := os.WriteFile(filepath.Join(blobs, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		// Partial downloads are junk only once abandoned for longer than partialTTL.
		if err := os.Chtimes(filepath.Join(blobs, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	for d, content := range map[string]string{colonKept: "colon referenced", colonUnused: "colon unused"} {
		if err := os.WriteFile(filepath.Join(blobs, "sha256:"+d[7:]), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A second model references the colon-named blob, as an old Ollama would have left it.
	cl := Layer{MediaType: MediaTypeLicense, Digest: colonKept, Size: int64(len("colon referenced"))}
	if err := os.Rename(filepath.Join(blobs, "sha256:"+colonKept[7:]), filepath.Join(blobs, "sha256-"+colonKept[7:])); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteManifest("old", NewManifest(m.Config, []Layer{cl})); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(blobs, "sha256-"+colonKept[7:]), filepath.Join(blobs, "sha256:"+colonKept[7:])); err != nil {
		t.Fatal(err)
	}
	// Leftovers in manifests/: a crashed manifest write and an empty model folder.
	mdir := s.manifestsDir()
	os.WriteFile(filepath.Join(mdir, tempPrefix+"9"), []byte("{"), 0o644)
	os.MkdirAll(filepath.Join(mdir, "registry.ollama.ai", "library", "gone"), 0o755)

	report, err := s.Prune()
	if err != nil {
		t.Fatal(err)
	}
	var wantJunk []string
	for name := range junk {
		wantJunk = append(wantJunk, name)
	}
	if !slices.Equal(sorted(report.Junk), sorted(wantJunk)) {
		t.Errorf("junk removed %v, want %v", report.Junk, wantJunk)
	}
	if !slices.Equal(sorted(report.Unused), sorted([]string{unused.Digest, colonUnused})) {
		t.Errorf("unused removed %v", report.Unused)
	}
	want := sorted([]string{blobFileName(m.Config.Digest), blobFileName(m.Layers[0].Digest), blobFileName(colonKept)})
	if got := sorted(blobFiles(t, s)); !slices.Equal(got, want) {
		t.Errorf("blobs/ after prune %v, want %v", got, want)
	}
	for _, name := range []string{"keep", "old"} {
		if _, err := s.Resolve(name); err != nil {
			t.Errorf("Resolve(%s) after prune: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(mdir, tempPrefix+"9")); !os.IsNotExist(err) {
		t.Error("temporary manifest file survived")
	}
	if _, err := os.Stat(filepath.Join(mdir, "registry.ollama.ai", "library", "gone")); !os.IsNotExist(err) {
		t.Error("empty manifest folder survived")
	}
}

func TestPruneKeepsUnusedBlobsWhenAManifestIsCorrupt(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "fine", "x")
	unused := putBlob(t, s, MediaTypeModel, []byte("maybe the broken model's"))
	p := filepath.Join(s.manifestsDir(), "registry.ollama.ai", "library", "broken", "latest")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("not json"), 0o644)
	partial := filepath.Join(s.blobsDir(), "sha256-"+unused.Digest[7:]+"-partial")
	os.WriteFile(partial, []byte("junk"), 0o644)
	old := time.Now().Add(-partialTTL - time.Hour)
	os.Chtimes(partial, old, old)

	_, err := s.Prune()
	if !errors.Is(err, ErrCorruptManifest) || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("Prune = %v, want an error naming the corrupt manifest", err)
	}
	if !s.HasBlob(unused.Digest) {
		t.Error("unused blob removed although a corrupt manifest might reference it")
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Error("partial download kept")
	}
}

// A recent partial download survives Prune, so a pull interrupted by a restart resumes where it stopped.
func TestPruneKeepsRecentPartialDownloads(t *testing.T) {
	s := openStore(t, Options{})
	d := digestOfBytes([]byte("a model being downloaded"))
	names := []string{"sha256-" + d[7:] + "-partial", "sha256-" + d[7:] + "-partial-0", "sha256-" + d[7:] + "-partial-1"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(s.blobsDir(), n), []byte("part"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stray := filepath.Join(s.blobsDir(), "not-a-digest-partial")
	os.WriteFile(stray, []byte("x"), 0o644)
	if _, err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(s.blobsDir(), n)); err != nil {
			t.Errorf("%s removed: %v", n, err)
		}
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Error("a -partial file without a digest name was kept")
	}
}

func TestOpenRenamesColonBlobs(t *testing.T) {
	root := t.TempDir()
	d := digestOfBytes([]byte("c"))
	os.MkdirAll(filepath.Join(root, "blobs"), 0o755)
	os.WriteFile(filepath.Join(root, "blobs", "sha256:"+d[7:]), []byte("c"), 0o644)
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := blobFiles(t, s); !slices.Equal(got, []string{"sha256-" + d[7:]}) {
		t.Errorf("blobs/ = %v", got)
	}
}
