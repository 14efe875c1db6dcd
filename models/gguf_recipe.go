package models

import "context"

// ggufBuilder writes one GGUF model for any seed; a recipe fixes the seed, tests vary it.
type ggufBuilder interface {
	write(ctx context.Context, dst string, seed int64) error
}

// ggufBuilders holds the builder behind each GGUF recipe, by recipe name.
var ggufBuilders = map[string]ggufBuilder{}

// registerGGUF registers a GGUF recipe whose Generate runs b with the recipe's seed.
func registerGGUF(r Recipe, b ggufBuilder) {
	seed := r.Seed
	r.Format = FormatGGUF
	r.Generate = func(ctx context.Context, dst string) error { return b.write(ctx, dst, seed) }
	ggufBuilders[r.Name] = b
	register(r)
}
