package onnxspec

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fuzzFiles are the files of a model folder Read looks at; FuzzRead's mask says which exist.
var fuzzFiles = []string{HFConfigFile, ConfigFile, "modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "tokenizer_config.json"}

// FuzzRead reads a model folder whose config.json, hearth.json and one sentence-transformers or
// tokenizer file hold fuzzed bytes: Read answers a Spec or an error, never panics, and a Spec it
// answers is one the backend can act on (a known task, an output to read, a positive input length,
// every label named by exactly one id).
//
//	go test -run '^$' -fuzz FuzzRead -fuzztime 60s ./onnxspec
func FuzzRead(f *testing.F) {
	seqCls := `"architectures":["BertForSequenceClassification"]`
	f.Add(uint8(1), `{`+seqCls+`,"id2label":{"0":"neg","1":"pos"},"max_position_embeddings":512}`, ``, ``)
	f.Add(uint8(1), `{`+seqCls+`,"id2label":{"0":"LABEL_0"}}`, ``, ``)
	f.Add(uint8(3), `{`+seqCls+`,"id2label":{"0":"relevant"}}`, `{"task":"classification","max_length":64}`, ``)
	f.Add(uint8(2), ``, `{"task":"embedding","output":"sentence_embedding","pooling":"cls","normalize":true,"max_length":-1}`, ``)
	f.Add(uint8(1|4), `{"architectures":["BertModel"]}`, ``, `[{"type":"sentence_transformers.models.Normalize"}]`)
	f.Add(uint8(1|8), `{"architectures":["BertModel"]}`, ``, `{"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}`)
	f.Add(uint8(1|16), `{"architectures":["BertModel"]}`, ``, `{"max_seq_length":256}`)
	f.Add(uint8(1|32), `{"architectures":["BertModel"]}`, ``, `{"model_max_length":1e30}`)
	f.Add(uint8(1), `{"id2label":{"0":"a","00":"b"}}`, ``, ``)
	f.Add(uint8(1), `{"id2label":{"x":"a"}}`, ``, ``)
	f.Add(uint8(2), ``, `{"task":"dance"}`, ``)
	f.Add(uint8(1), `{`, ``, ``)
	f.Add(uint8(0), ``, ``, ``)
	f.Fuzz(func(t *testing.T, mask uint8, config, hearth, extra string) {
		dir := t.TempDir()
		files := Files{}
		for i, name := range fuzzFiles {
			if mask&(1<<i) == 0 {
				continue
			}
			content := extra
			switch i {
			case 0:
				content = config
			case 1:
				content = hearth
			}
			path := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			files[name] = path
		}
		s, err := Read(files)
		if err != nil {
			return
		}
		switch {
		case s.Task != TaskEmbedding && s.Task != TaskClassification && s.Task != TaskRerank:
			t.Fatalf("unknown task %q accepted", s.Task)
		case s.Output == "":
			t.Fatal("no output to read")
		case s.MaxLength <= 0:
			t.Fatalf("max length %d", s.MaxLength)
		case s.Task == TaskEmbedding && s.Pooling != "mean" && s.Pooling != "cls":
			t.Fatalf("pooling %q", s.Pooling)
		case s.Task == TaskClassification && len(s.Labels) == 0:
			t.Fatal("a classifier without labels")
		}
		named := make([]bool, len(s.Labels))
		for k := range s.HF.ID2Label {
			id, err := strconv.Atoi(k)
			if err != nil || id < 0 || id >= len(named) || named[id] {
				t.Fatalf("id2label %v accepted as labels %q", s.HF.ID2Label, s.Labels)
			}
			named[id] = true
		}
	})
}
