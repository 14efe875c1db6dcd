package onnx

import (
	"fmt"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/hearthlink/hearth/onnxspec"
)

// The graph inputs the backend fills, by their Hugging Face names.
const (
	inputIDs           = "input_ids"
	inputAttentionMask = "attention_mask"
	inputTokenTypeIDs  = "token_type_ids"
)

// session is one ONNX Runtime session over a model's graph, with the graph's inputs and the output to read
// already discovered. ONNX Runtime allows concurrent Run calls on a session, but the model runs one batch
// at a time anyway (its batcher owns it), so each run gets every intra-op thread.
type session struct {
	s *ort.DynamicAdvancedSession
	// inputs are the graph's inputs in the order run passes them; each is one of the input* names.
	inputs []string
	// int32 is set when the graph takes int32 ids instead of int64.
	int32 bool
	// output is the one output read; outputRank is its number of dimensions (3 for per-token states,
	// 2 for pooled vectors or logits).
	output     string
	outputRank int
}

// sessionOptions are the ONNX Runtime settings of every session.
type sessionOptions struct {
	// threads is the intra-op thread count.
	threads int
	// spin lets idle intra-op threads spin-wait for the next run: lower latency, but a busy core.
	spin bool
}

// openSession creates the session for the graph at path, reading output (or, for an embedding model whose
// graph lacks it, the pooled sentence_embedding). The graph's inputs must be among input_ids,
// attention_mask and token_type_ids, with input_ids present.
func openSession(path, output string, opts sessionOptions) (*session, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(max(opts.threads, 1)); err != nil {
		return nil, err
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	spin := "0"
	if opts.spin {
		spin = "1"
	}
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", spin); err != nil {
		return nil, err
	}

	ins, outs, err := ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime cannot read the graph (corrupt or unsupported ONNX file): %w", err)
	}
	s := &session{}
	for _, in := range ins {
		switch in.Name {
		case inputIDs, inputAttentionMask, inputTokenTypeIDs:
		default:
			return nil, fmt.Errorf("the graph has an input %q; hearth fills only %s, %s and %s", in.Name, inputIDs, inputAttentionMask, inputTokenTypeIDs)
		}
		switch in.DataType {
		case ort.TensorElementDataTypeInt64:
		case ort.TensorElementDataTypeInt32:
			s.int32 = true
		default:
			return nil, fmt.Errorf("the graph's input %q is %v; hearth passes int64 or int32 token ids", in.Name, in.DataType)
		}
		s.inputs = append(s.inputs, in.Name)
	}
	if !slices.Contains(s.inputs, inputIDs) {
		return nil, fmt.Errorf("the graph has no %s input", inputIDs)
	}

	var names []string
	for _, o := range outs {
		names = append(names, o.Name)
	}
	pick := func(name string) bool {
		for _, o := range outs {
			if o.Name == name && o.DataType == ort.TensorElementDataTypeFloat {
				s.output, s.outputRank = o.Name, len(o.Dimensions)
				return true
			}
		}
		return false
	}
	if !pick(output) && !(output == onnxspec.OutputLastHiddenState && pick(onnxspec.OutputSentenceEmbedding)) {
		return nil, fmt.Errorf("the graph has no float output %q (its outputs: %s)", output, strings.Join(names, ", "))
	}
	if s.outputRank != 2 && s.outputRank != 3 {
		return nil, fmt.Errorf("the graph's output %q has %d dimensions; hearth reads 2 ([batch, n]) or 3 ([batch, tokens, n])", s.output, s.outputRank)
	}

	s.s, err = ort.NewDynamicAdvancedSession(path, s.inputs, []string{s.output}, so)
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime cannot load the graph: %w", err)
	}
	return s, nil
}

// close frees the session.
func (s *session) close() error { return s.s.Destroy() }

// batchInput is one padded batch: n rows of length tokens each, row-major.
type batchInput struct {
	n, length         int
	ids, mask, typeID []int64
}

// run evaluates one batch and returns the output as a flat row-major slice with its shape.
func (s *session) run(b *batchInput) ([]float32, []int64, error) {
	shape := ort.NewShape(int64(b.n), int64(b.length))
	values := make([]ort.Value, 0, len(s.inputs))
	defer func() {
		for _, v := range values {
			v.Destroy()
		}
	}()
	for _, name := range s.inputs {
		data := b.ids
		switch name {
		case inputAttentionMask:
			data = b.mask
		case inputTokenTypeIDs:
			data = b.typeID
		}
		v, err := s.tensor(shape, data)
		if err != nil {
			return nil, nil, err
		}
		values = append(values, v)
	}
	outputs := []ort.Value{nil}
	if err := s.s.Run(values, outputs); err != nil {
		return nil, nil, err
	}
	defer outputs[0].Destroy()
	t, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, nil, fmt.Errorf("the graph's output %q is not a float tensor", s.output)
	}
	return slices.Clone(t.GetData()), slices.Clone([]int64(t.GetShape())), nil
}

// tensor wraps data as an input tensor of the graph's integer type.
func (s *session) tensor(shape ort.Shape, data []int64) (ort.Value, error) {
	if !s.int32 {
		return ort.NewTensor(shape, data)
	}
	narrow := make([]int32, len(data))
	for i, v := range data {
		narrow[i] = int32(v)
	}
	return ort.NewTensor(shape, narrow)
}
