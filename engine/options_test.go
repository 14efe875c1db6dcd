package engine

import (
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/modelfacts"
	"github.com/hearthlink/hearth/registry/storetest"
)

func TestOptionsKeepModelDefaults(t *testing.T) {
	store, m := storetest.GGUFModel(t, ggml.KV{"tokenizer.chat_template": storetest.ChatML}, `{"temperature":0.25,"stop":["<|x|>"],"keep_alive":"2m"}`)
	cfg := DefaultPipelineConfig()
	cfg.NumCtx = 1024
	s := NewPipeline(NewScheduler(DefaultConfig()), modelfacts.NewCache(store), cfg)
	for range 2 {
		opts, err := s.Options(m, map[string]any{"num_predict": 7.0})
		if err != nil {
			t.Fatal(err)
		}
		if opts.Temperature != 0.25 || opts.NumPredict != 7 || opts.NumCtx != 1024 || len(opts.Stop) != 1 {
			t.Errorf("options %+v", opts)
		}
	}
	// A request's options never reach the model's cached defaults.
	if opts, _ := s.Options(m, nil); opts.NumPredict != -1 {
		t.Errorf("num_predict %d, want the default -1", opts.NumPredict)
	}
	if ka := s.keepAlive(m, nil); ka.Minutes() != 2 {
		t.Errorf("keep alive %v, want the model's 2m", ka)
	}
	if _, err := s.Options(m, map[string]any{"top_k": "many"}); err == nil || err.Error() != `option "top_k" must be of type integer` {
		t.Errorf("wrong type: %v", err)
	}
}
