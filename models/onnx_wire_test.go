package models

import (
	"bytes"
	"context"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

// TestONNXEncodingIsProtobufCanonical pins the hand-written ONNX encoder (models/internal/onnx, which keeps
// the generated ONNX package out of the hearth binary) to the generated code: gonnx's onnx.ModelProto
// decodes the bytes to the same graph, and proto.Marshal writes those exact bytes back, so a file is what
// the generated code would have written (and the cached models of earlier versions are still the same).
func TestONNXEncodingIsProtobufCanonical(t *testing.T) {
	for _, tc := range onnxTestRecipes {
		t.Run(tc.name, func(t *testing.T) {
			shape := tc.recipe.shape
			shape.VocabSize, shape.NumHiddenLayers, shape.IntermediateSize = 64, 1, 32
			built, err := buildONNXBERT(context.Background(), shape, 1)
			if err != nil {
				t.Fatal(err)
			}
			data := built.Marshal()
			var m onnx.ModelProto
			if err := proto.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if len(m.ProtoReflect().GetUnknown()) != 0 {
				t.Errorf("unknown fields in the encoding: %x", m.ProtoReflect().GetUnknown())
			}
			g := m.GetGraph()
			if m.GetIrVersion() != onnxIRVersion || m.GetOpsetImport()[0].GetVersion() != onnxOpset ||
				len(g.GetNode()) != len(built.Graph.Node) || len(g.GetInitializer()) != len(built.Graph.Initializer) ||
				len(g.GetInput()) != 3 || len(g.GetOutput()) != len(built.Graph.Output) {
				t.Fatalf("decoded model differs: ir %d, opset %v, %d nodes, %d initializers, %d inputs, %d outputs",
					m.GetIrVersion(), m.GetOpsetImport(), len(g.GetNode()), len(g.GetInitializer()), len(g.GetInput()), len(g.GetOutput()))
			}
			if d := g.GetInput()[0].GetType().GetTensorType().GetShape().GetDim(); len(d) != 2 || d[0].GetDimParam() != onnxBatchDim {
				t.Errorf("input_ids shape decodes as %v", d)
			}
			again, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("proto.Marshal writes %d bytes where the encoder wrote %d: the encoding is not canonical", len(again), len(data))
			}
		})
	}
}
