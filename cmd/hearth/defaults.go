package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ollama/ollama/api"

	hearthapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/registry"
)

// defaultNamespace is where the generated default models are registered: hearth/tiny-llama, ...
const defaultNamespace = "hearth/"

// registerDefaults makes sure every default generated model is in the store, generating the files if
// needed and importing them through the server's own /api/blobs and /api/create routes at baseURL, the
// same path `ollama create` takes. Models already in the store are left alone.
func registerDefaults(ctx context.Context, log *slog.Logger, store *registry.Store, baseURL string) error {
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
		log.Info("registered default model", "model", name, "took", time.Since(start))
	}
	return errors.Join(errs...)
}

// importGenerated generates recipe r (or takes it from the cache) and creates model name from its files.
func importGenerated(ctx context.Context, client *api.Client, r models.Recipe, name string) error {
	path, err := models.Ensure(ctx, "", r.Name)
	if err != nil {
		return err
	}
	return hearthapi.CreateFromPath(ctx, client, name, path)
}
