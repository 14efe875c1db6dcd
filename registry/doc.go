// Package registry is hearth's content-addressed model store, laid out exactly as Ollama lays out
// OLLAMA_MODELS so that an existing ~/.ollama/models works unchanged and a store written by hearth
// works in Ollama.
//
// A store has two trees under its root. blobs/ holds every piece of content once, in a file named
// after its SHA-256 (blobs/sha256-<hex>). manifests/<host>/<namespace>/<model>/<tag> holds one
// Docker-style JSON manifest per model name, listing the config blob and the layer blobs (weights,
// template, system prompt, parameters, ...) by digest and media type. Every write goes to a temporary
// file, is fsynced, verified and only then renamed into place, so a reader never sees a half-written
// blob or manifest and a crash leaves at most a temporary file that [Store.Prune] removes.
//
// The package knows nothing of HTTP or inference: handlers turn its typed errors into status codes,
// and the engine loads the paths that [Store.Resolve] hands back.
package registry
