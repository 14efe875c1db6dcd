package registry

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ollama/ollama/types/model"
)

// Options tune a Store; the zero value behaves like Ollama with default settings.
type Options struct {
	// NoPrune keeps the blobs a replaced manifest no longer needs (OLLAMA_NOPRUNE). Deleting a model
	// still removes its unshared blobs, as in Ollama; whether to run Prune at startup is the caller's
	// decision.
	NoPrune bool
	// Logger receives notes about skipped or removed files; nil means slog.Default().
	Logger *slog.Logger
}

// Store is a model store rooted at one folder (OLLAMA_MODELS). It is safe for concurrent use by
// the goroutines of one process: manifest writes, copies, deletes and garbage collection are
// serialised, while reads and blob writes run freely (every file becomes visible only through an
// atomic rename). Two processes sharing a folder, say hearth and Ollama, are safe for reads and blob
// writes; deleting in one while creating in the other can race, as it can between two Ollamas.
type Store struct {
	root    string
	noPrune bool
	log     *slog.Logger

	// mu serialises everything that changes which blobs are referenced (manifest writes, copy,
	// delete, GC) so that GC never deletes a blob a manifest being written has just checked.
	mu sync.Mutex

	// tempMu guards temps, the temporary files of blob writes in flight, which Prune must leave alone.
	tempMu sync.Mutex
	temps  map[string]struct{}

	// resolved caches resolved models, and gen counts this process's changes to manifests and blobs,
	// each of which invalidates the cache (see resolvecache.go).
	resolved resolveCache
	gen      atomic.Uint64

	gguf *ggufCache
	// configs caches decoded config blobs by digest (see readConfig).
	configs sync.Map

	// dlMu guards downloads, the blob downloads in flight, which concurrent pulls of models sharing a
	// blob join instead of downloading it twice.
	dlMu      sync.Mutex
	downloads map[string]*download
}

// Open opens (creating if needed) the store rooted at root, with its blobs/ and manifests/ folders.
// Like Ollama at startup, it renames blob files written with a colon (sha256:<hex>, from old Ollama
// versions) to the dash form.
func Open(root string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	s := &Store{
		root:    abs,
		noPrune: opts.NoPrune,
		log:     opts.Logger,
		temps:   make(map[string]struct{}),
		gguf:    newGGUFCache(ggufCacheEntries),

		downloads: make(map[string]*download),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, dir := range []string{s.blobsDir(), s.manifestsDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("model store %s: %w: make sure the folder is writable or set OLLAMA_MODELS", abs, err)
		}
	}
	if err := s.fixBlobNames(); err != nil {
		return nil, err
	}
	return s, nil
}

// Root returns the folder the store lives in.
func (s *Store) Root() string { return s.root }

// blobsDir is the folder holding every blob.
func (s *Store) blobsDir() string { return filepath.Join(s.root, "blobs") }

// manifestsDir is the root of the manifests tree.
func (s *Store) manifestsDir() string { return filepath.Join(s.root, "manifests") }

// manifestPath is where the manifest of a valid name lives.
func (s *Store) manifestPath(n model.Name) string {
	return filepath.Join(s.manifestsDir(), n.Filepath())
}

// fixBlobNames renames blobs/sha256:<hex> to blobs/sha256-<hex>, as Ollama's fixBlobs does. A file
// whose dash form already exists is a duplicate and is removed.
func (s *Store) fixBlobNames() error {
	entries, err := os.ReadDir(s.blobsDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		typ, hex, ok := strings.Cut(name, ":")
		if !ok || typ != "sha256" {
			continue
		}
		from := filepath.Join(s.blobsDir(), name)
		to := filepath.Join(s.blobsDir(), "sha256-"+hex)
		if _, err := os.Stat(to); err == nil {
			if err := os.Remove(from); err != nil {
				return err
			}
			continue
		}
		if err := os.Rename(from, to); err != nil {
			return err
		}
		s.log.Info("renamed blob to dash form", "from", name)
	}
	return nil
}
