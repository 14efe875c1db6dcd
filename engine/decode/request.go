package decode

import "github.com/hearthlink/hearth/engine"

// Limits are what a GenerateRequest's options allow a sequence in a slot of a given context.
type Limits struct {
	// NumKeep is how many prompt tokens a truncation or context shift never drops.
	NumKeep int
	// NumPredict is the most tokens to generate.
	NumPredict int
}

// Fit applies req's limits to its tokenized prompt for a slot of numCtx tokens, as Ollama's runners do: an
// empty prompt is a request error; num_keep defaults to the whole prompt (a negative value) and stays
// below numCtx; a prompt longer than numCtx loses the tokens after num_keep that do not fit when
// req.Truncate allows, and is an engine.ErrInputTooLong otherwise; num_predict is unlimited when negative
// but never more than ten contexts, so a model that never stops still ends. bos counts one more kept token
// for the BOS the tokenizer put in front, as llama.cpp's runner does (Ollama's Go runner counts num_keep
// from the first input).
func Fit[T any](prompt []T, req engine.GenerateRequest, numCtx int, bos bool) ([]T, Limits, error) {
	if len(prompt) == 0 {
		return nil, Limits{}, &engine.RequestError{Msg: "no input provided"}
	}
	numKeep := req.Options.NumKeep
	if numKeep < 0 {
		numKeep = len(prompt)
	}
	if bos {
		numKeep++
	}
	numKeep = min(numKeep, numCtx-1)
	if len(prompt) > numCtx {
		if !req.Truncate {
			return nil, Limits{}, engine.ErrInputTooLong
		}
		discard := len(prompt) - numCtx
		prompt = append(prompt[:numKeep:numKeep], prompt[numKeep+discard:]...)
	}
	numPredict := req.Options.NumPredict
	if numPredict < 0 || numPredict > 10*numCtx {
		numPredict = 10 * numCtx
	}
	return prompt, Limits{NumKeep: numKeep, NumPredict: numPredict}, nil
}
