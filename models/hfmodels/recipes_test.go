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

// TestTinyGemma3Vision converts the Gemma 3 checkpoint with its vision tower and checks what Ollama's Go
// engine reads: the vision keys, the v.* and mm.* tensors, and Gemma 3's whole SentencePiece vocabulary
// with the image tokens the engine inserts.
func TestTinyGemma3Vision(t *testing.T) {
	path, err := Ensure(t.Context(), "", "tiny-gemma3-vision")
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
	if kv.Architecture() != "gemma3" || kv.Uint("vision.block_count") != 1 || kv.Uint("vision.image_size") != 32 || kv.Uint("vision.patch_size") != 2 {
		t.Errorf("architecture %q, vision blocks %d, image size %d, patch size %d", kv.Architecture(),
			kv.Uint("vision.block_count"), kv.Uint("vision.image_size"), kv.Uint("vision.patch_size"))
	}
	if m := kv.String("tokenizer.ggml.model"); m != "llama" {
		t.Errorf("tokenizer model %q, want llama (SentencePiece)", m)
	}
	tokens := kv.Strings("tokenizer.ggml.tokens")
	want := map[int]string{2: "<bos>", 106: "<end_of_turn>", 108: "\n\n", 255999: "<start_of_image>", 256000: "<end_of_image>"}
	if len(tokens) != 262144 {
		t.Fatalf("vocabulary of %d tokens, want 262144", len(tokens))
	}
	for id, s := range want {
		if tokens[id] != s {
			t.Errorf("token %d is %q, want %q", id, tokens[id], s)
		}
	}
	if bos := kv.Uint("tokenizer.ggml.bos_token_id"); bos != 2 {
		t.Errorf("bos %d, want 2", bos)
	}
	names := map[string]bool{}
	for _, tt := range g.Tensors().Items() {
		names[tt.Name] = true
	}
	for _, n := range []string{"v.patch_embedding.weight", "v.position_embedding.weight", "v.blk.0.attn_q.weight", "v.blk.0.mlp.fc1.weight", "v.post_layernorm.weight", "mm.mm_input_projection.weight", "mm.mm_soft_emb_norm.weight", "blk.1.attn_q_norm.weight"} {
		if !names[n] {
			t.Errorf("tensor %s missing", n)
		}
	}
}
