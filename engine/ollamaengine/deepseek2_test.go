package ollamaengine

import "testing"

// TestDeepseek2SameTokensAsLlamaCpp runs deepseek2 (DeepSeek-V3's layout, its own tokenizer), which Ollama
// runs in its Go engine and hearth leaves to llama.cpp, in both engines on the same GGUF: tokenization and
// greedy output must agree, which is what lets llama.cpp keep it. The prompts are ones whose greedy output
// holds no added token such as <｜place▁holder▁no▁588｜>: Ollama's tokenizer decodes those through the
// byte-level table like any other token, so their full-width bars and ▁ come out as single bytes
// ("<\place\x81holder..."), where llama.cpp writes their text.
func TestDeepseek2SameTokensAsLlamaCpp(t *testing.T) {
	checkSameAsLlamaCpp(t, "tiny-deepseek2", "The quick brown fox jumps over the lazy dog, 1234567 times: 你好!",
		"<｜begin▁of▁sentence｜><｜User｜>Hello!<｜Assistant｜>")
}
