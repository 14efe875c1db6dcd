package models

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/hearthlink/hearth/models/internal/onnx"
)

// The ONNX files are written for opset 12 and IR version 7, as torch.onnx.export writes BERT at
// opset_version=12 (LayerNorm spelled out, Unsqueeze axes and Softmax axis as attributes). ONNX Runtime's
// graph optimizer recognises that form and fuses it (LayerNorm, Attention, SkipLayerNorm, BiasGelu);
// onnx 1.12's checker (Debian's python3-onnx) accepts it too.
const (
	onnxOpset     = 12
	onnxIRVersion = 7
)

// onnxGraphBuilder accumulates the nodes, initializers, inputs and outputs of one ONNX graph. Node and
// value names are generated from a counter, so building the same graph twice gives the same proto.
type onnxGraphBuilder struct {
	rng   *onnxRNG
	graph *onnx.GraphProto
	next  int
	// consts remembers scalar and 1-D constants already added, so each one is stored once.
	consts map[string]string
}

func newONNXGraphBuilder(name string, seed int64) *onnxGraphBuilder {
	return &onnxGraphBuilder{
		rng:    newONNXRNG(seed),
		graph:  &onnx.GraphProto{Name: name},
		consts: map[string]string{},
	}
}

// input declares a graph input with symbolic ("batch_size") or fixed dimensions.
func (b *onnxGraphBuilder) input(name string, elem onnx.TensorProto_DataType, dims ...any) string {
	b.graph.Input = append(b.graph.Input, onnxValueInfo(name, elem, dims...))
	return name
}

// output declares the graph output name, which some node must produce.
func (b *onnxGraphBuilder) output(name string, elem onnx.TensorProto_DataType, dims ...any) {
	b.graph.Output = append(b.graph.Output, onnxValueInfo(name, elem, dims...))
}

// onnxValueInfo describes a tensor value; each dim is an int (fixed) or a string (symbolic).
func onnxValueInfo(name string, elem onnx.TensorProto_DataType, dims ...any) *onnx.ValueInfoProto {
	shape := &onnx.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnx.TensorShapeProto_Dimension{}
		switch v := d.(type) {
		case int:
			dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}
		case string:
			dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: v}
		default:
			panic(fmt.Sprintf("models: onnx dim %v is neither int nor string", d))
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnx.ValueInfoProto{
		Name: name,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
			TensorType: &onnx.TypeProto_Tensor{ElemType: int32(elem), Shape: shape},
		}},
	}
}

// node adds one operator with a single output and returns that output's name. When out is empty a name
// is made up from the operator type.
func (b *onnxGraphBuilder) node(op, out string, inputs []string, attrs ...*onnx.AttributeProto) string {
	b.next++
	if out == "" {
		out = fmt.Sprintf("%s_%d", op, b.next)
	}
	b.graph.Node = append(b.graph.Node, &onnx.NodeProto{
		Name:      fmt.Sprintf("%s_node_%d", op, b.next),
		OpType:    op,
		Input:     inputs,
		Output:    []string{out},
		Attribute: attrs,
	})
	return out
}

// op is node with a generated output name.
func (b *onnxGraphBuilder) op(op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	return b.node(op, "", inputs, attrs...)
}

func onnxAttrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func onnxAttrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

// normal adds a float32 initializer of the given shape drawn from N(0, std²) (near enough: see onnxRNG).
func (b *onnxGraphBuilder) normal(name string, std float64, dims ...int64) string {
	raw := make([]byte, 4*onnxElements(dims))
	for i := 0; i < len(raw); i += 4 {
		binary.LittleEndian.PutUint32(raw[i:], math.Float32bits(b.rng.normal(std)))
	}
	b.addFloat32(name, raw, dims)
	return name
}

// filled adds a float32 initializer with every element equal to v (LayerNorm's gamma = 1, biases = 0).
func (b *onnxGraphBuilder) filled(name string, v float32, dims ...int64) string {
	raw := make([]byte, 4*onnxElements(dims))
	bits := math.Float32bits(v)
	for i := 0; i < len(raw); i += 4 {
		binary.LittleEndian.PutUint32(raw[i:], bits)
	}
	b.addFloat32(name, raw, dims)
	return name
}

func (b *onnxGraphBuilder) addFloat32(name string, raw []byte, dims []int64) {
	b.graph.Initializer = append(b.graph.Initializer, &onnx.TensorProto{
		Name:     name,
		Dims:     dims,
		DataType: int32(onnx.TensorProto_FLOAT),
		RawData:  raw,
	})
}

// scalar returns a float32 scalar constant, stored once however often it is asked for.
func (b *onnxGraphBuilder) scalar(v float32) string {
	key := fmt.Sprintf("f32:%08x", math.Float32bits(v))
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := fmt.Sprintf("const_f32_%d", len(b.consts))
	b.consts[key] = name
	return b.filled(name, v)
}

// int64s returns a 1-D int64 constant (a shape, axes, slice bounds), stored once. With scalar set it is
// a 0-D tensor holding the single value instead.
func (b *onnxGraphBuilder) int64s(scalar bool, v ...int64) string {
	key := fmt.Sprintf("i64:%t:%v", scalar, v)
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := fmt.Sprintf("const_i64_%d", len(b.consts))
	b.consts[key] = name
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	dims := []int64{int64(len(v))}
	if scalar {
		dims = nil
	}
	b.graph.Initializer = append(b.graph.Initializer, &onnx.TensorProto{
		Name:     name,
		Dims:     dims,
		DataType: int32(onnx.TensorProto_INT64),
		RawData:  raw,
	})
	return name
}

// model wraps the graph in a ModelProto importing the default opset.
func (b *onnxGraphBuilder) model(doc string) *onnx.ModelProto {
	return &onnx.ModelProto{
		IrVersion:       onnxIRVersion,
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: onnxOpset}},
		ProducerName:    "hearth",
		ProducerVersion: "models",
		DocString:       doc,
		Graph:           b.graph,
	}
}

func onnxElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// onnxRNG is a small, fully specified generator: SplitMix64, with each 64-bit draw split into four 16-bit
// uniforms whose sum is close to normal (Irwin-Hall, n = 4, tails cut at 3.46 sigma). Only integer
// arithmetic and one float multiply are involved, so the weights depend on the seed alone: not on the Go
// release (as math/rand's algorithms could) nor on the machine (as math.Log's assembly could).
type onnxRNG struct {
	state uint64
}

func newONNXRNG(seed int64) *onnxRNG { return &onnxRNG{state: uint64(seed)} }

func (r *onnxRNG) uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// onnxIrwinHallSigma is the standard deviation of a sum of four uniform 16-bit integers.
var onnxIrwinHallSigma = math.Sqrt(4 * (65536*65536 - 1) / 12.0)

// normal returns a variate with mean 0 and standard deviation std.
func (r *onnxRNG) normal(std float64) float32 {
	x := r.uint64()
	sum := x&0xffff + x>>16&0xffff + x>>32&0xffff + x>>48
	return float32((float64(sum) - 2*65535) * (std / onnxIrwinHallSigma))
}
