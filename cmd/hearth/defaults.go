package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/rs/zerolog"

	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// defaultNamespace is where the generated default models are registered: hearth/tiny-llama, ...
const defaultNamespace = "hearth/"

// registerDefaults makes sure every default generated model is in the store, generating the files if
// needed and importing them through the server's own /api/blobs and /api/create routes at baseURL, the
// same path `ollama create` takes. Models already in the store are left alone.
func registerDefaults(ctx context.Context, log zerolog.Logger, store *registry.Store, baseURL string) error {
	u, err := url.Parse(baseURL)
	if err != nil {
		return err
	}
	client := api.NewClient(u, http.DefaultClient)
	var errs []error
	for _, r := range models.Recipes() {
		if !r.Default {
			continue
		}
		name := defaultNamespace + r.Name
		if _, err := store.ReadManifest(name); err == nil {
			continue
		}
		start := time.Now()
		if err := importGenerated(ctx, client, r, name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		log.Info().Str("model", name).Dur("took", time.Since(start)).Msg("registered default model")
	}
	return errors.Join(errs...)
}

// importGenerated generates recipe r (or takes it from the cache) and creates model name from its files.
func importGenerated(ctx context.Context, client *api.Client, r models.Recipe, name string) error {
	path, err := models.Ensure(ctx, "", r.Name)
	if err != nil {
		return err
	}
	files := map[string]string{}
	if r.Format == models.FormatGGUF {
		d, err := uploadBlob(ctx, client, path)
		if err != nil {
			return err
		}
		files[filepath.Base(path)] = d
	} else {
		err := filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			d, err := uploadBlob(ctx, client, p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(path, p)
			files[filepath.ToSlash(rel)] = d
			return nil
		})
		if err != nil {
			return err
		}
	}
	stream := false
	return client.Create(ctx, &api.CreateRequest{Model: name, Files: files, Stream: &stream},
		func(api.ProgressResponse) error { return nil })
}

// uploadBlob hashes the file at path and uploads it to the server's blob store.
func uploadBlob(ctx context.Context, client *api.Client, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	if err := client.CreateBlob(ctx, digest, f); err != nil {
		return "", fmt.Errorf("uploading %s: %w", filepath.Base(path), err)
	}
	return digest, nil
}
