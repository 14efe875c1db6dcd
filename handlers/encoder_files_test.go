package handlers_test

import (
	"context"
	"os"
	"path/filepath"

	"github.com/hearthlink/hearth/models"
)

// modelsEnsure returns a generated model's path.
func modelsEnsure(name string) (string, error) { return models.Ensure(context.Background(), "", name) }

// writeFiles writes each name → content into dir.
func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copyExcept copies the files of src into dst, leaving out the names in skip.
func copyExcept(src, dst string, skip ...string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
next:
	for _, e := range entries {
		for _, s := range skip {
			if e.Name() == s {
				continue next
			}
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
