package registry

import (
	"bytes"
	"os"
	"sync"
	"time"

	"github.com/ollama/ollama/types/model"
)

// Resolve runs on every inference request, and reading a model from disk (four directory listings to find
// the store's spelling of the name, the manifest read and decoded, a stat per blob, the small layers read
// and decoded) costs hundreds of microseconds. The resolve cache keeps each resolved model and checks, per
// request, only what could have changed it:
//
//   - this process's own changes (manifest writes, copies, deletes, blob removals) bump Store.gen, which
//     drops every entry at once, so they are seen immediately;
//   - another process (an ollama sharing the folder, a user's rm) is seen through one stat of the manifest
//     file (size, modification time and file identity: a rename over it, as hearth writes, makes a new
//     file; an in-place rewrite, as Ollama writes, changes the time and usually the size) and one stat of
//     blobs/ (a removed blob changes the folder's time; when it has changed, every blob is checked again);
//   - a name spelled differently from the store ("Llama3" for "llama3") finds the store's spelling again
//     through the directory listings, since a folder appearing in the caller's exact spelling would change
//     the answer. A name spelled as the store spells it needs no listing: on a case-sensitive file system
//     an existing manifest at that exact path is what the listings would find. (On a case-insensitive one,
//     renaming a folder to another casing while hearth runs leaves the old casing in answers until the
//     manifest changes.)
//
// File times have a granularity (the kernel's clock tick, at most 10 ms, on Linux; a second or two on
// HFS+, FAT or ext4 with small inodes), so a file changed within that granularity of being read could
// keep its time. Like git's "racily clean" index entries, a stat taken less than racyWindow after the
// file's modification time is not trusted: the manifest is read again and compared byte for byte with the
// bytes the model was decoded from (still far cheaper than decoding it), and blobs/ is checked blob by
// blob, until a check made long enough after the modification promotes the entry to stat-only checks.
const (
	// fineRacyWindow covers file systems that keep sub-second times.
	fineRacyWindow = 50 * time.Millisecond
	// coarseRacyWindow covers the others, recognised by a time in whole hundredths of a second.
	coarseRacyWindow = 2 * time.Second
)

// racyWindow is how long after mtime a file's stat is not trusted to reveal every change.
func racyWindow(mtime time.Time) time.Duration {
	if mtime.Nanosecond()%int(10*time.Millisecond) == 0 {
		return coarseRacyWindow
	}
	return fineRacyWindow
}

// resolveCacheEntries bounds the cache. Entries are keyed by the name as callers spell it, so a model can
// take several; when the cache is full it starts over.
const resolveCacheEntries = 256

// resolveCache maps a name as a caller spelt it to the model it resolved to.
type resolveCache struct {
	mu      sync.Mutex
	entries map[string]*resolvedEntry
}

// resolvedEntry is one cached resolution. It is never changed once stored; a promotion stores a new one.
type resolvedEntry struct {
	// gen is Store.gen before the model was read: any change by this store since invalidates the entry.
	gen uint64
	// exact says the caller's spelling is the store's; otherwise the spelling is looked up again.
	exact bool
	// name is the store's spelling of the name, path its manifest file.
	name model.Name
	path string
	// manifest is the manifest file as the read found it.
	manifest os.FileInfo
	// data, when not nil, is the manifest's bytes, compared on every hit while the file's time is too
	// recent to trust (see racyWindow).
	data []byte
	// blobsDir is blobs/ as it was when every blob was last seen present, or nil when the blobs must be
	// checked one by one.
	blobsDir os.FileInfo
	// blobs are the paths of the blobs the manifest references.
	blobs []string
	// model is the resolved model; hits return copies of it.
	model *Model
}

// resolveStart is what is taken before a model is read from disk, to be checked against on later hits.
type resolveStart struct {
	gen      uint64
	at       time.Time
	blobsDir os.FileInfo // nil when blobs/ could not be read
}

// changed invalidates every cached resolution; the store calls it after each change it makes to a
// manifest or a blob.
func (s *Store) changed() { s.gen.Add(1) }

// beginResolve notes the store's generation, the time and blobs/ before a model is read.
func (s *Store) beginResolve() resolveStart {
	st := resolveStart{gen: s.gen.Load(), at: time.Now()}
	if fi, err := os.Stat(s.blobsDir()); err == nil {
		st.blobsDir = fi
	}
	return st
}

// settled reports whether a file's modification time lies far enough before at that any later change to
// the file gives it another time.
func settled(fi os.FileInfo, at time.Time) bool {
	mtime := fi.ModTime()
	return mtime.Before(at.Add(-racyWindow(mtime)))
}

// sameFile reports whether a stat still describes the file another stat did: the same file, size and
// modification time.
func sameFile(old, cur os.FileInfo) bool {
	return old != nil && cur.Size() == old.Size() && cur.ModTime().Equal(old.ModTime()) &&
		cur.Mode().Type() == old.Mode().Type() && os.SameFile(old, cur)
}

// remember caches m, resolved from name by reading r after start.
func (s *Store) remember(name string, start resolveStart, r *manifestRead, m *Model) {
	blobs := r.file.Manifest.Blobs()
	e := &resolvedEntry{
		gen:      start.gen,
		name:     r.file.Name,
		path:     r.file.Path,
		manifest: r.info,
		blobs:    make([]string, len(blobs)),
	}
	for i, l := range blobs {
		e.blobs[i] = s.blobPath(l.Digest) // readManifest has checked the digests
	}
	if n, err := ParseName(name); err == nil {
		e.exact = n == r.file.Name
	}
	if !settled(r.info, start.at) {
		e.data = r.data
	}
	if start.blobsDir != nil && settled(start.blobsDir, start.at) {
		e.blobsDir = start.blobsDir
	}
	cp := *m
	e.model = &cp
	s.resolved.store(name, e)
}

// cachedModel returns a copy of the model name resolved to, if the cache has it and it is still current;
// nil otherwise.
func (s *Store) cachedModel(name string) *Model {
	e := s.resolved.load(name)
	if e == nil || e.gen != s.gen.Load() {
		return nil
	}
	if !e.exact {
		n, err := ParseName(name)
		if err != nil || s.canonical(n) != e.name {
			return nil
		}
	}
	now := time.Now()
	fi, err := os.Stat(e.path)
	if err != nil || !sameFile(e.manifest, fi) {
		return nil
	}
	promoted := *e
	if e.data != nil {
		data, err := os.ReadFile(e.path)
		if err != nil || !bytes.Equal(data, e.data) {
			return nil
		}
		if settled(fi, now) {
			promoted.data = nil
		}
	}
	if !s.blobsPresent(e, now, &promoted) {
		return nil
	}
	if promoted.data == nil && e.data != nil || promoted.blobsDir != e.blobsDir {
		s.resolved.replace(name, e, &promoted)
	}
	m := *e.model
	return &m
}

// blobsPresent checks that every blob of e is still in the store: at the cost of one stat while blobs/ is
// unchanged, else blob by blob, noting blobs/ in next when it can be trusted from now on.
func (s *Store) blobsPresent(e *resolvedEntry, now time.Time, next *resolvedEntry) bool {
	dir, err := os.Stat(s.blobsDir())
	if err != nil {
		return false
	}
	if sameFile(e.blobsDir, dir) {
		return true
	}
	for _, p := range e.blobs {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	if settled(dir, now) {
		next.blobsDir = dir
	}
	return true
}

// load returns the entry for name, or nil.
func (c *resolveCache) load(name string) *resolvedEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[name]
}

// store caches e under name.
func (c *resolveCache) store(name string, e *resolvedEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= resolveCacheEntries {
		c.entries = make(map[string]*resolvedEntry)
	}
	c.entries[name] = e
}

// replace swaps old for e under name, unless another resolution has replaced old meanwhile.
func (c *resolveCache) replace(name string, old, e *resolvedEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[name] == old {
		c.entries[name] = e
	}
}
