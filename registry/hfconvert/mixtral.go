package hfconvert

import (
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/ollama/ollama/fs/ggml"
)

// convertMixtral converts a MixtralForCausalLM folder and names its experts' projections right.
func convertMixtral(fsys fs.FS, f *os.File) error {
	return convertThenEdit(fsys, f, swapMixtralExperts)
}

// swapMixtralExperts swaps the names ffn_up_exps and ffn_down_exps: Mixtral's w2 is the down projection
// and w3 the up projection, which convert_mixtral.go merges the other way round. It checks the result by
// shape: up projections read the embedding (GGUF order [hidden, width, experts]).
func swapMixtralExperts(kv ggml.KV, ts []*ggml.Tensor) (ggml.KV, []*ggml.Tensor, error) {
	swap := strings.NewReplacer(".ffn_up_exps.", ".ffn_down_exps.", ".ffn_down_exps.", ".ffn_up_exps.")
	hidden := kv.EmbeddingLength()
	for _, t := range ts {
		t.Name = swap.Replace(t.Name)
		if strings.HasSuffix(t.Name, ".ffn_up_exps.weight") && t.Shape[0] != hidden {
			return nil, nil, fmt.Errorf("%s is %v, not [%d, ...]: the converter no longer swaps Mixtral's experts", t.Name, t.Shape, hidden)
		}
	}
	return kv, ts, nil
}
