package ollamaengine

import (
	"fmt"

	"github.com/ollama/ollama/model/input"

	"github.com/hearthlink/hearth/engine"
)

// Inputs that must share a forward pass: a model marks the first of a group with input.SameBatch, the
// number of inputs after it that go with it (an image's positions, which attend to each other). The batch
// layout, the prefix cache and truncation keep such groups whole, as Ollama's runner does.

// chunkSize is how many of pending's inputs go into a batch with room for room more, as Ollama's runner
// decides: as many as fit, never splitting a group of inputs that must share a batch (input.SameBatch: an
// image's positions). A group that does not fit waits for the next step, except when it opens the step's
// prompt chunks (first): then it goes in whole and the batch grows past num_batch for it, so a group
// larger than a batch still runs.
func chunkSize(pending []*input.Input, room int, first bool) int {
	end := 0 // the inputs before end must share the batch with those already taken
	for i, inp := range pending {
		end = max(end, i+1+inp.SameBatch)
		if end > room {
			if i == 0 && first {
				return min(end, len(pending))
			}
			return i
		}
	}
	return len(pending)
}

// groupStart is the first input of the SameBatch group inside which position n of inputs falls, or n
// when no group spans it: a cached prefix that ends inside an image is evaluated again from the image's
// start, since an image's positions must go into one batch.
func groupStart(inputs []*input.Input, n int) int {
	for i := 0; i < n && i < len(inputs); i++ {
		if end := i + 1 + inputs[i].SameBatch; inputs[i].SameBatch > 0 && n < end {
			return i
		}
	}
	return n
}

// fit is decode.Fit for inputs with groups that must share a batch: truncation drops whole groups, as
// Ollama's runner does, and a group inside num_keep is an error (Ollama's runner answers it with a 500;
// the request is what has to change).
func fit(inputs []*input.Input, numKeep, numCtx int) ([]*input.Input, error) {
	discard := len(inputs) - numCtx
	start := numKeep + discard
	inGroup := 0
	for i, inp := range inputs {
		if inGroup > 0 {
			inGroup--
			if start == i {
				start++
			}
		} else if start == i {
			break
		}
		if inp.SameBatch != 0 {
			if i < numKeep {
				return nil, &engine.RequestError{Msg: fmt.Sprintf("the input length exceeds the context length: num_keep (%d) keeps part of an image, which truncation cannot cut", numKeep)}
			}
			inGroup = inp.SameBatch
		}
	}
	if start >= len(inputs) {
		return nil, &engine.RequestError{Msg: "entire prompt removed by truncation"}
	}
	return append(inputs[:numKeep:numKeep], inputs[start:]...), nil
}
