package engine

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestInputs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want []string
		bad  bool
	}{
		{name: "absent", in: nil, want: nil},
		{name: "empty string", in: "", want: nil},
		{name: "string", in: "hello", want: []string{"hello"}},
		{name: "array", in: []any{"a", "", "b"}, want: []string{"a", "", "b"}},
		{name: "empty array", in: []any{}, want: []string{}},
		{name: "number in array", in: []any{"a", 1.0}, bad: true},
		{name: "null in array", in: []any{nil}, bad: true},
		{name: "number", in: 3.0, bad: true},
		{name: "object", in: map[string]any{"a": "b"}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Inputs(tc.in)
			if tc.bad {
				if !errors.Is(err, ErrBadRequest) || err.Error() != "invalid input type" {
					t.Errorf("error %v, want 400 invalid input type", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	v, err := normalize([]float32{3, 4})
	if err != nil || math.Abs(float64(v[0])-0.6) > 1e-7 || math.Abs(float64(v[1])-0.8) > 1e-7 {
		t.Errorf("normalize(3, 4) = %v, %v", v, err)
	}
	if z, err := normalize([]float32{0, 0}); err != nil || z[0] != 0 {
		t.Errorf("zero vector: %v, %v", z, err)
	}
	if _, err := normalize([]float32{1, float32(math.NaN())}); err == nil || err.Error() != "embedding contains NaN or Inf values" {
		t.Errorf("NaN: %v", err)
	}
}

func TestCapabilityError(t *testing.T) {
	err := named(&CapabilityError{Capability: CapabilityRerank}, "m")
	if err.Error() != `"m" does not support rerank` || !errors.Is(err, ErrBadRequest) {
		t.Errorf("%v", err)
	}
	if (&CapabilityError{Capability: CapabilityEmbedding}).Error() != "model does not support embedding" {
		t.Error("unnamed capability error")
	}
}

func TestWiden(t *testing.T) {
	if got := widen(float32(0.3538841)); got != 0.3538841 {
		t.Errorf("widen = %v", got)
	}
}
