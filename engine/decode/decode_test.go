package decode

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/engine"
)

func TestFitAppliesTheRequestLimits(t *testing.T) {
	prompt := []int{1, 2, 3, 4, 5, 6, 7, 8}
	request := func(numKeep, numPredict int, truncate bool) engine.GenerateRequest {
		o := api.DefaultOptions()
		o.NumKeep, o.NumPredict = numKeep, numPredict
		return engine.GenerateRequest{Options: o, Truncate: truncate}
	}
	for _, tc := range []struct {
		name   string
		req    engine.GenerateRequest
		numCtx int
		bos    bool
		want   []int
		limits Limits
	}{
		{"fits", request(2, 10, false), 16, false, prompt, Limits{NumKeep: 2, NumPredict: 10}},
		{"truncated after num_keep", request(2, 10, true), 5, false, []int{1, 2, 6, 7, 8}, Limits{NumKeep: 2, NumPredict: 10}},
		{"BOS kept beside num_keep", request(2, 10, true), 5, true, []int{1, 2, 3, 7, 8}, Limits{NumKeep: 3, NumPredict: 10}},
		{"num_keep below the context", request(-1, 10, true), 5, false, []int{1, 2, 3, 4, 8}, Limits{NumKeep: 4, NumPredict: 10}},
		{"unlimited num_predict is ten contexts", request(0, -1, false), 16, false, prompt, Limits{NumKeep: 0, NumPredict: 160}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, limits, err := Fit(slices.Clone(prompt), tc.req, tc.numCtx, tc.bos)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) || limits != tc.limits {
				t.Errorf("Fit = %v %+v, want %v %+v", got, limits, tc.want, tc.limits)
			}
		})
	}
	if _, _, err := Fit(prompt, request(0, 1, false), 4, false); !errors.Is(err, engine.ErrInputTooLong) {
		t.Errorf("too long without truncate: %v, want ErrInputTooLong", err)
	}
	var reqErr *engine.RequestError
	if _, _, err := Fit([]int{}, request(0, 1, false), 4, false); !errors.As(err, &reqErr) {
		t.Errorf("empty prompt: %v, want a RequestError", err)
	}
}

func TestLogprobTopAlternatives(t *testing.T) {
	logits := []float32{1, 3, 2, 0}
	pieces := []string{"a", "b", "é", "d"}
	lp := Logprob(logits, 2, 2, func(id int) string { return pieces[id] })
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l))
	}
	if want := 2 - math.Log(sum); math.Abs(lp.Logprob-want) > 1e-9 || lp.Token != "é" || !slices.Equal(lp.Bytes, []int{0xc3, 0xa9}) {
		t.Errorf("chosen %+v, want é at %v with its two bytes", lp.TokenLogprob, want)
	}
	if len(lp.TopLogprobs) != 2 || lp.TopLogprobs[0].Token != "b" || lp.TopLogprobs[1].Token != "é" {
		t.Errorf("top %+v, want b then é", lp.TopLogprobs)
	}
}
