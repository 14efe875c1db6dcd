package decode

import (
	"container/heap"
	"math"

	"github.com/ollama/ollama/api"
)

// Logprob turns a token's logits into the log probability of the chosen token and of the topK most likely
// ones, each with its text and raw bytes, as Ollama reports them.
func Logprob(logits []float32, chosen, topK int, piece func(int) string) api.Logprob {
	maxLogit := logits[0]
	for _, l := range logits[1:] {
		maxLogit = max(maxLogit, l)
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l - maxLogit))
	}
	logSum := math.Log(sum)
	lp := func(id int) float64 { return float64(logits[id]-maxLogit) - logSum }

	out := api.Logprob{TokenLogprob: TokenLogprob(piece(chosen), lp(chosen))}
	if topK <= 0 {
		return out
	}
	// A min-heap of the best topK keeps this O(vocab log k) rather than sorting the vocabulary.
	h := &topHeap{}
	for id, l := range logits {
		if h.Len() < topK {
			heap.Push(h, scored{id, l})
		} else if l > (*h)[0].logit {
			(*h)[0] = scored{id, l}
			heap.Fix(h, 0)
		}
	}
	top := make([]api.TokenLogprob, h.Len())
	for i := len(top) - 1; i >= 0; i-- {
		s := heap.Pop(h).(scored)
		top[i] = TokenLogprob(piece(s.id), lp(s.id))
	}
	out.TopLogprobs = top
	return out
}

// TokenLogprob is one entry of the API's logprobs: the token's text, its log probability and its raw bytes
// (which clients join when a character spans tokens).
func TokenLogprob(text string, logprob float64) api.TokenLogprob {
	var b []int
	if text != "" {
		b = make([]int, len(text))
		for i := range len(text) {
			b[i] = int(text[i])
		}
	}
	return api.TokenLogprob{Token: text, Logprob: logprob, Bytes: b}
}

// scored is a token and its logit.
type scored struct {
	id    int
	logit float32
}

// topHeap is a min-heap by logit.
type topHeap []scored

func (h topHeap) Len() int           { return len(h) }
func (h topHeap) Less(i, j int) bool { return h[i].logit < h[j].logit }
func (h topHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *topHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
