package onnxspec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/types/model"

	hapi "github.com/hearthlink/hearth/api"
)

// folder writes files into a fresh folder and lists it.
func folder(t *testing.T, files map[string]string) Files {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := DirFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRead(t *testing.T) {
	const seqCls = `"architectures":["BertForSequenceClassification"]`
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  Config
		caps  []model.Capability
		err   string
	}{
		{
			name:  "optimum cross-encoder: one label reranks",
			files: map[string]string{"config.json": `{` + seqCls + `,"id2label":{"0":"LABEL_0"},"max_position_embeddings":512}`},
			want:  Config{Task: TaskRerank, Output: OutputLogits, MaxLength: 512},
			caps:  []model.Capability{hapi.CapabilityRerank},
		},
		{
			name:  "optimum classifier: several labels classify",
			files: map[string]string{"config.json": `{` + seqCls + `,"id2label":{"0":"neg","1":"pos"}}`, "tokenizer_config.json": `{"model_max_length":128}`},
			want:  Config{Task: TaskClassification, Output: OutputLogits, MaxLength: 128},
			caps:  []model.Capability{hapi.CapabilityClassification},
		},
		{
			name: "sentence-transformers encoder: CLS pooling, normalised",
			files: map[string]string{
				"config.json":               `{"architectures":["BertModel"]}`,
				"1_Pooling/config.json":     `{"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}`,
				"modules.json":              `[{"type":"sentence_transformers.models.Transformer"},{"type":"sentence_transformers.models.Normalize"}]`,
				"sentence_bert_config.json": `{"max_seq_length":256}`,
				"tokenizer_config.json":     `{"model_max_length":1e30}`,
			},
			want: Config{Task: TaskEmbedding, Output: OutputLastHiddenState, Pooling: "cls", Normalize: true, MaxLength: 256},
			caps: []model.Capability{model.CapabilityEmbedding},
		},
		{
			name:  "hearth.json wins; a one-label classifier also reranks",
			files: map[string]string{"config.json": `{` + seqCls + `,"id2label":{"0":"relevant"}}`, ConfigFile: `{"task":"classification","max_length":64}`},
			want:  Config{Task: TaskClassification, Output: OutputLogits, MaxLength: 64},
			caps:  []model.Capability{hapi.CapabilityClassification, hapi.CapabilityRerank},
		},
		{name: "no config at all", files: map[string]string{"model.onnx": "x"}, err: "neither hearth.json nor config.json"},
		{name: "unknown task", files: map[string]string{ConfigFile: `{"task":"dance"}`}, err: `unknown task "dance"`},
		{name: "classifier without labels", files: map[string]string{ConfigFile: `{"task":"classification"}`}, err: "no id2label"},
		{name: "bad label id", files: map[string]string{"config.json": `{"id2label":{"x":"a"}}`}, err: `id2label key "x"`},
		{name: "config.json not JSON", files: map[string]string{"config.json": `{`}, err: "config.json is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Read(folder(t, tc.files))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Config != tc.want {
				t.Errorf("config %+v, want %+v", s.Config, tc.want)
			}
			if got := s.Capabilities(); !slices.Equal(got, tc.caps) {
				t.Errorf("capabilities %v, want %v", got, tc.caps)
			}
		})
	}
}
