package hfmodels

import (
	"os"
	"slices"
	"strings"
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

// decodeRecipe converts recipe into a temporary folder and decodes the GGUF's header.
func decodeRecipe(t *testing.T, recipe string) *ggml.GGML {
	t.Helper()
	return decodeIn(t, t.TempDir(), recipe)
}

// convertedGGUF generates recipe name (in the shared cache, where the compat tests find it: gpt-oss's and
// DeepSeek-V3's real vocabularies take seconds to convert) and decodes the GGUF Ollama's converter wrote.
func convertedGGUF(t *testing.T, name string) *ggml.GGML {
	t.Helper()
	return decodeIn(t, "", name)
}

// decodeIn generates recipe name in dir (models.Ensure's cache when empty) and decodes the GGUF's header.
func decodeIn(t *testing.T, dir, name string) *ggml.GGML {
	t.Helper()
	path, err := Ensure(t.Context(), dir, name)
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

// hasTensor reports whether g holds a tensor called name.
func hasTensor(g *ggml.GGML, name string) bool {
	for _, tt := range g.Tensors().Items() {
		if tt.Name == name {
			return true
		}
	}
	return false
}

// TestTinyQwen35 converts the Qwen 3.5 checkpoint: the hybrid's layer layout (zero KV heads on the
// linear-attention layers), the partial rotary width, and the split linear-attention projections.
func TestTinyQwen35(t *testing.T) {
	g := decodeRecipe(t, "tiny-qwen35")
	kv := g.KV()
	if kv.Architecture() != "qwen35" || !kv.OllamaEngineRequired() {
		t.Fatalf("architecture %q", kv.Architecture())
	}
	if got := kv.Uints("attention.head_count_kv"); !slices.Equal(got, []uint32{0, 0, 0, 2}) {
		t.Errorf("head_count_kv %v", got)
	}
	if kv.Uint("rope.dimension_count") != 8 || !kv.Bool("ssm.v_head_reordered") {
		t.Errorf("rope dims %d, v heads reordered %v", kv.Uint("rope.dimension_count"), kv.Bool("ssm.v_head_reordered"))
	}
	for _, name := range []string{"blk.0.attn_qkv.weight", "blk.0.attn_gate.weight", "blk.0.ssm_alpha.weight", "blk.0.ssm_a", "blk.3.attn_q.weight"} {
		if !hasTensor(g, name) {
			t.Errorf("no tensor %s", name)
		}
	}
}

// TestTinyQwen3Next converts the Qwen3-Next checkpoint: Ollama writes it as qwen35moe with its packed
// projections split and its experts stacked.
func TestTinyQwen3Next(t *testing.T) {
	g := decodeRecipe(t, "tiny-qwen3next")
	kv := g.KV()
	if kv.Architecture() != "qwen35moe" || kv.Uint("expert_count") != 4 || kv.Bool("ssm.v_head_reordered") {
		t.Fatalf("architecture %q, %d experts, v heads reordered %v", kv.Architecture(), kv.Uint("expert_count"), kv.Bool("ssm.v_head_reordered"))
	}
	for _, name := range []string{"blk.0.attn_qkv.weight", "blk.0.attn_gate.weight", "blk.0.ssm_ba.weight", "blk.0.ffn_gate_exps.weight", "blk.0.ffn_gate_inp_shexp.weight"} {
		if !hasTensor(g, name) {
			t.Errorf("no tensor %s", name)
		}
	}
}

// TestTinyQwen3 converts the Qwen 3 checkpoints, a class Ollama 0.17.4's converter dropped, through
// hfconvert: the GGUF is qwen3 (or qwen3moe) with no key of the class it was carried through, and the
// MoE's experts are stacked into the tensors the engines read, with their width.
func TestTinyQwen3(t *testing.T) {
	for _, tc := range []struct {
		recipe, arch string
		experts      uint32
	}{{"tiny-qwen3", "qwen3", 0}, {"tiny-qwen3moe", "qwen3moe", 4}} {
		g := decodeRecipe(t, tc.recipe)
		kv := g.KV()
		if kv.Architecture() != tc.arch || !kv.OllamaEngineRequired() || kv.Uint("expert_count") != tc.experts {
			t.Errorf("%s: architecture %q, %d experts", tc.recipe, kv.Architecture(), kv.Uint("expert_count"))
		}
		if kv.Uint("block_count") != 2 || kv.Uint("attention.key_length") != 32 || kv.Float("rope.freq_base") != 1e6 {
			t.Errorf("%s: %d blocks, key length %d, rope base %v", tc.recipe, kv.Uint("block_count"), kv.Uint("attention.key_length"), kv.Float("rope.freq_base"))
		}
		for k := range kv {
			if strings.Contains(k, "vl.") || strings.Contains(k, "vision") {
				t.Errorf("%s: key %s", tc.recipe, k)
			}
		}
		for _, tt := range g.Tensors().Items() {
			if strings.Contains(tt.Name, "mlp.") {
				t.Errorf("%s: tensor %s left unconverted", tc.recipe, tt.Name)
			}
			if tc.experts > 0 && tt.Name == "blk.1.ffn_down_exps.weight" && !slices.Equal(tt.Shape, []uint64{96, 128, 4}) {
				t.Errorf("%s: %s is %v", tc.recipe, tt.Name, tt.Shape)
			}
		}
		if tc.experts > 0 && (kv.Uint("expert_feed_forward_length") != 96 || !hasTensor(g, "blk.0.ffn_gate_exps.weight") || !hasTensor(g, "blk.0.ffn_gate_inp.weight")) {
			t.Errorf("%s: expert width %d", tc.recipe, kv.Uint("expert_feed_forward_length"))
		}
	}
}

// TestTinyMixtral converts the Mixtral checkpoint: the experts' up projections read the embedding, the
// down projections write it (Ollama 0.17.4's converter has them the other way round).
func TestTinyMixtral(t *testing.T) {
	g := decodeRecipe(t, "tiny-mixtral")
	kv := g.KV()
	if kv.Architecture() != "llama" || kv.Uint("expert_count") != 4 || kv.Uint("expert_used_count") != 2 {
		t.Fatalf("architecture %q, %d experts", kv.Architecture(), kv.Uint("expert_count"))
	}
	want := map[string][]uint64{
		"blk.0.ffn_gate_exps.weight": {128, 192, 4},
		"blk.0.ffn_up_exps.weight":   {128, 192, 4},
		"blk.0.ffn_down_exps.weight": {192, 128, 4},
	}
	for _, tt := range g.Tensors().Items() {
		if w, ok := want[tt.Name]; ok {
			if !slices.Equal(tt.Shape, w) {
				t.Errorf("%s is %v, want %v", tt.Name, tt.Shape, w)
			}
			delete(want, tt.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing %v", want)
	}
}

// TestTinyMinistral3 converts the Ministral 3 checkpoint: mistral3 with its narrow heads and YaRN keys.
func TestTinyMinistral3(t *testing.T) {
	kv := decodeRecipe(t, "tiny-ministral3").KV()
	if kv.Architecture() != "mistral3" || !kv.OllamaEngineRequired() || kv.Uint("attention.key_length") != 48 || kv.String("rope.scaling.type") != "yarn" || kv.Float("rope.scaling_beta") != 0.1 {
		t.Errorf("architecture %q, key length %d, rope %q beta %v", kv.Architecture(), kv.Uint("attention.key_length"), kv.String("rope.scaling.type"), kv.Float("rope.scaling_beta"))
	}
}

// TestTinyLlama4 converts the Llama 4 text checkpoint: its fused experts split and transposed.
func TestTinyLlama4(t *testing.T) {
	g := decodeRecipe(t, "tiny-llama4")
	kv := g.KV()
	if kv.Architecture() != "llama4" || !kv.OllamaEngineRequired() || kv.Uint("expert_count") != 4 || kv.Uint("expert_feed_forward_length") != 128 {
		t.Errorf("architecture %q, %d experts %d wide", kv.Architecture(), kv.Uint("expert_count"), kv.Uint("expert_feed_forward_length"))
	}
	want := map[string][]uint64{
		"blk.0.ffn_gate_exps.weight":  {128, 128, 4},
		"blk.0.ffn_down_exps.weight":  {128, 128, 4},
		"blk.0.ffn_gate_shexp.weight": {128, 128},
		"blk.0.ffn_gate_inp.weight":   {128, 4},
		"output.weight":               {128, 2051},
	}
	for _, tt := range g.Tensors().Items() {
		if w, ok := want[tt.Name]; ok && slices.Equal(tt.Shape, w) {
			delete(want, tt.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing or misshapen: %v", want)
	}
}

// TestTinyGemma3n converts the Gemma 3n text checkpoint: its SentencePiece vocabulary and the AltUp and
// per-layer tensors the engines read.
func TestTinyGemma3n(t *testing.T) {
	g := decodeRecipe(t, "tiny-gemma3n")
	kv := g.KV()
	if kv.Architecture() != "gemma3n" || !kv.OllamaEngineRequired() || kv.String("tokenizer.ggml.model") != "llama" || kv.Uint("altup.num_inputs") != 4 {
		t.Errorf("architecture %q, tokenizer %q, altup %d", kv.Architecture(), kv.String("tokenizer.ggml.model"), kv.Uint("altup.num_inputs"))
	}
	if tokens := kv.Strings("tokenizer.ggml.tokens"); len(tokens) != 6+256+1536 || tokens[2] != "<bos>" || tokens[6] != "<0x00>" {
		t.Errorf("vocabulary of %d tokens", len(tokens))
	}
	for _, name := range []string{"altup_proj.weight", "per_layer_token_embd.weight", "blk.4.laurel_post_norm.weight", "blk.0.altup_correct_scale.weight", "blk.0.inp_gate.weight"} {
		if !hasTensor(g, name) {
			t.Errorf("no tensor %s", name)
		}
	}
}

// TestTinyNomicBertMoE converts the Nomic BERT MoE checkpoint: an encoder with mean pooling and
// normalisation, bert-base-uncased's vocabulary in the converter's phantom-space spelling, experts on the
// second layer.
func TestTinyNomicBertMoE(t *testing.T) {
	g := decodeRecipe(t, "tiny-nomic-bert-moe")
	kv := g.KV()
	if kv.Architecture() != "nomic-bert-moe" || kv.Bool("attention.causal", true) || kv.Uint("pooling_type") != 1 || !kv.Bool("normalize_embeddings") {
		t.Errorf("architecture %q, causal %v, pooling %d", kv.Architecture(), kv.Bool("attention.causal", true), kv.Uint("pooling_type"))
	}
	if tokens := kv.Strings("tokenizer.ggml.tokens"); len(tokens) != 30522 || tokens[101] != "[CLS]" || kv.String("tokenizer.ggml.model") != "bert" {
		t.Errorf("vocabulary of %d tokens, model %q", len(tokens), kv.String("tokenizer.ggml.model"))
	}
	for _, name := range []string{"token_embd_norm.weight", "blk.0.attn_qkv.weight", "blk.0.ffn_up.weight", "blk.1.ffn_up_exps.weight", "blk.1.ffn_gate_inp.weight", "blk.1.layer_output_norm.bias"} {
		if !hasTensor(g, name) {
			t.Errorf("no tensor %s", name)
		}
	}
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

// TestTinyGemma3Vision converts the Gemma 3 checkpoint with its vision tower and checks what Ollama's Go
// engine reads: the vision keys, the v.* and mm.* tensors, and Gemma 3's whole SentencePiece vocabulary
// with the image tokens the engine inserts.
func TestTinyGemma3Vision(t *testing.T) {
	g := convertedGGUF(t, "tiny-gemma3-vision")
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
