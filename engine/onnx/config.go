package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ConfigFile names hearth's own file in an ONNX model folder: what the model is for and how to turn its
// output into an answer. Models without it (a plain Hugging Face / Optimum export) are described from
// config.json and the sentence-transformers files instead.
const ConfigFile = "hearth.json"

// The tasks a model folder can name in hearth.json.
const (
	// TaskEmbedding models pool an output over the unmasked positions into one vector per input.
	TaskEmbedding = "embedding"
	// TaskClassification models output one row of logits per input, labelled by config.json's id2label.
	TaskClassification = "classification"
	// TaskRerank models are cross-encoders: they read a (query, document) pair and output one relevance
	// logit.
	TaskRerank = "rerank"
)

// The graph outputs the backend knows how to read.
const (
	outputLastHiddenState   = "last_hidden_state"
	outputSentenceEmbedding = "sentence_embedding"
	outputLogits            = "logits"
)

// Config is the content of hearth.json; models.ONNXConfig writes the same document.
type Config struct {
	// Task is TaskEmbedding, TaskClassification or TaskRerank.
	Task string `json:"task"`
	// Output is the graph output to read.
	Output string `json:"output"`
	// Pooling reduces last_hidden_state to one vector: "mean" (over unmasked positions) or "cls".
	Pooling string `json:"pooling,omitempty"`
	// Normalize scales each pooled vector to unit L2 norm.
	Normalize bool `json:"normalize,omitempty"`
	// MaxLength is the most tokens one sequence may hold, special tokens included.
	MaxLength int `json:"max_length"`
}

// spec is everything the backend needs to know about a model folder before it creates a session.
type spec struct {
	Config
	// labels are the class names in logit order (classification and rerank models).
	labels []string
	// multiLabel scores each label on its own with a sigmoid instead of a softmax over all of them.
	multiLabel bool
}

// hfConfig holds the fields of a Hugging Face config.json that matter here.
type hfConfig struct {
	Architectures         []string          `json:"architectures"`
	ID2Label              map[string]string `json:"id2label"`
	ProblemType           string            `json:"problem_type"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	HiddenSize            int               `json:"hidden_size"`
	IntermediateSize      int               `json:"intermediate_size"`
}

// files maps a model folder's relative file names to paths on disk: a folder on disk or the layers of a
// stored model, read the same way.
type files map[string]string

// dirFiles lists the regular files under dir (following symbolic links), keyed by slash-separated
// relative path.
func dirFiles(dir string) (files, error) {
	out := files{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = path
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readJSON decodes the file named name into v and reports whether the file exists.
func (f files) readJSON(name string, v any) (bool, error) {
	path, ok := f[name]
	if !ok {
		return false, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return true, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("%s is not valid JSON: %w", name, err)
	}
	return true, nil
}

// readSpec describes a model folder: hearth.json when there is one, else what config.json and the
// sentence-transformers files (modules.json, 1_Pooling/config.json, sentence_bert_config.json) say.
func readSpec(f files) (*spec, error) {
	var hf hfConfig
	if _, err := f.readJSON("config.json", &hf); err != nil {
		return nil, err
	}
	s := &spec{}
	found, err := f.readJSON(ConfigFile, &s.Config)
	if err != nil {
		return nil, err
	}
	if !found {
		s.Config, err = inferConfig(f, &hf)
		if err != nil {
			return nil, err
		}
	}
	s.labels, err = hf.labels()
	if err != nil {
		return nil, err
	}
	s.multiLabel = hf.ProblemType == "multi_label_classification"
	if s.MaxLength <= 0 {
		s.MaxLength = maxLength(f, &hf)
	}
	return s, s.check()
}

// check refuses a description the backend cannot act on.
func (s *spec) check() error {
	switch s.Task {
	case TaskEmbedding:
		if s.Output == "" {
			s.Output = outputLastHiddenState
		}
		if s.Pooling == "" {
			s.Pooling = "mean"
		}
		if s.Pooling != "mean" && s.Pooling != "cls" {
			return fmt.Errorf("%s: unknown pooling %q (want mean or cls)", ConfigFile, s.Pooling)
		}
	case TaskClassification:
		if s.Output == "" {
			s.Output = outputLogits
		}
		if len(s.labels) == 0 {
			return errors.New("config.json has no id2label: a classification model needs its labels")
		}
	case TaskRerank:
		if s.Output == "" {
			s.Output = outputLogits
		}
	default:
		return fmt.Errorf("%s: unknown task %q (want %s, %s or %s)", ConfigFile, s.Task, TaskEmbedding, TaskClassification, TaskRerank)
	}
	return nil
}

// capabilities names what the model does, in /api/show's terms. A classifier with a single label is a
// cross-encoder and reranks too.
func (s *spec) capabilities() []string {
	switch s.Task {
	case TaskEmbedding:
		return []string{"embedding"}
	case TaskRerank:
		return []string{"rerank"}
	}
	if len(s.labels) == 1 {
		return []string{"classification", "rerank"}
	}
	return []string{"classification"}
}

// labels returns id2label's names in id order; ids must be 0..n-1.
func (c *hfConfig) labels() ([]string, error) {
	if len(c.ID2Label) == 0 {
		return nil, nil
	}
	out := make([]string, len(c.ID2Label))
	for k, v := range c.ID2Label {
		id, err := strconv.Atoi(k)
		if err != nil || id < 0 || id >= len(out) {
			return nil, fmt.Errorf("config.json: id2label key %q is not a label id between 0 and %d", k, len(out)-1)
		}
		out[id] = v
	}
	return out, nil
}

// inferConfig describes a model folder that has no hearth.json, the way sentence-transformers and
// transformers would run it.
func inferConfig(f files, hf *hfConfig) (Config, error) {
	for _, a := range hf.Architectures {
		if strings.HasSuffix(a, "ForSequenceClassification") {
			if len(hf.ID2Label) == 1 {
				return Config{Task: TaskRerank, Output: outputLogits}, nil
			}
			return Config{Task: TaskClassification, Output: outputLogits}, nil
		}
	}
	if _, ok := f["config.json"]; !ok {
		return Config{}, fmt.Errorf("the model has neither %s nor config.json: cannot tell what it does", ConfigFile)
	}
	c := Config{Task: TaskEmbedding, Output: outputLastHiddenState, Pooling: "mean"}
	var pooling struct {
		CLS  bool `json:"pooling_mode_cls_token"`
		Mean bool `json:"pooling_mode_mean_tokens"`
	}
	if _, err := f.readJSON("1_Pooling/config.json", &pooling); err != nil {
		return Config{}, err
	}
	if pooling.CLS && !pooling.Mean {
		c.Pooling = "cls"
	}
	var modules []struct {
		Type string `json:"type"`
	}
	if _, err := f.readJSON("modules.json", &modules); err != nil {
		return Config{}, err
	}
	for _, m := range modules {
		if strings.HasSuffix(m.Type, ".Normalize") {
			c.Normalize = true
		}
	}
	return c, nil
}

// maxLength picks the longest input the model takes when hearth.json does not say: sentence-transformers'
// max_seq_length, the tokenizer's model_max_length, the position embeddings, or 512.
func maxLength(f files, hf *hfConfig) int {
	var st struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if _, err := f.readJSON("sentence_bert_config.json", &st); err == nil && st.MaxSeqLength > 0 {
		return st.MaxSeqLength
	}
	var tc struct {
		ModelMaxLength float64 `json:"model_max_length"`
	}
	// transformers writes a huge sentinel (1e30) when the length is unknown.
	if _, err := f.readJSON("tokenizer_config.json", &tc); err == nil && tc.ModelMaxLength > 0 && tc.ModelMaxLength < 1<<20 {
		return int(tc.ModelMaxLength)
	}
	if hf.MaxPositionEmbeddings > 0 {
		return hf.MaxPositionEmbeddings
	}
	return 512
}

// graphName picks the ONNX graph of a folder on disk: model.onnx, onnx/model.onnx, or the only .onnx file.
func (f files) graphName() (string, error) {
	for _, name := range []string{"model.onnx", "onnx/model.onnx"} {
		if _, ok := f[name]; ok {
			return name, nil
		}
	}
	var found []string
	for name := range f {
		if strings.HasSuffix(name, ".onnx") {
			found = append(found, name)
		}
	}
	sort.Strings(found)
	if len(found) == 1 {
		return found[0], nil
	}
	if len(found) == 0 {
		return "", errors.New("the model folder holds no .onnx file")
	}
	return "", fmt.Errorf("the model folder holds several ONNX graphs (%s) and none is model.onnx", strings.Join(found, ", "))
}
