// Package onnx writes the subset of ONNX's protobuf messages (onnx.proto3) that package models builds its
// graphs from, encoded field by field with protowire.
//
// It exists so that the hearth binary links no generated ONNX package: gonnx's onnx package imports
// gorgonia.org/tensor, whose generated gogo-protobuf messages are registered a second time by
// github.com/pdevine/tensor, which Ollama's converter imports, and Ollama's CLI (linked into hearth so that
// `hearth run`, `hearth pull`, ... are Ollama's own commands) imports the converter. Two registrations of one
// message panic at start-up. The types keep gonnx's names and field names, so package models reads the same
// as with the generated code, and the encoding is the one proto.Marshal writes: fields in field-number
// order, proto3 zero values left out, repeated scalars packed (the package's test pins that against gonnx).
package onnx

import "google.golang.org/protobuf/encoding/protowire"

// TensorProto_DataType is an ONNX tensor element type (TensorProto.DataType).
type TensorProto_DataType int32

// The element types package models uses. (The underscored names are gonnx's generated ones.)
const (
	TensorProto_FLOAT TensorProto_DataType = 1
	TensorProto_INT64 TensorProto_DataType = 7
)

// AttributeProto_AttributeType says which value field of an AttributeProto is set.
type AttributeProto_AttributeType int32

// The attribute types package models uses.
const (
	AttributeProto_INT  AttributeProto_AttributeType = 2
	AttributeProto_INTS AttributeProto_AttributeType = 7
)

// ModelProto is an ONNX model: its opset, producer and graph.
type ModelProto struct {
	IrVersion       int64
	ProducerName    string
	ProducerVersion string
	DocString       string
	Graph           *GraphProto
	OpsetImport     []*OperatorSetIdProto
}

// OperatorSetIdProto names an operator set the model imports.
type OperatorSetIdProto struct {
	Domain  string
	Version int64
}

// GraphProto is a graph: its nodes, weights, inputs and outputs.
type GraphProto struct {
	Node        []*NodeProto
	Name        string
	Initializer []*TensorProto
	Input       []*ValueInfoProto
	Output      []*ValueInfoProto
}

// NodeProto is one operator application.
type NodeProto struct {
	Input     []string
	Output    []string
	Name      string
	OpType    string
	Attribute []*AttributeProto
}

// AttributeProto is one named operator attribute.
type AttributeProto struct {
	Name string
	I    int64
	Ints []int64
	Type AttributeProto_AttributeType
}

// TensorProto is a constant tensor (an initializer) stored as little-endian raw bytes.
type TensorProto struct {
	Dims     []int64
	DataType int32
	Name     string
	RawData  []byte
}

// ValueInfoProto names and types a graph input or output.
type ValueInfoProto struct {
	Name string
	Type *TypeProto
}

// TypeProto is a value's type; only tensor types are written.
type TypeProto struct {
	Value *TypeProto_TensorType
}

// TypeProto_TensorType is the tensor_type case of TypeProto's value oneof.
type TypeProto_TensorType struct {
	TensorType *TypeProto_Tensor
}

// TypeProto_Tensor is a tensor type: element type and shape.
type TypeProto_Tensor struct {
	ElemType int32
	Shape    *TensorShapeProto
}

// TensorShapeProto is a tensor's shape, one Dimension per axis.
type TensorShapeProto struct {
	Dim []*TensorShapeProto_Dimension
}

// TensorShapeProto_Dimension is one axis: a fixed size or a symbolic name.
type TensorShapeProto_Dimension struct {
	// Value is a *TensorShapeProto_Dimension_DimValue or a *TensorShapeProto_Dimension_DimParam.
	Value isDimensionValue
}

type isDimensionValue interface{ appendTo(b []byte) []byte }

// TensorShapeProto_Dimension_DimValue is a fixed axis size.
type TensorShapeProto_Dimension_DimValue struct {
	DimValue int64
}

// TensorShapeProto_Dimension_DimParam is a symbolic axis ("batch_size").
type TensorShapeProto_Dimension_DimParam struct {
	DimParam string
}

// Marshal encodes the model as an .onnx file's bytes.
func (m *ModelProto) Marshal() []byte {
	var b []byte
	b = appendInt(b, 1, m.IrVersion)
	b = appendString(b, 2, m.ProducerName)
	b = appendString(b, 3, m.ProducerVersion)
	b = appendString(b, 6, m.DocString)
	if m.Graph != nil {
		b = appendMessage(b, 7, m.Graph.appendTo(nil))
	}
	for _, o := range m.OpsetImport {
		var ob []byte
		ob = appendString(ob, 1, o.Domain)
		ob = appendInt(ob, 2, o.Version)
		b = appendMessage(b, 8, ob)
	}
	return b
}

func (g *GraphProto) appendTo(b []byte) []byte {
	for _, n := range g.Node {
		b = appendMessage(b, 1, n.appendTo(nil))
	}
	b = appendString(b, 2, g.Name)
	for _, t := range g.Initializer {
		b = appendMessage(b, 5, t.appendTo(nil))
	}
	for _, v := range g.Input {
		b = appendMessage(b, 11, v.appendTo(nil))
	}
	for _, v := range g.Output {
		b = appendMessage(b, 12, v.appendTo(nil))
	}
	return b
}

func (n *NodeProto) appendTo(b []byte) []byte {
	for _, s := range n.Input {
		b = appendBytes(b, 1, []byte(s))
	}
	for _, s := range n.Output {
		b = appendBytes(b, 2, []byte(s))
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.OpType)
	for _, a := range n.Attribute {
		b = appendMessage(b, 5, a.appendTo(nil))
	}
	return b
}

func (a *AttributeProto) appendTo(b []byte) []byte {
	b = appendString(b, 1, a.Name)
	b = appendInt(b, 3, a.I)
	b = appendPacked(b, 8, a.Ints)
	b = appendInt(b, 20, int64(a.Type))
	return b
}

func (t *TensorProto) appendTo(b []byte) []byte {
	b = appendPacked(b, 1, t.Dims)
	b = appendInt(b, 2, int64(t.DataType))
	b = appendString(b, 8, t.Name)
	if len(t.RawData) > 0 {
		b = appendBytes(b, 9, t.RawData)
	}
	return b
}

func (v *ValueInfoProto) appendTo(b []byte) []byte {
	b = appendString(b, 1, v.Name)
	if v.Type != nil {
		var tb []byte
		if v.Type.Value != nil {
			var tt []byte
			if t := v.Type.Value.TensorType; t != nil {
				tt = appendInt(tt, 1, int64(t.ElemType))
				if t.Shape != nil {
					tt = appendMessage(tt, 2, t.Shape.appendTo(nil))
				}
			}
			tb = appendMessage(tb, 1, tt)
		}
		b = appendMessage(b, 2, tb)
	}
	return b
}

func (s *TensorShapeProto) appendTo(b []byte) []byte {
	for _, d := range s.Dim {
		var db []byte
		if d.Value != nil {
			db = d.Value.appendTo(db)
		}
		b = appendMessage(b, 1, db)
	}
	return b
}

// A oneof member is written even when it holds the zero value: its presence is the information.
func (d *TensorShapeProto_Dimension_DimValue) appendTo(b []byte) []byte {
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(d.DimValue))
}

func (d *TensorShapeProto_Dimension_DimParam) appendTo(b []byte) []byte {
	return appendBytes(b, 2, []byte(d.DimParam))
}

// appendInt writes a proto3 int32/int64/enum field, which is left out when zero.
func appendInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// appendString writes a proto3 string field, which is left out when empty.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendBytes(b, num, []byte(s))
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	return appendBytes(b, num, msg)
}

// appendPacked writes a repeated int64 field packed, as proto3 does by default.
func appendPacked(b []byte, num protowire.Number, v []int64) []byte {
	if len(v) == 0 {
		return b
	}
	var p []byte
	for _, x := range v {
		p = protowire.AppendVarint(p, uint64(x))
	}
	return appendBytes(b, num, p)
}
