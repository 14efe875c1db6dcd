package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"
)

// quantizeLayers converts the GGUF weights layer to the requested type. Like Ollama it only converts
// F16 and F32 weights and leaves weights already of the requested type alone.
func (s *Store) quantizeLayers(ctx context.Context, layers []*newLayer, quantize string, opts *CreateOptions) ([]*newLayer, error) {
	if quantize == "" {
		return layers, nil
	}
	quantize = strings.ToUpper(quantize)
	for _, l := range layers {
		if l.MediaType == MediaTypeONNXModel {
			return nil, inputErrorf("quantization is only supported for GGUF models; %s is an ONNX model", l.Name)
		}
	}
	for i, l := range layers {
		if l.kv == nil || l.MediaType != MediaTypeModel {
			continue
		}
		want, err := ggml.ParseFileType(quantize)
		if err != nil {
			return nil, &InputError{msg: err.Error()}
		}
		ft := l.kv.FileType()
		if ft.String() != "F16" && ft.String() != "F32" {
			return nil, inputErrorf("quantization is only supported for F16 and F32 models")
		}
		if ft == want {
			continue
		}
		if opts.Quantize == nil {
			return nil, errors.New("this build of hearth cannot quantize")
		}
		q, err := s.quantizeLayer(ctx, l, ft, want, quantize, opts)
		if err != nil {
			return nil, err
		}
		layers[i] = q
	}
	return layers, nil
}

// quantizeLayer writes the quantized weights to a temporary file in blobs/, then adopts it as a blob.
func (s *Store) quantizeLayer(ctx context.Context, l *newLayer, from, to ggml.FileType, name string, opts *CreateOptions) (*newLayer, error) {
	g, err := s.DecodeGGUF(l.Digest, -1)
	if err != nil {
		return nil, err
	}
	src, err := s.OpenBlob(l.Digest)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := os.CreateTemp(s.blobsDir(), tempPrefix+"*")
	if err != nil {
		return nil, err
	}
	tmp := dst.Name()
	s.trackTemp(tmp, true)
	defer s.trackTemp(tmp, false)
	defer os.Remove(tmp) // a no-op once adopted
	defer dst.Close()

	total := uint64(l.Size) - g.Tensors().Offset
	var done atomic.Uint64 // tensors are written in parallel
	status := fmt.Sprintf("quantizing %s model to %s", from, name)
	progress := func(n uint64) {
		d := done.Add(n)
		crashPoint("quantize-write")
		if opts.Progress != nil {
			frac := float64(d) / float64(max(total, 1))
			opts.Progress(api.ProgressResponse{Status: status, Digest: "0000000000000000000", Total: l.Size, Completed: int64(frac * float64(l.Size))})
		}
	}
	if err := opts.Quantize(ctx, dst, src, g, to, progress); err != nil {
		return nil, fmt.Errorf("quantizing to %s: %w", name, err)
	}
	opts.progress("verifying conversion")
	return s.adoptGGUF(dst, tmp, l.MediaType, opts)
}

// adoptFile makes a finished temporary file in blobs/ a blob, named after its hash.
func (s *Store) adoptFile(tmp string) (Blob, error) {
	f, err := os.Open(tmp)
	if err != nil {
		return Blob{}, err
	}
	h := newDigester()
	n, err := io.CopyBuffer(h, f, make([]byte, copyBufferSize))
	f.Close()
	if err != nil {
		return Blob{}, err
	}
	d := digestOf(h)
	final := s.blobPath(d)
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == n {
		return Blob{Digest: d, Size: n}, nil
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return Blob{}, err
	}
	crashPoint("blob-rename")
	if err := os.Rename(tmp, final); err != nil {
		return Blob{}, err
	}
	return Blob{Digest: d, Size: n, Created: true}, syncDir(s.blobsDir())
}
