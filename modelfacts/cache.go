package modelfacts

import (
	"sync"

	"github.com/hearthlink/hearth/registry"
)

// cacheEntries bounds the cache; when full it starts over. An entry is a parsed template and the scalar
// keys of a GGUF header: a few KiB to a few hundred.
const cacheEntries = 128

// Cache computes each model's facts once per manifest digest. It is the one cache of these facts: a
// manifest digest names the manifest's content and the blobs it lists are content-addressed, so an entry
// never goes stale. Facts that could not read the model's files are not kept (the files may be written
// later), nor are those of a model without a digest (one built by hand, not read from a store).
type Cache struct {
	gguf GGUFReader

	mu      sync.Mutex
	entries map[string]*Facts
}

// NewCache returns a Cache that reads GGUF metadata through gguf: the store, with its header cache (nil
// reads each model's file).
func NewCache(gguf GGUFReader) *Cache {
	return &Cache{gguf: gguf, entries: map[string]*Facts{}}
}

// Of returns m's facts. The error is a *registry.CorruptManifestError when the model's template does not
// parse; files that cannot be read are reported in Facts.FilesErr instead.
func (c *Cache) Of(m *registry.Model) (*Facts, error) {
	if m.Digest != "" {
		c.mu.Lock()
		f := c.entries[m.Digest]
		c.mu.Unlock()
		if f != nil {
			return f, nil
		}
	}
	f, err := compute(m, c.gguf)
	if err != nil || m.Digest == "" || f.FilesErr != nil {
		return f, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= cacheEntries {
		c.entries = map[string]*Facts{}
	}
	c.entries[m.Digest] = f
	return f, nil
}
