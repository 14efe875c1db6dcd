package llamaext

/*
#include <stdint.h>
struct llama_context;
uint32_t llama_n_ctx(const struct llama_context * ctx);
uint32_t llama_n_ctx_seq(const struct llama_context * ctx);
*/
import "C"

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/ollama/ollama/llama"
)

// kvUnifiedOffset is where llama_context_params.kv_unified lies inside a llama.ContextParams, found by
// name: ContextParams holds the C struct as its field 0, which cgo turns into a Go struct with the C field
// names. An Ollama version that renames or drops the field makes SetKVUnified fail instead of writing into
// the wrong field.
var kvUnifiedOffset, kvUnifiedErr = func() (uintptr, error) {
	t := reflect.TypeFor[llama.ContextParams]()
	if t.Kind() != reflect.Struct || t.NumField() != 1 || t.Field(0).Type.Kind() != reflect.Struct {
		return 0, fmt.Errorf("llama.ContextParams is not the struct holding the C llama_context_params it was in Ollama %s", OllamaVersion)
	}
	f, ok := t.Field(0).Type.FieldByName("kv_unified")
	if !ok || f.Type.Kind() != reflect.Bool {
		return 0, fmt.Errorf("llama_context_params has no bool kv_unified (Ollama %s had one)", OllamaVersion)
	}
	return t.Field(0).Offset + f.Offset, nil
}()

// SetKVUnified sets llama_context_params.kv_unified, which the llama package's NewContextParams leaves at
// llama.cpp's default (false). With it on, every sequence of the context keeps its KV cells in one pool of
// n_ctx cells (llama.cpp's unified KV cache): one sequence may use all of them, concurrent ones share them,
// and copying a prefix between sequences shares its cells instead of copying data. Off, each of n_seq_max
// sequences gets a stream of n_ctx/n_seq_max cells of its own.
func SetKVUnified(p *llama.ContextParams, on bool) error {
	if kvUnifiedErr != nil {
		return kvUnifiedErr
	}
	*(*bool)(unsafe.Add(unsafe.Pointer(p), kvUnifiedOffset)) = on
	return nil
}

// ContextCells is the context's n_ctx, the KV cells of all its sequences together (llama.cpp rounds the
// requested size up to a multiple of 256), and SequenceCells its n_ctx_seq, the most one sequence may use:
// equal to ContextCells with a unified KV cache.
func ContextCells(c *llama.Context) (cells, sequenceCells int) {
	p := cContext(c)
	return int(C.llama_n_ctx(p)), int(C.llama_n_ctx_seq(p))
}
