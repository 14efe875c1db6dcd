// Package handlers is hearth's HTTP layer: it decodes and validates requests, calls the engine or the
// model store, and encodes or streams their answers with Ollama's exact wire behaviour (field names,
// defaults, NDJSON streaming, error shapes, status codes). It holds no inference logic and knows nothing
// of the store's file layout. One file per route family; one file per middleware.
package handlers
