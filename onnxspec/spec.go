// Package onnxspec reads what an ONNX model folder says about itself: its task (embedding, classification,
// rerank), which graph output to read and how to pool it, its labels and its input length. The answer comes
// from hearth.json when the folder has one, else from Hugging Face's config.json and the sentence-transformers
// files, the way transformers and sentence-transformers would run the model. It is the one reader of these
// files: the store reads it when a model is created, the model facts when one is shown or served, the ONNX
// backend when one loads, and the model generator writes Config.
package onnxspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ollama/ollama/types/model"

	hapi "github.com/hearthlink/hearth/api"
)

// ConfigFile names hearth's own file in an ONNX model folder, holding a Config. Models without it (a plain
// Hugging Face / Optimum export) are described from config.json and the sentence-transformers files.
const ConfigFile = "hearth.json"

// HFConfigFile is Hugging Face's model config.
const HFConfigFile = "config.json"

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

// The graph outputs the ONNX backend knows how to read.
const (
	// OutputLastHiddenState is a [batch, sequence, hidden] output that an embedding model pools.
	OutputLastHiddenState = "last_hidden_state"
	// OutputSentenceEmbedding is a [batch, hidden] output of an export that pools inside the graph.
	OutputSentenceEmbedding = "sentence_embedding"
	// OutputLogits is a [batch, labels] output of a classifier or cross-encoder.
	OutputLogits = "logits"
)

// Config is the content of hearth.json.
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

// Spec is everything known about a model folder before a session is created: its Config, with every
// default filled in, and what config.json says.
type Spec struct {
	Config
	// Labels are the class names in logit order (classification and rerank models).
	Labels []string
	// MultiLabel scores each label on its own with a sigmoid instead of a softmax over all of them.
	MultiLabel bool
	// HF is config.json's content (zero when the folder has none).
	HF HFConfig
}

// HFConfig holds the fields of a Hugging Face config.json that matter to hearth.
type HFConfig struct {
	// ModelType is the transformers model type, e.g. "bert".
	ModelType string `json:"model_type"`
	// Architectures are the transformers classes, e.g. "BertForSequenceClassification".
	Architectures []string `json:"architectures"`
	// ID2Label maps label ids ("0", "1", ...) to names.
	ID2Label map[string]string `json:"id2label"`
	// ProblemType is "multi_label_classification" for sigmoid classifiers.
	ProblemType string `json:"problem_type"`
	// MaxPositionEmbeddings is the longest input the position embeddings cover.
	MaxPositionEmbeddings int `json:"max_position_embeddings"`
	// NumAttentionHeads, HiddenSize and IntermediateSize are the encoder's sizes.
	NumAttentionHeads int `json:"num_attention_heads"`
	HiddenSize        int `json:"hidden_size"`
	IntermediateSize  int `json:"intermediate_size"`
}

// Files maps a model folder's relative file names (slash-separated) to paths on disk: a folder on disk,
// the layers of a stored model or the blobs of a model being created, read the same way.
type Files map[string]string

// DirFiles lists the regular files under dir (following symbolic links).
func DirFiles(dir string) (Files, error) {
	out := Files{}
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

// maxJSONBytes bounds the configuration files read here: each is a few KiB.
const maxJSONBytes = 1 << 20

// ReadJSON decodes the file named name into v and reports whether the file exists.
func (f Files) ReadJSON(name string, v any) (bool, error) {
	path, ok := f[name]
	if !ok {
		return false, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return true, err
	}
	if st.Size() > maxJSONBytes {
		return true, fmt.Errorf("%s is %d bytes: too large for a configuration file", name, st.Size())
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

// Read describes a model folder: hearth.json when there is one, else what config.json and the
// sentence-transformers files (modules.json, 1_Pooling/config.json, sentence_bert_config.json) say. An
// error says what is missing or wrong in which file.
func Read(f Files) (*Spec, error) {
	s := &Spec{}
	if _, err := f.ReadJSON(HFConfigFile, &s.HF); err != nil {
		return nil, err
	}
	found, err := f.ReadJSON(ConfigFile, &s.Config)
	if err != nil {
		return nil, err
	}
	if !found {
		s.Config, err = infer(f, &s.HF)
		if err != nil {
			return nil, err
		}
	}
	s.Labels, err = s.HF.labels()
	if err != nil {
		return nil, err
	}
	s.MultiLabel = s.HF.ProblemType == "multi_label_classification"
	if s.MaxLength <= 0 {
		s.MaxLength = maxLength(f, &s.HF)
	}
	return s, s.check()
}

// check fills in the defaults of the task and refuses a description the backend cannot act on.
func (s *Spec) check() error {
	switch s.Task {
	case TaskEmbedding:
		if s.Output == "" {
			s.Output = OutputLastHiddenState
		}
		if s.Pooling == "" {
			s.Pooling = "mean"
		}
		if s.Pooling != "mean" && s.Pooling != "cls" {
			return fmt.Errorf("%s: unknown pooling %q (want mean or cls)", ConfigFile, s.Pooling)
		}
	case TaskClassification:
		if s.Output == "" {
			s.Output = OutputLogits
		}
		if len(s.Labels) == 0 {
			return errors.New("config.json has no id2label: a classification model needs its labels")
		}
	case TaskRerank:
		if s.Output == "" {
			s.Output = OutputLogits
		}
	default:
		return fmt.Errorf("%s: unknown task %q (want %s, %s or %s)", ConfigFile, s.Task, TaskEmbedding, TaskClassification, TaskRerank)
	}
	return nil
}

// Capabilities names what the model does, in /api/show's terms. A classifier with a single label scores
// one logit per input, which is what a cross-encoder does, so it reranks too.
func (s *Spec) Capabilities() []model.Capability {
	switch s.Task {
	case TaskEmbedding:
		return []model.Capability{model.CapabilityEmbedding}
	case TaskRerank:
		return []model.Capability{hapi.CapabilityRerank}
	}
	if len(s.Labels) == 1 {
		return []model.Capability{hapi.CapabilityClassification, hapi.CapabilityRerank}
	}
	return []model.Capability{hapi.CapabilityClassification}
}

// labels returns id2label's names in id order; ids must be 0..n-1, each once ("1" and "01" are the same
// id, and would leave another id without a name).
func (c *HFConfig) labels() ([]string, error) {
	if len(c.ID2Label) == 0 {
		return nil, nil
	}
	out := make([]string, len(c.ID2Label))
	seen := make([]bool, len(c.ID2Label))
	for k, v := range c.ID2Label {
		id, err := strconv.Atoi(k)
		if err != nil || id < 0 || id >= len(out) {
			return nil, fmt.Errorf("config.json: id2label key %q is not a label id between 0 and %d", k, len(out)-1)
		}
		if seen[id] {
			return nil, fmt.Errorf("config.json: id2label names label id %d twice", id)
		}
		out[id], seen[id] = v, true
	}
	return out, nil
}

// infer describes a model folder that has no hearth.json, the way sentence-transformers and transformers
// would run it. A *ForSequenceClassification model with one label is a cross-encoder (what
// sentence-transformers' CrossEncoder loads), with more labels a classifier; anything else embeds.
func infer(f Files, hf *HFConfig) (Config, error) {
	for _, a := range hf.Architectures {
		if strings.HasSuffix(a, "ForSequenceClassification") {
			if len(hf.ID2Label) == 1 {
				return Config{Task: TaskRerank, Output: OutputLogits}, nil
			}
			return Config{Task: TaskClassification, Output: OutputLogits}, nil
		}
	}
	if _, ok := f[HFConfigFile]; !ok {
		return Config{}, fmt.Errorf("the model has neither %s nor %s: cannot tell what it does", ConfigFile, HFConfigFile)
	}
	c := Config{Task: TaskEmbedding, Output: OutputLastHiddenState, Pooling: "mean"}
	var pooling struct {
		CLS  bool `json:"pooling_mode_cls_token"`
		Mean bool `json:"pooling_mode_mean_tokens"`
	}
	if _, err := f.ReadJSON("1_Pooling/config.json", &pooling); err != nil {
		return Config{}, err
	}
	if pooling.CLS && !pooling.Mean {
		c.Pooling = "cls"
	}
	var modules []struct {
		Type string `json:"type"`
	}
	if _, err := f.ReadJSON("modules.json", &modules); err != nil {
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
func maxLength(f Files, hf *HFConfig) int {
	var st struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if _, err := f.ReadJSON("sentence_bert_config.json", &st); err == nil && st.MaxSeqLength > 0 {
		return st.MaxSeqLength
	}
	var tc struct {
		ModelMaxLength float64 `json:"model_max_length"`
	}
	// transformers writes a huge sentinel (1e30) when the length is unknown.
	if _, err := f.ReadJSON("tokenizer_config.json", &tc); err == nil && tc.ModelMaxLength > 0 && tc.ModelMaxLength < 1<<20 {
		return int(tc.ModelMaxLength)
	}
	if hf.MaxPositionEmbeddings > 0 {
		return hf.MaxPositionEmbeddings
	}
	return 512
}
