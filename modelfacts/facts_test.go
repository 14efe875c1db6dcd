package modelfacts

import (
	"slices"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/types/model"

	hapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/registry/storetest"
)

func TestFactsAreKeptPerManifest(t *testing.T) {
	store, m := storetest.GGUFModel(t, ggml.KV{"tokenizer.chat_template": storetest.ChatML}, "")
	c := NewCache(store)
	f1, err := c.Of(m)
	if err != nil {
		t.Fatal(err)
	}
	if !f1.Template.Contains("<|im_start|>") || len(f1.Stops) == 0 {
		t.Fatalf("the GGUF's chat template was not matched to Ollama's chatml: %q %q", f1.Template.String(), f1.Stops)
	}
	again, err := store.Resolve("m")
	if err != nil {
		t.Fatal(err)
	}
	if f2, _ := c.Of(again); f2 != f1 {
		t.Error("the facts were derived again for the same manifest")
	}

	// A model read from no store (no digest) is derived afresh.
	bare := *m
	bare.Digest = ""
	if f3, _ := c.Of(&bare); f3 == f1 || f3.Template.String() != f1.Template.String() {
		t.Error("a model without a digest shares the cache")
	}
}

// commandR is Command-R's chat template as its GGUF carries it; Ollama matches it to its command-r
// template, which renders tool definitions.
const commandR = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% elif false == true %}{% set loop_messages = messages %}{% set system_message = 'You are Command-R, a brilliant, sophisticated, AI-assistant trained to assist human users by providing thorough responses. You are trained by Cohere.' %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% if system_message != false %}{{ '<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>' + system_message + '<|END_OF_TURN_TOKEN|>' }}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% set content = message['content'] %}{% if message['role'] == 'user' %}{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}{% elif message['role'] == 'assistant' %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>'  + content.strip() + '<|END_OF_TURN_TOKEN|>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>' }}{% endif %}"

// TestGGUFTemplateFallbackCounts: a model stored without a template layer is shown with the capabilities
// of the template generation uses (the GGUF's chat template matched to a named one), not of
// "{{ .Prompt }}": /api/show lists tools for it, as it would had Ollama's create stored the template.
func TestGGUFTemplateFallbackCounts(t *testing.T) {
	store, m := storetest.GGUFModel(t, ggml.KV{"tokenizer.chat_template": commandR}, "")
	f, err := NewCache(store).Of(m)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Template.Contains("<|START_OF_TURN_TOKEN|>") {
		t.Fatalf("the chat template was not matched to Ollama's command-r: %q", f.Template.String())
	}
	want := []model.Capability{model.CapabilityCompletion, model.CapabilityTools}
	if !slices.Equal(f.Capabilities, want) {
		t.Errorf("capabilities %v, want %v", f.Capabilities, want)
	}
}

func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   ggml.KV
		want []model.Capability
	}{
		{"completion", ggml.KV{}, []model.Capability{model.CapabilityCompletion}},
		{"chatml completion", ggml.KV{"tokenizer.chat_template": storetest.ChatML}, []model.Capability{model.CapabilityCompletion}},
		{"embedding", ggml.KV{"llama.pooling_type": uint32(1)}, []model.Capability{model.CapabilityEmbedding}},
		{"rerank", ggml.KV{"llama.pooling_type": uint32(4)}, []model.Capability{hapi.CapabilityRerank}},
		{"vision", ggml.KV{"llama.vision.block_count": uint32(2)}, []model.Capability{model.CapabilityCompletion, model.CapabilityVision}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, m := storetest.GGUFModel(t, tc.kv, "")
			f, err := NewCache(store).Of(m)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.Capabilities, tc.want) {
				t.Errorf("capabilities %v, want %v", f.Capabilities, tc.want)
			}
		})
	}
}

func TestModelOptions(t *testing.T) {
	store, m := storetest.GGUFModel(t, nil, `{"temperature":0.25,"stop":["<|x|>"],"keep_alive":"2m","no_such_option":1}`)
	f, err := NewCache(store).Of(m)
	if err != nil {
		t.Fatal(err)
	}
	if f.Options.Temperature != 0.25 || len(f.Options.Stop) != 1 || f.Options.NumCtx != 0 || f.OptionsErr != nil {
		t.Errorf("options %+v, %v", f.Options, f.OptionsErr)
	}
	if f.KeepAlive == nil || f.KeepAlive.Minutes() != 2 {
		t.Errorf("keep alive %v, want the model's 2m", f.KeepAlive)
	}
	// keep_alive is no option either: Ollama warns about it too.
	if u := slices.Sorted(slices.Values(f.UnknownOptions)); !slices.Equal(u, []string{"keep_alive", "no_such_option"}) {
		t.Errorf("unknown options %v", f.UnknownOptions)
	}
}
