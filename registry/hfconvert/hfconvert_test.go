package hfconvert_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/convert"
	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/models/hfmodels"
	"github.com/hearthlink/hearth/registry/hfconvert"
)

// folder writes recipe's Hugging Face folder into a temporary directory.
func folder(t *testing.T, recipe string) string {
	t.Helper()
	r, err := hfmodels.Lookup(recipe)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := r.Checkpoint.WriteFolder(t.Context(), dir, r.Seed); err != nil {
		if strings.Contains(err.Error(), "make bootstrap") { // its tokenizer comes from the npm cache
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return dir
}

// convertWith runs conv into a new file and returns it decoded, with its tensors' bytes by name.
func convertWith(t *testing.T, conv func(*os.File) error) (ggml.KV, map[string][]byte) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "model.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := conv(f); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	for _, tt := range g.Tensors().Items() {
		b := make([]byte, tt.Size())
		if _, err := f.ReadAt(b, int64(g.Tensors().Offset+tt.Offset)); err != nil {
			t.Fatal(err)
		}
		data[tt.Name] = b
	}
	return g.KV(), data
}

// refused checks that Ollama's own converter refuses or breaks the folder in the way the fix is for
// (so that the fix goes when an upgrade makes it needless).
func refused(t *testing.T, dir string) error {
	f, err := os.Create(filepath.Join(t.TempDir(), "raw.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return convert.ConvertModel(os.DirFS(dir), f)
}

// TestQwen3ThroughItsCarrier: Ollama's converter refuses a Qwen3ForCausalLM or Qwen3MoeForCausalLM folder.
// Convert writes what the converter writes for the same folder as the carrier class, renamed: the same
// keys less the vision ones (plus the experts' width for the MoE), the same tensors byte for byte, and each
// layer's experts stacked in order.
func TestQwen3ThroughItsCarrier(t *testing.T) {
	for _, tc := range []struct{ recipe, arch string }{{"tiny-qwen3", "qwen3"}, {"tiny-qwen3moe", "qwen3moe"}} {
		dir := folder(t, tc.recipe)
		if err := refused(t, dir); err == nil || !strings.Contains(err.Error(), "unsupported architecture") {
			t.Errorf("%s: Ollama's converter answered %v; if it takes Qwen 3 again, drop the fix", tc.recipe, err)
		}
		kv, got := convertWith(t, func(f *os.File) error { return hfconvert.Convert(os.DirFS(dir), f) })
		carrierKV, want := convertWith(t, func(f *os.File) error {
			fsys, err := hfconvert.AsQwen3Carrier(os.DirFS(dir))
			if err != nil {
				return err
			}
			return convert.ConvertModel(fsys, f)
		})
		from := carrierKV.Architecture()
		extra := map[string]bool{tc.arch + ".expert_feed_forward_length": tc.arch == "qwen3moe"}
		n := 0
		for k, v := range carrierKV {
			short, ok := strings.CutPrefix(k, from+".")
			if ok && strings.HasPrefix(short, "vision.") {
				continue
			}
			n++
			renamed := k
			if ok {
				renamed = tc.arch + "." + short
			}
			if k == "general.architecture" {
				v = tc.arch
			}
			if fmt.Sprint(kv[renamed]) != fmt.Sprint(v) {
				t.Errorf("%s: %s = %v, the carrier's %s = %v", tc.recipe, renamed, kv[renamed], k, v)
			}
		}
		if extra[tc.arch+".expert_feed_forward_length"] {
			n++
		}
		if len(kv) != n {
			t.Errorf("%s: %d keys, want %d", tc.recipe, len(kv), n)
		}
		for name, b := range got {
			if w, ok := want[name]; ok {
				if !bytes.Equal(b, w) {
					t.Errorf("%s: %s differs from the converter's", tc.recipe, name)
				}
				continue
			}
			var layer int
			var proj string
			if _, err := fmt.Sscanf(strings.NewReplacer(".", " ", "_exps", "", "ffn_", "").Replace(name), "blk %d %s weight", &layer, &proj); err != nil {
				t.Errorf("%s: tensor %s is not the converter's", tc.recipe, name)
				continue
			}
			var stacked []byte
			for x := 0; ; x++ {
				w, ok := want[fmt.Sprintf("blk.%d.mlp.experts.%d.%s_proj.weight", layer, x, proj)]
				if !ok {
					break
				}
				stacked = append(stacked, w...)
			}
			if len(stacked) == 0 || !bytes.Equal(b, stacked) {
				t.Errorf("%s: %s is not the experts stacked in order", tc.recipe, name)
			}
		}
	}
}

// TestMixtralExpertsSwappedBack: Ollama's converter writes Mixtral's w2 (down) as ffn_up_exps and w3 (up)
// as ffn_down_exps; Convert writes the same bytes under the right names and leaves the rest as it is.
func TestMixtralExpertsSwappedBack(t *testing.T) {
	dir := folder(t, "tiny-mixtral")
	rawKV, raw := convertWith(t, func(f *os.File) error { return convert.ConvertModel(os.DirFS(dir), f) })
	kv, got := convertWith(t, func(f *os.File) error { return hfconvert.Convert(os.DirFS(dir), f) })
	if len(kv) != len(rawKV) || len(got) != len(raw) {
		t.Fatalf("%d keys and %d tensors, the converter's %d and %d", len(kv), len(got), len(rawKV), len(raw))
	}
	swap := strings.NewReplacer("ffn_up_exps", "ffn_down_exps", "ffn_down_exps", "ffn_up_exps")
	swapped := 0
	for name, b := range got {
		if !bytes.Equal(b, raw[swap.Replace(name)]) {
			t.Errorf("%s is not the converter's %s", name, swap.Replace(name))
		}
		if swap.Replace(name) != name {
			swapped++
		}
	}
	if swapped != 4 { // two layers, up and down
		t.Errorf("%d tensors swapped, want 4", swapped)
	}
}
