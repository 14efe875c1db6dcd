package registry

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// resolveSystem resolves name and returns its system prompt.
func resolveSystem(t *testing.T, s *Store, name string) string {
	t.Helper()
	m, err := s.Resolve(name)
	if err != nil {
		t.Fatalf("Resolve(%q): %v", name, err)
	}
	return m.System
}

// cached reports whether the resolve cache holds an entry for name that is still current.
func cached(s *Store, name string) bool { return s.cachedModel(name) != nil }

// rewriteManifest replaces the manifest file of name in place (truncate and write, the way Ollama writes
// manifests, so the file keeps its identity) with a manifest of one system layer holding system, and sets
// the file's modification time to mtime.
func rewriteManifest(t *testing.T, s *Store, name, system string, mtime time.Time) {
	t.Helper()
	mf, err := s.ReadManifest(name)
	if err != nil {
		t.Fatal(err)
	}
	m := NewManifest(mf.Manifest.Config, []Layer{putBlob(t, s, MediaTypeSystem, []byte(system))})
	data, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf.Path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(mf.Path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// age sets a file's modification time to an hour ago, so the resolve cache trusts stats of it at once.
func age(t *testing.T, path string) time.Time {
	t.Helper()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	return old
}

func TestResolveCacheSeesRewriteBehindItsBack(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "m", "one")
	mf, _ := s.ReadManifest("m")
	old := age(t, mf.Path)
	age(t, s.blobsDir())

	if got := resolveSystem(t, s, "m"); got != "one" {
		t.Fatalf("system %q", got)
	}
	if !cached(s, "m") {
		t.Fatal("a resolved model is not cached")
	}
	// Another process rewrites the manifest: the file's time and size change.
	rewriteManifest(t, s, "m", "three", time.Now())
	if got := resolveSystem(t, s, "m"); got != "three" {
		t.Errorf("after a rewrite with a new size and time: system %q, want %q", got, "three")
	}

	// Same size and the same modification time, as two writes within the file system's time granularity
	// can leave: only the bytes tell, and a manifest whose time is recent is compared byte for byte. (The
	// time is in the future so that it stays recent however slowly the test runs.)
	now := time.Now().Add(time.Minute)
	rewriteManifest(t, s, "m", "one", now)
	if got := resolveSystem(t, s, "m"); got != "one" {
		t.Fatalf("system %q", got)
	}
	rewriteManifest(t, s, "m", "two", now)
	if got := resolveSystem(t, s, "m"); got != "two" {
		t.Errorf("after a same-size, same-time rewrite: system %q, want %q", got, "two")
	}

	// Once the time is old enough to be trusted, a change of time is enough.
	rewriteManifest(t, s, "m", "one", old)
	resolveSystem(t, s, "m")
	resolveSystem(t, s, "m") // a hit
	rewriteManifest(t, s, "m", "two", old.Add(time.Second))
	if got := resolveSystem(t, s, "m"); got != "two" {
		t.Errorf("after a same-size rewrite with a new time: system %q, want %q", got, "two")
	}
}

func TestResolveCacheSeesDeleteAndCreate(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "a", "alpha")
	addModel(t, s, "b", "beta")
	for _, n := range []string{"a", "b", "c"} {
		s.Resolve(n) // cache what can be cached, and the misses
	}

	// Behind the store's back.
	mf, _ := s.ReadManifest("a")
	if err := os.Remove(mf.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve after the manifest file was removed = %v, want ErrNotFound", err)
	}

	// Through the store.
	if err := s.Delete("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve after Delete = %v, want ErrNotFound", err)
	}
	addModel(t, s, "b", "beta again")
	if got := resolveSystem(t, s, "b"); got != "beta again" {
		t.Errorf("after re-creating: system %q", got)
	}
	if err := s.Copy("b", "c"); err != nil {
		t.Fatal(err)
	}
	if got := resolveSystem(t, s, "c"); got != "beta again" {
		t.Errorf("after Copy: system %q", got)
	}
	addModel(t, s, "c", "gamma")
	if got := resolveSystem(t, s, "c"); got != "gamma" {
		t.Errorf("after replacing: system %q", got)
	}
}

func TestResolveCacheSeesMissingBlob(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "m", "layer that will vanish")
	mf, _ := s.ReadManifest("m")
	age(t, mf.Path)
	age(t, s.blobsDir())
	resolveSystem(t, s, "m")
	if !cached(s, "m") {
		t.Fatal("not cached")
	}
	p, _ := s.BlobPath(digestOfBytes([]byte("layer that will vanish")))
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("m"); !errors.Is(err, ErrMissingBlob) {
		t.Errorf("Resolve after a blob was removed = %v, want ErrMissingBlob", err)
	}
}

func TestResolveCacheFollowsSpelling(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "foo", "lower")
	addModel(t, s, "other", "upper")
	if got := resolveSystem(t, s, "FOO"); got != "lower" {
		t.Fatalf("system %q", got)
	}
	if m, _ := s.Resolve("FOO"); m.Name.Model != "foo" {
		t.Errorf("cached resolution spells %q, want the store's %q", m.Name.Model, "foo")
	}
	upper := filepath.Join(s.manifestsDir(), "registry.ollama.ai", "library", "FOO")
	if _, err := os.Stat(upper); err == nil {
		t.Skip("case-insensitive file system")
	}
	// A folder in the caller's exact spelling appears: it is now what the name finds.
	if err := os.MkdirAll(upper, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(s.manifestsDir(), "registry.ollama.ai", "library", "other", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(upper, "latest"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := resolveSystem(t, s, "FOO"); got != "upper" {
		t.Errorf("after FOO appeared: system %q, want %q", got, "upper")
	}
	if got := resolveSystem(t, s, "foo"); got != "lower" {
		t.Errorf("foo: system %q, want %q", got, "lower")
	}
}

func TestResolveCacheReturnsCopies(t *testing.T) {
	s := openStore(t, Options{})
	addModel(t, s, "m", "sys")
	a, _ := s.Resolve("m")
	a.System = "changed by a caller"
	if got := resolveSystem(t, s, "m"); got != "sys" {
		t.Errorf("a caller's change reached the cache: %q", got)
	}
}

func TestRacyWindow(t *testing.T) {
	fine := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for _, tc := range []struct {
		mtime time.Time
		want  time.Duration
	}{
		{fine, fineRacyWindow},
		{fine.Truncate(time.Second), coarseRacyWindow},           // HFS+, ext4 with small inodes
		{fine.Truncate(10 * time.Millisecond), coarseRacyWindow}, // exFAT
	} {
		if got := racyWindow(tc.mtime); got != tc.want {
			t.Errorf("racyWindow(%v) = %v, want %v", tc.mtime, got, tc.want)
		}
	}
}

func TestResolveCacheConcurrent(t *testing.T) {
	s := openStore(t, Options{NoPrune: true})
	addModel(t, s, "m", "first")
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				m, err := s.Resolve("m")
				if err != nil {
					errs <- err
					return
				}
				if m.System != "first" && m.System != "second" {
					errs <- errors.New("unexpected system " + m.System)
					return
				}
			}
		}()
	}
	for i := range 20 {
		addModel(t, s, "m", []string{"first", "second"}[i%2])
		if got := resolveSystem(t, s, "m"); got != []string{"first", "second"}[i%2] {
			t.Errorf("write %d: system %q", i, got)
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
