package models

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/ollama/ollama/fs/ggml"
	ggmlbackend "github.com/ollama/ollama/ml/backend/ggml"
)

// ggufTensor is one tensor of a generated GGUF file. Shape lists ne0 first, as GGUF stores it: shape[0] is
// the length of a row, the unit ggml quantizes.
type ggufTensor struct {
	name  string
	typ   ggml.TensorType
	shape []uint64
	init  weightInit
}

// weightInit says how a tensor's values are drawn: from a normal distribution with standard deviation std,
// or, when std is zero, all equal to value (1 for norm weights, 0 for biases).
type weightInit struct {
	std   float32
	value float32
}

// normalInit draws weights from N(0, std²), the usual initialisation of a transformer's matrices.
func normalInit(std float32) weightInit { return weightInit{std: std} }

// constInit sets every value to v.
func constInit(v float32) weightInit { return weightInit{value: v} }

// elements is the number of values in the tensor.
func (t ggufTensor) elements() uint64 {
	n := uint64(1)
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// parameterCount adds up the values of every tensor, for general.parameter_count.
func parameterCount(ts []ggufTensor) uint64 {
	var n uint64
	for _, t := range ts {
		n += t.elements()
	}
	return n
}

// chunkValues bounds how many float32 values one tensor writer holds at a time (4 MiB), so writing a
// billion-parameter model never needs its weights in memory at once, and a canceled generation stops
// within one chunk's quantization (a tenth of a second for Q4_K).
const chunkValues = 1 << 20

// writeGGUF writes a GGUF file at dst holding kv and tensors whose values come from seed. Each tensor has its
// own random stream, keyed by seed and its name, so the bytes do not depend on the order or parallelism in
// which tensors are written. Tensors are generated and quantized a block of rows at a time while ggml's
// writer streams them to their offsets. dst must not exist; on any error, a canceled ctx included, nothing
// is left at dst.
func writeGGUF(ctx context.Context, dst string, kv ggml.KV, tensors []ggufTensor, seed int64) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, t := range tensors {
		if err := t.check(); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()

	// Once one writer fails, the others stop at their next block with its error instead of generating the
	// rest.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ts := make([]*ggml.Tensor, len(tensors))
	for i, t := range tensors {
		ts[i] = &ggml.Tensor{
			Name:     t.name,
			Kind:     uint32(t.typ),
			Shape:    t.shape,
			WriterTo: &tensorWriter{ctx: wctx, cancel: cancel, t: t, seed: seed},
		}
	}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return f.Sync()
}

// check rejects a tensor whose rows do not split into its type's blocks: ggml would write a file that no
// loader accepts.
func (t ggufTensor) check() error {
	if len(t.shape) == 0 || t.elements() == 0 {
		return fmt.Errorf("tensor %s has no values", t.name)
	}
	if bs := t.typ.BlockSize(); t.shape[0]%bs != 0 {
		return fmt.Errorf("tensor %s: row length %d is not a multiple of %s's block of %d", t.name, t.shape[0], t.typ, bs)
	}
	return nil
}

// tensorWriter generates one tensor's values and writes them in ggml's encoding when WriteGGUF asks for it.
type tensorWriter struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	t      ggufTensor
	seed   int64
}

// WriteTo implements io.WriterTo, the hook through which ggml.WriteGGUF pulls a tensor's bytes.
func (w *tensorWriter) WriteTo(dst io.Writer) (n int64, err error) {
	defer func() {
		if err != nil {
			w.cancel(err)
		}
	}()
	rowLen := w.t.shape[0]
	rows := w.t.elements() / rowLen
	rowsPerChunk := max(1, chunkValues/rowLen)
	rng := tensorRand(w.seed, w.t.name)
	buf := make([]float32, min(rows, rowsPerChunk)*rowLen)
	for done := uint64(0); done < rows; {
		if w.ctx.Err() != nil {
			return n, context.Cause(w.ctx)
		}
		k := min(rowsPerChunk, rows-done)
		vals := buf[:k*rowLen]
		w.t.init.fill(rng, vals)
		m, err := dst.Write(encodeValues(w.t.typ, vals, rowLen, k))
		n += int64(m)
		if err != nil {
			return n, err
		}
		done += k
	}
	// ggml.WriteGGUF laid out the file from the sizes ggml's tables give; bytes of another length would
	// shift every tensor after this one.
	if want := int64(w.t.elements() * w.t.typ.TypeSize() / w.t.typ.BlockSize()); n != want {
		return n, fmt.Errorf("tensor %s: encoded %d bytes, want %d", w.t.name, n, want)
	}
	return n, nil
}

// tensorRand is the random stream of one tensor: PCG keyed by the recipe's seed and the tensor's name.
func tensorRand(seed int64, name string) *rand.PCG {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.NewPCG(uint64(seed), h.Sum64())
}

// irwinHallSigma is the standard deviation of the sum of four uniform 16-bit integers.
var irwinHallSigma = math.Sqrt(4 * (65536*65536 - 1) / 12.0)

// fill sets vals as the init describes. Normal values are approximated by the Irwin-Hall sum of the four
// 16-bit quarters of one PCG output (bounded at ±3.5σ): a few times faster than rand.NormFloat64, which
// matters for the billion values of bench-llama, and as good for weights nobody trained.
func (in weightInit) fill(rng *rand.PCG, vals []float32) {
	if in.std == 0 {
		for i := range vals {
			vals[i] = in.value
		}
		return
	}
	scale := float64(in.std) / irwinHallSigma
	for i := range vals {
		u := rng.Uint64()
		sum := u&0xffff + u>>16&0xffff + u>>32&0xffff + u>>48
		vals[i] = float32((float64(sum) - 2*65535) * scale)
	}
}

// encodeValues turns rows of float32 values into typ's bytes: F32 directly, anything else through ggml's
// own quantizers (the same code llama-quantize runs).
func encodeValues(typ ggml.TensorType, vals []float32, rowLen, rows uint64) []byte {
	if typ == ggml.TensorTypeF32 {
		out := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out
	}
	return ggmlbackend.Quantize(typ, vals, []uint64{rowLen, rows})
}
