package registry

import (
	"container/list"
	"fmt"
	"maps"
	"sync"

	"github.com/ollama/ollama/fs/ggml"
)

// ggufCacheEntries bounds the metadata cache; an entry is a few KiB to a few hundred KiB (tensor
// list plus scalar keys), so this is generous for any realistic number of installed models.
const ggufCacheEntries = 64

// GGUFMetadata is the header of a GGUF blob: its key/values and tensor descriptions.
type GGUFMetadata struct {
	// KV holds the key/values; array values are not kept (they read as JSON null, exactly as in
	// Ollama's non-verbose /api/show), except empty ones. Each call returns a fresh map, so callers
	// may delete keys (general.name, tokenizer.chat_template) without touching the cache.
	KV ggml.KV
	// Tensors describes the tensors (name, type, shape, offset); shared, treat as read-only.
	Tensors ggml.Tensors
}

// GGUFInfo returns the metadata of a GGUF blob, decoded once and cached by digest, so /api/show and
// the scheduler do not re-read a multi-gigabyte file per call. Arrays (a vocabulary is 100k+
// strings) are skipped while decoding; use DecodeGGUF with a negative limit for /api/show verbose.
func (s *Store) GGUFInfo(digest string) (*GGUFMetadata, error) {
	d, err := ParseDigest(digest)
	if err != nil {
		return nil, err
	}
	f, err := s.gguf.get(d, func() (*ggml.GGML, error) { return s.DecodeGGUF(d, 0) })
	if err != nil {
		return nil, err
	}
	return &GGUFMetadata{KV: maps.Clone(f.KV()), Tensors: f.Tensors()}, nil
}

// DecodeGGUF decodes a GGUF blob's header without caching. Arrays longer than maxArraySize are
// skipped (a negative maxArraySize keeps them all), as ggml.Decode does.
func (s *Store) DecodeGGUF(digest string, maxArraySize int) (*ggml.GGML, error) {
	f, err := s.OpenBlob(digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	g, err := DecodeGGUFHeader(f, maxArraySize)
	if err != nil {
		return nil, fmt.Errorf("blob %s is not a readable GGUF file: %w", digest, err)
	}
	return g, nil
}

// ggufCache is a small LRU of decoded GGUF headers keyed by digest; concurrent requests for the same
// digest share one decode.
type ggufCache struct {
	mu      sync.Mutex
	max     int
	order   *list.List // of *ggufEntry, most recently used at the front
	entries map[string]*list.Element
}

// ggufEntry is one cached (or in-progress) decode.
type ggufEntry struct {
	digest string
	done   chan struct{}
	g      *ggml.GGML
	err    error
}

// newGGUFCache returns an empty cache holding at most max entries.
func newGGUFCache(max int) *ggufCache {
	return &ggufCache{max: max, order: list.New(), entries: make(map[string]*list.Element)}
}

// get returns the cached decode of digest, running decode once if it is not cached. Failures are
// not cached: the blob may be written later.
func (c *ggufCache) get(digest string, decode func() (*ggml.GGML, error)) (*ggml.GGML, error) {
	c.mu.Lock()
	if el, ok := c.entries[digest]; ok {
		c.order.MoveToFront(el)
		e := el.Value.(*ggufEntry)
		c.mu.Unlock()
		<-e.done
		return e.g, e.err
	}
	e := &ggufEntry{digest: digest, done: make(chan struct{})}
	c.entries[digest] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*ggufEntry).digest)
	}
	c.mu.Unlock()

	e.g, e.err = decode()
	close(e.done)
	if e.err != nil {
		c.forgetEntry(e)
	}
	return e.g, e.err
}

// forget drops a digest's entry, e.g. when its blob is deleted.
func (c *ggufCache) forget(digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[digest]; ok {
		c.order.Remove(el)
		delete(c.entries, digest)
	}
}

// forgetEntry drops e if it is still the entry for its digest.
func (c *ggufCache) forgetEntry(e *ggufEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.digest]; ok && el.Value.(*ggufEntry) == e {
		c.order.Remove(el)
		delete(c.entries, e.digest)
	}
}
