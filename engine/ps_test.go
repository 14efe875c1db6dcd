package engine

import (
	"testing"
	"time"

	"github.com/ollama/ollama/types/model"
)

// TestLoadedDetailsAsOllama checks /api/ps's details against Ollama's: the config's format, family and
// sizes, and no parent_model (Ollama's ps never fills it in; /api/show does), whatever the model was
// created from.
func TestLoadedDetailsAsOllama(t *testing.T) {
	s, _ := newTestScheduler(t, newFakeBackend(false), nil)
	m := testModel("a")
	m.ParentModel = "/models/blobs/sha256-0123"
	m.Config = model.ConfigV2{ModelFormat: "gguf", ModelFamily: "llama", ModelType: "4.49M", FileType: "Q8_0"}
	mustAcquire(t, s, m, cfgA, time.Minute).Release()
	ps := s.Loaded()
	if len(ps) != 1 {
		t.Fatalf("Loaded listed %d models, want 1", len(ps))
	}
	d := ps[0].Details
	if d.ParentModel != "" {
		t.Errorf("parent_model %q, want it empty as Ollama's /api/ps has it", d.ParentModel)
	}
	if d.Format != "gguf" || d.Family != "llama" || d.ParameterSize != "4.49M" || d.QuantizationLevel != "Q8_0" {
		t.Errorf("details %+v, want the config's format, family, parameter size and quantization", d)
	}
}

// TestLoadedSizeIsWhatTheRunnerHoldsResident checks /api/ps's size: what the runner reports resident once
// it is loaded, and the estimate made before loading where the runner cannot tell (0).
func TestLoadedSizeIsWhatTheRunnerHoldsResident(t *testing.T) {
	for _, tc := range []struct {
		resident, want int64
	}{{123 << 20, 123 << 20}, {0, 1000 << 20}} {
		b := newFakeBackend(false)
		b.size["a"], b.resident = 1000<<20, tc.resident
		s, _ := newTestScheduler(t, b, nil)
		mustAcquire(t, s, testModel("a"), cfgA, time.Minute).Release()
		ps := s.Loaded()
		if len(ps) != 1 || ps[0].Size != tc.want {
			t.Errorf("runner resident %d: /api/ps %+v, want one model of size %d", tc.resident, ps, tc.want)
		}
	}
}
