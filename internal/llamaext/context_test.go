package llamaext

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"
)

// TestSetKVUnifiedWritesOneFlag checks that SetKVUnified finds kv_unified in llama.ContextParams and
// changes that byte alone. That llama.cpp then makes one pool of cells is checked in engine/llama
// (TestOneSequenceUsesTheWholePool).
func TestSetKVUnifiedWritesOneFlag(t *testing.T) {
	p := llama.NewContextParams(512, 512, 4, 1, ml.FlashAttentionAuto, "")
	raw := func() []byte { return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&p)), unsafe.Sizeof(p))) }
	before := raw()
	if err := SetKVUnified(&p, true); err != nil {
		t.Fatal(err)
	}
	after := raw()
	for i := range before {
		changed := before[i] != after[i]
		if i == int(kvUnifiedOffset) {
			if before[i] != 0 || after[i] != 1 {
				t.Errorf("kv_unified went from %d to %d, want 0 (llama.cpp's default) to 1", before[i], after[i])
			}
		} else if changed {
			t.Errorf("byte %d changed too", i)
		}
	}
	if err := SetKVUnified(&p, false); err != nil || !bytes.Equal(raw(), before) {
		t.Errorf("turning it off again did not restore the parameters (%v)", err)
	}
}
