package hfconvert

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/ollama/ollama/fs/ggml"
)

// qwen3Carrier is the class whose converter is Qwen 3's with a vision tower around it: the dispatch's one
// way to convert_qwen3.go.
const qwen3Carrier = "Qwen3VLForConditionalGeneration"

// qwen3Targets maps what the converter names the carrier's GGUF to the Qwen 3 architecture it is.
var qwen3Targets = map[string]string{"qwen3vl": "qwen3", "qwen3vlmoe": "qwen3moe"}

// convertQwen3 converts a Qwen3ForCausalLM or Qwen3MoeForCausalLM folder: its config becomes the text
// config of the carrier class (whose converter reads the text model from "text_config"), with an empty
// image preprocessor config, which that class requires; the GGUF is then renamed back and its experts
// stacked.
func convertQwen3(fsys fs.FS, f *os.File) error {
	carried, err := asQwen3Carrier(fsys)
	if err != nil {
		return err
	}
	return convertThenEdit(carried, f, retargetQwen3)
}

// asQwen3Carrier is the Qwen 3 folder fsys presented as the carrier class.
func asQwen3Carrier(fsys fs.FS) (fs.FS, error) {
	cfg, err := fs.ReadFile(fsys, "config.json")
	if err != nil {
		return nil, err
	}
	return overlay{fsys, fstest.MapFS{
		"config.json":              {Data: fmt.Appendf(nil, `{"architectures":[%q],"text_config":%s}`, qwen3Carrier, cfg)},
		"preprocessor_config.json": {Data: []byte("{}")},
	}}, nil
}

// retargetQwen3 renames the carrier's GGUF to Qwen 3's architecture, leaves out its vision keys, and
// stacks the experts.
func retargetQwen3(kv ggml.KV, ts []*ggml.Tensor) (ggml.KV, []*ggml.Tensor, error) {
	from := kv.Architecture()
	to, ok := qwen3Targets[from]
	if !ok {
		return nil, nil, fmt.Errorf("the Qwen 3 converter wrote architecture %q", from)
	}
	out := ggml.KV{}
	for k, v := range kv {
		short, ok := strings.CutPrefix(k, from+".")
		switch {
		case !ok:
			out[k] = v
		case !strings.HasPrefix(short, "vision."):
			out[to+"."+short] = v
		}
	}
	out["general.architecture"] = to
	ts, width, err := stackExperts(ts)
	if err != nil {
		return nil, nil, err
	}
	if width > 0 {
		// What llama.cpp reads for the experts' width (it guesses feed_forward_length / expert_used_count
		// without it); Ollama's engine takes the width from the tensors.
		out[to+".expert_feed_forward_length"] = uint32(width)
	}
	return out, ts, nil
}

// expertTensor is the name the converter leaves a Qwen3-MoE expert's weight under.
var expertTensor = regexp.MustCompile(`^blk\.(\d+)\.mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight$`)

// stackExperts replaces the experts' separate weights of each layer by one blk.N.ffn_{gate,up,down}_exps
// tensor per projection (experts last in GGUF order, expert 0 first), and returns the experts' hidden
// width (0 when there are none).
func stackExperts(ts []*ggml.Tensor) ([]*ggml.Tensor, uint64, error) {
	groups := map[string][]*ggml.Tensor{} // by stacked name, indexed by expert
	var out []*ggml.Tensor
	for _, t := range ts {
		m := expertTensor.FindStringSubmatch(t.Name)
		if m == nil {
			out = append(out, t)
			continue
		}
		name := "blk." + m[1] + ".ffn_" + m[3] + "_exps.weight"
		x, _ := strconv.Atoi(m[2])
		g := groups[name]
		for len(g) <= x {
			g = append(g, nil)
		}
		g[x] = t
		groups[name] = g
	}
	var width uint64
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		g := groups[name]
		parts := make(concat, len(g))
		for x, t := range g {
			if t == nil {
				return nil, 0, fmt.Errorf("%s: expert %d has no weight", name, x)
			}
			if t.Kind != g[0].Kind || !slices.Equal(t.Shape, g[0].Shape) {
				return nil, 0, fmt.Errorf("%s: expert %d is %v of type %d, expert 0 %v of type %d", name, x, t.Shape, t.Kind, g[0].Shape, g[0].Kind)
			}
			parts[x] = t.WriterTo
		}
		shape := append(slices.Clone(g[0].Shape), uint64(len(g)))
		out = append(out, &ggml.Tensor{Name: name, Kind: g[0].Kind, Shape: shape, WriterTo: parts})
		if strings.HasSuffix(name, ".ffn_gate_exps.weight") {
			width = g[0].Shape[1] // GGUF order: [hidden, width]
		}
	}
	return out, width, nil
}

// overlay is a folder with some files replaced.
type overlay struct {
	fs.FS
	files fstest.MapFS
}

func (o overlay) Open(name string) (fs.File, error) {
	if _, ok := o.files[name]; ok {
		return o.files.Open(name)
	}
	return o.FS.Open(name)
}
