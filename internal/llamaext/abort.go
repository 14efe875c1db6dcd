package llamaext

/*
#include <stdbool.h>
#include <stdlib.h>

struct llama_context;
typedef bool (*hearth_abort_callback)(void * data);
void llama_set_abort_callback(struct llama_context * ctx, hearth_abort_callback abort_callback, void * abort_callback_data);

// hearth_abort_requested is llama.cpp's abort callback: ggml's CPU backend calls it between graph nodes
// and stops the computation when it returns true. data is the Abort's flag, set from Go.
static bool hearth_abort_requested(void * data) {
	return __atomic_load_n((int *) data, __ATOMIC_RELAXED) != 0;
}

static void hearth_set_abort(struct llama_context * ctx, int * flag) {
	llama_set_abort_callback(ctx, hearth_abort_requested, flag);
}
*/
import "C"

import (
	"sync/atomic"
	"unsafe"

	"github.com/ollama/ollama/llama"
)

// Abort stops a llama context's llama_decode in flight: once Request is called, the CPU backend stops
// before its next graph node and llama_decode returns 2 (llama.Context.Decode then reports
// ErrKvCacheFull; Requested tells the two apart). The ubatches already evaluated stay in the KV cache.
type Abort struct {
	flag *C.int // in C memory: the callback reads it while Go may move its own
}

// NewAbort installs an Abort on c. Free it after c is freed.
func NewAbort(c *llama.Context) *Abort {
	a := &Abort{flag: (*C.int)(C.calloc(1, C.size_t(unsafe.Sizeof(C.int(0)))))}
	C.hearth_set_abort(cContext(c), a.flag)
	return a
}

func (a *Abort) word() *int32 { return (*int32)(unsafe.Pointer(a.flag)) }

// Request asks the decode in flight (or the next one) to stop. Safe from any goroutine.
func (a *Abort) Request() { atomic.StoreInt32(a.word(), 1) }

// Requested reports whether Request was called since the last Reset.
func (a *Abort) Requested() bool { return atomic.LoadInt32(a.word()) != 0 }

// Reset clears the request, before the next decode.
func (a *Abort) Reset() { atomic.StoreInt32(a.word(), 0) }

// Free releases the flag; the context it was installed on must be freed already.
func (a *Abort) Free() {
	if a != nil && a.flag != nil {
		C.free(unsafe.Pointer(a.flag))
		a.flag = nil
	}
}
