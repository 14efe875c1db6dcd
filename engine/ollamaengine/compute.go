package ollamaengine

import (
	"fmt"
	"sync"

	"github.com/ollama/ollama/ml"

	"github.com/hearthlink/hearth/internal/llamaext"
)

// computeMu serialises every graph computation of the Go engine in this process. ml/backend/ggml creates
// one CPU backend per process and every model it loads shares it — its thread pool and its scratch buffer
// — so two models computing at once corrupt each other's results (seen in 22-94 of 100 rounds without the
// lock, 0 with it). llama.cpp contexts have CPU backends of their own and need no part of it.
var computeMu sync.Mutex

// compute runs the graph that ends in out and returns its values (nil when it has none: a batch of prompt
// chunks that samples nothing). The engine panics on failure (a ggml
// status other than success, an allocation that does not fit); compute returns that as an error. A
// GGML_ASSERT in C still aborts the process. It computes on b's CPU backend with threads threads.
func compute(ctx ml.Context, out ml.Tensor, b ml.Backend, threads int) (logits []float32, err error) {
	computeMu.Lock()
	defer computeMu.Unlock()
	if err := llamaext.BackendThreads(b, threads); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the Go engine failed: %v", p)
		}
	}()
	ctx.Compute(out)
	if out.Dim(0)*out.Dim(1) == 0 {
		return nil, nil
	}
	return out.Floats(), nil
}
