package onnx

import "math"

// meanPool averages the first length token vectors of row (the unmasked ones; padding is on the right)
// of a [rows, tokens, hidden] output. Sums are kept in float64 so the result does not depend on how
// much padding the batch added.
func meanPool(out []float32, tokens, hidden, row, length int) []float32 {
	sum := make([]float64, hidden)
	base := row * tokens * hidden
	for t := range length {
		v := out[base+t*hidden : base+(t+1)*hidden]
		for i, x := range v {
			sum[i] += float64(x)
		}
	}
	vec := make([]float32, hidden)
	for i, s := range sum {
		vec[i] = float32(s / float64(max(length, 1)))
	}
	return vec
}

// clsPool returns the first token's vector of row in a [rows, tokens, hidden] output.
func clsPool(out []float32, tokens, hidden, row int) []float32 {
	base := row * tokens * hidden
	return append([]float32(nil), out[base:base+hidden]...)
}

// Normalize scales v to unit L2 norm in place and returns it; a zero vector is left as it is.
func Normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return v
	}
	inv := 1 / math.Sqrt(sum)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return v
}

// softmax turns logits into probabilities that sum to 1.
func softmax(logits []float32) []float32 {
	hi := math.Inf(-1)
	for _, x := range logits {
		hi = max(hi, float64(x))
	}
	var sum float64
	exp := make([]float64, len(logits))
	for i, x := range logits {
		exp[i] = math.Exp(float64(x) - hi)
		sum += exp[i]
	}
	out := make([]float32, len(logits))
	for i, e := range exp {
		out[i] = float32(e / sum)
	}
	return out
}

// sigmoid maps a logit to a probability.
func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// finite reports whether every element of v is a real number.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
