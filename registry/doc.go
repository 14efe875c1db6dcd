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
// Models get into a store by [Store.Create] (from uploaded GGUF files, an ONNX model folder or another
// model, as POST /api/create builds them) and by [Store.Pull] from an OCI distribution registry
// (registry.ollama.ai, a standard distribution server, or another hearth serving its store through
// [Store.RegistryManifest]); [Store.Push] uploads them. Transfers speak the distribution protocol
// with Ollama's conventions: parallel ranged downloads that resume from blobs/sha256-<hex>-partial,
// chunked uploads, bearer-token auth signed with the Ollama key; progress flows out through a
// callback carrying Ollama's progress objects.
//
// The package knows nothing of hearth's HTTP API or of inference: handlers turn its typed errors into
// status codes, and the engine loads the paths that [Store.Resolve] hands back. [Capabilities] is
// shared by both: it decides what a model can do from its metadata, exactly as Ollama does.
package registry
