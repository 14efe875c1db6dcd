package registry

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// ModelSummary is one entry of List: what /api/tags reports about a model.
type ModelSummary struct {
	// Name is the model's name in the store's casing; Name.DisplayShortest() is what /api/tags shows.
	Name model.Name
	// ModifiedAt is the manifest file's modification time.
	ModifiedAt time.Time
	// Size is the sum of the config and layer sizes, in bytes.
	Size int64
	// Digest is the hex SHA-256 of the manifest file, without a sha256: prefix.
	Digest string
	// Config is the decoded config blob (zero when the manifest has none).
	Config model.ConfigV2
}

// Details returns the model's details as /api/tags reports them, taken from the config blob.
func (m *ModelSummary) Details() api.ModelDetails { return details(m.Config, "") }

// details is a model's details as /api/tags, /api/show and /api/ps report them: its config blob's
// format, family and sizes, and the model it was made from.
func details(cfg model.ConfigV2, parent string) api.ModelDetails {
	return api.ModelDetails{
		ParentModel:       parent,
		Format:            cfg.ModelFormat,
		Family:            cfg.ModelFamily,
		Families:          cfg.ModelFamilies,
		ParameterSize:     cfg.ModelType,
		QuantizationLevel: cfg.FileType,
	}
}

// List returns every model in the store, most recently modified first (then by name). As in Ollama,
// manifests that do not decode and models whose config blob is missing or unreadable are skipped
// with a warning rather than failing the whole listing; layer blobs are not checked here.
func (s *Store) List() ([]ModelSummary, error) {
	names, err := s.manifestNames()
	if err != nil {
		return nil, err
	}
	models := make([]ModelSummary, 0, len(names))
	for _, n := range names {
		mf, err := s.readManifestFile(n)
		if err != nil {
			s.log.Warn("skipping bad manifest", "name", n.String(), "error", err)
			continue
		}
		sum := ModelSummary{Name: n, ModifiedAt: mf.ModifiedAt, Size: mf.Manifest.Size(), Digest: mf.Digest}
		if d := mf.Manifest.Config.Digest; d != "" {
			if err := s.readConfig(d, &sum.Config); err != nil {
				s.log.Warn("skipping model with a bad config", "name", n.String(), "error", err)
				continue
			}
		}
		models = append(models, sum)
	}
	slices.SortFunc(models, func(a, b ModelSummary) int {
		return cmp.Or(b.ModifiedAt.Compare(a.ModifiedAt), cmp.Compare(a.Name.String(), b.Name.String()))
	})
	return models, nil
}

// readConfig decodes a config blob. Blobs are content-addressed, so a decoded config is kept by
// digest: /api/tags and /api/show then read only the manifests.
func (s *Store) readConfig(digest string, cfg *model.ConfigV2) error {
	if c, ok := s.configs.Load(digest); ok {
		*cfg = cloneConfig(c.(model.ConfigV2))
		return nil
	}
	f, err := s.OpenBlob(digest)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := json.NewDecoder(f).Decode(cfg); err != nil {
		return err
	}
	s.configs.Store(digest, cloneConfig(*cfg))
	return nil
}

// cloneConfig copies a config's slices, so that a caller's changes never reach the cache.
func cloneConfig(c model.ConfigV2) model.ConfigV2 {
	c.ModelFamilies = slices.Clone(c.ModelFamilies)
	c.Capabilities = slices.Clone(c.Capabilities)
	c.RootFS.DiffIDs = slices.Clone(c.RootFS.DiffIDs)
	return c
}

// manifestNames returns the name of every file four levels below manifests/
// (host/namespace/model/tag) whose path is a valid model name. Other files (temporary files,
// .DS_Store, stray notes) are not manifests and are ignored, as Ollama ignores them.
func (s *Store) manifestNames() ([]model.Name, error) {
	var names []model.Name
	var walk func(dir string, parts []string) error
	walk = func(dir string, parts []string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if len(parts) > 0 && os.IsNotExist(err) {
				return nil // removed while we walked
			}
			return err
		}
		for _, e := range entries {
			p := append(slices.Clone(parts), e.Name())
			full := filepath.Join(dir, e.Name())
			if len(p) < 4 {
				if isDir(e, full) {
					if err := walk(full, p); err != nil {
						return err
					}
				}
				continue
			}
			if fi, err := os.Stat(full); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			n := model.ParseNameFromFilepath(filepath.Join(p...))
			if n.IsValid() {
				names = append(names, n)
			}
		}
		return nil
	}
	if err := walk(s.manifestsDir(), nil); err != nil {
		return nil, err
	}
	return names, nil
}

// isDir reports whether a directory entry is a folder, following a symbolic link as Ollama's
// filepath.Glob walk does.
func isDir(e os.DirEntry, full string) bool {
	if e.Type()&os.ModeSymlink == 0 {
		return e.IsDir()
	}
	fi, err := os.Stat(full)
	return err == nil && fi.IsDir()
}
