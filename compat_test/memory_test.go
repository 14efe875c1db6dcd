package compat_test

import (
	"context"
	"os"
	"testing"

	"github.com/ollama/ollama/api"

	hearthapi "github.com/hearthlink/hearth/api"
	"github.com/hearthlink/hearth/internal/proctree"
	"github.com/hearthlink/hearth/models/hfmodels"
)

// residentAfterLoad starts hearth with env, loads the model at path with one short generation at the
// server's default settings, and returns the process's resident memory before and after, and the size
// /api/ps reports for the model.
func residentAfterLoad(t *testing.T, path string, env ...string) (before, after, size int64) {
	t.Helper()
	p := startHearth(t, env...)
	client := apiClient(t, p.URL)
	ctx := context.Background()
	if err := hearthapi.CreateFromPath(ctx, client, "m", path); err != nil {
		t.Fatal(err)
	}
	before, err := proctree.RSS(p.cmd.Process.Pid)
	if err != nil {
		t.Skipf("the server's resident memory cannot be read here: %v", err)
	}
	stream := false
	err = client.Generate(ctx, &api.GenerateRequest{Model: "m", Prompt: "Hello there, how are you today?", Stream: &stream,
		Options: map[string]any{"num_predict": 8, "temperature": 0}}, func(api.GenerateResponse) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if after, err = proctree.RSS(p.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	ps, err := client.ListRunning(ctx)
	if err != nil || len(ps.Models) != 1 {
		t.Fatalf("/api/ps: %v %+v, want the one model", err, ps)
	}
	return before, after, ps.Models[0].Size
}

// TestResidentMemoryAtDefaults loads a 140 MB model at hearth's defaults (4 parallel slots, the default
// context) and checks what /api/ps reports against the process's resident memory: the weights are counted
// once, whether the CPU backend repacks them into its own buffers or reads them in place from the mapped
// file, the size is what loading the model added to the process, and the 4 slots share one KV pool, so the
// model takes no more memory than with 1 slot.
func TestResidentMemoryAtDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 140 MB model twice")
	}
	path, err := hfmodels.Ensure(context.Background(), "", "bench-gemma3")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	file := info.Size()
	const mb = 1 << 20

	before, after, size := residentAfterLoad(t, path)
	t.Logf("4 slots: process %d MB before the load, %d MB after; /api/ps size %d MB; file %d MB", before/mb, after/mb, size/mb, file/mb)
	if size < file*9/10 {
		t.Errorf("/api/ps size %d MB is less than the %d MB of weights a generation reads", size/mb, file/mb)
	}
	if size > after {
		t.Errorf("/api/ps size %d MB is more than the whole process holds (%d MB)", size/mb, after/mb)
	}
	// What the load added to the process is the model's memory; the rest (Go heap, tokenizer tables)
	// stays within a few tens of MB.
	if grew := after - before; grew < size*8/10-16*mb || grew > size*11/10+48*mb {
		t.Errorf("loading grew the process by %d MB, but /api/ps reports %d MB for the model", grew/mb, size/mb)
	}

	_, _, size1 := residentAfterLoad(t, path, "OLLAMA_NUM_PARALLEL=1")
	t.Logf("1 slot: /api/ps size %d MB", size1/mb)
	if size > size1*11/10 {
		t.Errorf("with 4 slots the model takes %d MB, with 1 slot %d MB: the slots should share one KV pool", size/mb, size1/mb)
	}
}
