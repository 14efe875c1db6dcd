package registry

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ollama/ollama/types/model"
)

// ParseName parses a model name the way Ollama does, filling in the default host
// (registry.ollama.ai), namespace (library) and tag (latest), and rejects names that break Ollama's
// rules with an *InvalidNameError. Because every part must start with a letter, digit or underscore
// and may not contain '/' or '\', a valid name cannot climb out of manifests/ ("../x", "/x", "a\b" are
// all invalid).
func ParseName(s string) (model.Name, error) {
	n := model.ParseName(s)
	if !n.IsValid() {
		return model.Name{}, &InvalidNameError{Name: s}
	}
	return n, nil
}

// canonical returns n spelled the way the store already spells it: each part, from host down to
// tag, takes the casing of an existing directory (or manifest file) that matches it
// case-insensitively, an exact match first. Parts with no existing match keep the caller's casing.
// This is how "Llama3.2" finds "llama3.2", and how a case-insensitive file system and a
// case-sensitive one end up agreeing.
func (s *Store) canonical(n model.Name) model.Name {
	dir := s.manifestsDir()
	parts := []*string{&n.Host, &n.Namespace, &n.Model, &n.Tag}
	for i, p := range parts {
		entries, err := os.ReadDir(dir)
		if err != nil {
			break
		}
		match := ""
		for _, e := range entries {
			if isDir(e, filepath.Join(dir, e.Name())) != (i < len(parts)-1) {
				continue
			}
			if e.Name() == *p {
				match = e.Name()
				break
			}
			if match == "" && strings.EqualFold(e.Name(), *p) {
				match = e.Name()
			}
		}
		if match == "" {
			break
		}
		*p = match
		dir = filepath.Join(dir, match)
	}
	return n
}

// lookup parses a caller's name and finds it in the store, answering *InvalidNameError or
// *NotFoundError in the caller's own words.
func (s *Store) lookup(field, name string) (model.Name, string, error) {
	n, err := ParseName(name)
	if err != nil {
		return model.Name{}, "", &InvalidNameError{Field: field, Name: name}
	}
	n = s.canonical(n)
	p := s.manifestPath(n)
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist), err == nil && !fi.Mode().IsRegular():
		return model.Name{}, "", &NotFoundError{Name: name}
	case err != nil:
		return model.Name{}, "", err
	}
	return n, p, nil
}
