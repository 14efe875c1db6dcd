package hfmodels

import (
	"os"
	"slices"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

// TestTinyOlmo3 converts the olmo3 checkpoint with Ollama's converter and checks what Ollama's Go engine
// reads from the result: the architecture, the sliding-window layout, the cut GPT-2 vocabulary with its
// special tokens, and the tied output projection.
func TestTinyOlmo3(t *testing.T) {
	path, err := Ensure(t.Context(), t.TempDir(), "tiny-olmo3")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatal(err)
	}
	kv := g.KV()
	if a := kv.Architecture(); a != "olmo3" {
		t.Fatalf("architecture %q, want olmo3", a)
	}
	if !kv.OllamaEngineRequired() {
		t.Error("Ollama does not route the file to its Go engine")
	}
	if got := kv.Bools("attention.sliding_window_pattern"); !slices.Equal(got, []bool{true, true, true, false}) {
		t.Errorf("sliding window pattern %v", got)
	}
	tokens := kv.Strings("tokenizer.ggml.tokens")
	if len(tokens) != 2051 || tokens[2048] != "<|endoftext|>" || tokens[2050] != "<|im_end|>" {
		t.Errorf("vocabulary of %d tokens, specials %q", len(tokens), tokens[2048:])
	}
	if eos := kv.Uint("tokenizer.ggml.eos_token_id"); eos != 2048 {
		t.Errorf("eos %d, want 2048", eos)
	}
	if ids := kv.Ints("tokenizer.ggml.eos_token_ids"); !slices.Equal(ids, []int32{2048, 2050}) {
		t.Errorf("eos ids %v", ids)
	}
	for _, tt := range g.Tensors().Items() {
		if tt.Name == "output.weight" {
			t.Error("output.weight present; the recipe ties it to token_embd")
		}
	}
}

// TestTinyGemma3 converts the Gemma 3 text checkpoint and checks the keys both engines read.
func TestTinyGemma3(t *testing.T) {
	path, err := Ensure(t.Context(), t.TempDir(), "tiny-gemma3")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatal(err)
	}
	kv := g.KV()
	if kv.Architecture() != "gemma3" || kv.Float("attention.layer_norm_rms_epsilon") != 1e-6 || kv.Uint("attention.key_length") != 32 {
		t.Errorf("architecture %q, eps %v, key length %d", kv.Architecture(), kv.Float("attention.layer_norm_rms_epsilon"), kv.Uint("attention.key_length"))
	}
	if got := kv.Bools("attention.sliding_window_pattern"); !slices.Equal(got, []bool{true, true, true, true, true, false}) {
		t.Errorf("sliding window pattern %v", got)
	}
	for _, tt := range g.Tensors().Items() {
		if tt.Name == "blk.0.attn_norm.weight" && tt.Kind != uint32(ggml.TensorTypeF32) {
			t.Errorf("%s is %d, want F32", tt.Name, tt.Kind)
		}
	}
}

// convertedGGUF generates recipe name (in the shared cache, where the compat tests find it: gpt-oss's and
// DeepSeek-V3's real vocabularies take seconds to convert) and decodes the GGUF Ollama's converter wrote.
func convertedGGUF(t *testing.T, name string) *ggml.GGML {
	t.Helper()
	path, err := Ensure(t.Context(), "", name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// tensorKinds maps each tensor of g to its GGML type.
func tensorKinds(g *ggml.GGML) map[string]uint32 {
	kinds := map[string]uint32{}
	for _, tt := range g.Tensors().Items() {
		kinds[tt.Name] = tt.Kind
	}
	return kinds
}

// TestTinyGptOss converts the gpt-oss checkpoint and checks what Ollama's gpt-oss model reads: the
// architecture and its Go-engine routing, the o200k_harmony vocabulary with the harmony special tokens at
// their ids, the end tokens, and the experts kept MXFP4 and split from gate_up into gate and up.
func TestTinyGptOss(t *testing.T) {
	g := convertedGGUF(t, "tiny-gptoss")
	kv := g.KV()
	if a := kv.Architecture(); a != "gptoss" || !kv.OllamaEngineRequired() {
		t.Fatalf("architecture %q (Go engine %v), want gptoss", a, kv.OllamaEngineRequired())
	}
	if kv.Uint("expert_count") != 4 || kv.Uint("expert_used_count") != 2 || kv.Uint("attention.sliding_window") != 128 {
		t.Errorf("experts %d used %d, window %d", kv.Uint("expert_count"), kv.Uint("expert_used_count"), kv.Uint("attention.sliding_window"))
	}
	tokens := kv.Strings("tokenizer.ggml.tokens")
	for id, want := range map[int]string{199998: "<|startoftext|>", 200002: "<|return|>", 200005: "<|channel|>",
		200006: "<|start|>", 200007: "<|end|>", 200008: "<|message|>", 200012: "<|call|>"} {
		if len(tokens) != 201088 || tokens[id] != want {
			t.Fatalf("vocabulary of %d tokens, token %d not %q", len(tokens), id, want)
		}
	}
	if ids := kv.Ints("tokenizer.ggml.eos_token_ids"); !slices.Equal(ids, []int32{199999, 200002, 200012}) {
		t.Errorf("eos ids %v", ids)
	}
	kinds := tensorKinds(g)
	for _, name := range []string{"blk.0.ffn_gate_exps.weight", "blk.0.ffn_up_exps.weight", "blk.1.ffn_down_exps.weight"} {
		if kinds[name] != uint32(ggml.TensorTypeMXFP4) {
			t.Errorf("%s is type %d, want MXFP4", name, kinds[name])
		}
	}
	if _, ok := kinds["blk.0.attn_sinks"]; !ok {
		t.Error("no attention sinks")
	}
}

// TestTinyGlm4MoeLite converts the GLM-4.7-Flash checkpoint and checks what Ollama's glm4moelite model
// reads: the MLA ranks and head sizes, the dense and expert layers, the converter's split of kv_b into the
// absorbed k_b and v_b, and the GLM-4 pre-tokenizer its tokenizer needs.
func TestTinyGlm4MoeLite(t *testing.T) {
	g := convertedGGUF(t, "tiny-glm4moelite")
	kv := g.KV()
	if a := kv.Architecture(); a != "glm4moelite" || !kv.OllamaEngineRequired() {
		t.Fatalf("architecture %q (Go engine %v), want glm4moelite", a, kv.OllamaEngineRequired())
	}
	if kv.Uint("attention.kv_lora_rank") != 32 || kv.Uint("attention.key_length") != 24 || kv.Uint("attention.key_length_mla") != 40 ||
		kv.Uint("rope.dimension_count") != 8 || kv.Uint("leading_dense_block_count") != 1 || kv.String("tokenizer.ggml.pre") != "glm4" {
		t.Errorf("kv rank %d, key length %d (MLA %d), rope %d, dense %d, pre %q", kv.Uint("attention.kv_lora_rank"), kv.Uint("attention.key_length"),
			kv.Uint("attention.key_length_mla"), kv.Uint("rope.dimension_count"), kv.Uint("leading_dense_block_count"), kv.String("tokenizer.ggml.pre"))
	}
	kinds := tensorKinds(g)
	for _, name := range []string{"blk.0.ffn_gate.weight", "blk.1.attn_k_b.weight", "blk.1.attn_v_b.weight", "blk.1.ffn_up_exps.weight",
		"blk.1.ffn_down_shexp.weight", "blk.1.exp_probs_b.bias", "output.weight"} {
		if _, ok := kinds[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	if _, ok := kinds["blk.1.attn_kv_b.weight"]; ok {
		t.Error("attn_kv_b kept; Ollama's glm4moelite wants it split")
	}
}

// TestTinyDeepseek2 converts the DeepSeek-V3 checkpoint and checks the keys both engines read: MLA with
// kv_b whole (the deepseek2 converter does not split it), YaRN (without it Ollama's model scales by the log
// of 0), the sigmoid router, and DeepSeek-V3's own tokenizer.
func TestTinyDeepseek2(t *testing.T) {
	g := convertedGGUF(t, "tiny-deepseek2")
	kv := g.KV()
	if a := kv.Architecture(); a != "deepseek2" || !kv.OllamaEngineRequired() {
		t.Fatalf("architecture %q (Go engine %v), want deepseek2", a, kv.OllamaEngineRequired())
	}
	if kv.Float("rope.scaling.factor") != 40 || kv.String("rope.scaling.type") != "yarn" || kv.Uint("expert_gating_func") != 2 ||
		kv.String("tokenizer.ggml.pre") != "deepseek-v3" {
		t.Errorf("rope scaling %v %q, gating %d, pre %q", kv.Float("rope.scaling.factor"), kv.String("rope.scaling.type"),
			kv.Uint("expert_gating_func"), kv.String("tokenizer.ggml.pre"))
	}
	tokens := kv.Strings("tokenizer.ggml.tokens")
	if len(tokens) != 129280 || tokens[0] != "<｜begin▁of▁sentence｜>" || kv.Uint("tokenizer.ggml.eos_token_id") != 1 {
		t.Errorf("vocabulary of %d tokens, first %q, eos %d", len(tokens), tokens[0], kv.Uint("tokenizer.ggml.eos_token_id"))
	}
	if _, ok := tensorKinds(g)["blk.1.attn_kv_b.weight"]; !ok {
		t.Error("no attn_kv_b")
	}
}

// TestTinyLlamaCppDecoders converts the checkpoints of architectures Ollama leaves to llama.cpp and checks
// the keys and tensors llama.cpp's loader looks for in what Ollama's converter writes.
func TestTinyLlamaCppDecoders(t *testing.T) {
	for _, c := range []struct {
		recipe, arch string
		tensors      []string // present
		absent       []string
	}{
		{"tiny-qwen2", "qwen2", []string{"blk.0.attn_q.bias", "blk.0.attn_k.bias", "blk.1.ffn_gate.weight"}, []string{"output.weight"}},
		// LongRoPE's factors, one per rotated pair (head size 16): empty ones are what llama.cpp rejects.
		{"tiny-phi3", "phi3", []string{"blk.0.attn_qkv.weight", "blk.0.ffn_up.weight", "rope_factors_long.weight", "rope_factors_short.weight", "output.weight"}, []string{"blk.0.ffn_gate.weight"}},
		{"tiny-command-r", "command-r", []string{"blk.0.attn_norm.weight", "blk.1.ffn_gate.weight"}, []string{"blk.0.ffn_norm.weight", "output.weight"}},
	} {
		g := convertedGGUF(t, c.recipe)
		kv := g.KV()
		if kv.Architecture() != c.arch || kv.OllamaEngineRequired() {
			t.Errorf("%s: architecture %q (Go engine %v), want %s for llama.cpp", c.recipe, kv.Architecture(), kv.OllamaEngineRequired(), c.arch)
		}
		kinds := tensorKinds(g)
		for _, name := range c.tensors {
			if _, ok := kinds[name]; !ok {
				t.Errorf("%s: no %s", c.recipe, name)
			}
		}
		for _, name := range c.absent {
			if _, ok := kinds[name]; ok {
				t.Errorf("%s: %s present", c.recipe, name)
			}
		}
		switch c.arch {
		case "phi3":
			for _, tt := range g.Tensors().Items() {
				if tt.Name == "rope_factors_long.weight" && (len(tt.Shape) != 1 || tt.Shape[0] != 8) {
					t.Errorf("rope_factors_long shape %v, want [8]", tt.Shape)
				}
			}
		case "command-r":
			if kv.Float("logit_scale") != 0.0625 {
				t.Errorf("logit scale %v", kv.Float("logit_scale"))
			}
		}
	}
}
