package onnx

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hearthlink/hearth/onnxspec"
)

// files maps a model folder's relative file names to paths on disk (onnxspec reads the same map).
type files = onnxspec.Files

// graphName picks the ONNX graph of a folder on disk: model.onnx, onnx/model.onnx, or the only .onnx file.
func graphName(f files) (string, error) {
	for _, name := range []string{"model.onnx", "onnx/model.onnx"} {
		if _, ok := f[name]; ok {
			return name, nil
		}
	}
	var found []string
	for name := range f {
		if strings.HasSuffix(name, ".onnx") {
			found = append(found, name)
		}
	}
	sort.Strings(found)
	if len(found) == 1 {
		return found[0], nil
	}
	if len(found) == 0 {
		return "", errors.New("the model folder holds no .onnx file")
	}
	return "", fmt.Errorf("the model folder holds several ONNX graphs (%s) and none is model.onnx", strings.Join(found, ", "))
}
