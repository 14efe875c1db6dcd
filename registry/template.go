package registry

import (
	"encoding/json"
	"errors"

	"github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/template"
)

// errNoChatTemplate is a GGUF without tokenizer.chat_template.
var errNoChatTemplate = errors.New("the GGUF has no chat template")

// NamedTemplate is one of Ollama's named templates, matched to a GGUF's chat template.
type NamedTemplate struct {
	// Name is the template's name in Ollama's index, e.g. "chatml".
	Name string
	// Text is the Go template.
	Text string
	// Stop are the stop strings Ollama's create stores beside the template as parameters.
	Stop []string
	// Parameters is those parameters as Ollama's create writes them (nil when the template has none).
	Parameters json.RawMessage
}

// MatchTemplate matches a GGUF's tokenizer.chat_template to one of Ollama's named templates, as Ollama's
// create does. Create stores the match as the model's template layer; the model facts fall back to it for
// models stored without one.
func MatchTemplate(kv ggml.KV) (*NamedTemplate, error) {
	ct := kv.ChatTemplate()
	if ct == "" {
		return nil, errNoChatTemplate
	}
	t, err := template.Named(ct)
	if err != nil {
		return nil, err
	}
	n := &NamedTemplate{Name: t.Name, Text: string(t.Bytes)}
	if t.Parameters != nil {
		n.Stop = t.Parameters.Stop
		if n.Parameters, err = json.Marshal(t.Parameters); err != nil {
			return nil, err
		}
	}
	return n, nil
}
