package registry

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ollama/ollama/convert"
	"github.com/ollama/ollama/fs/ggml"

	"github.com/hearthlink/hearth/registry/hfconvert"
)

// safetensorsLayers converts an uploaded Hugging Face folder (config.json, *.safetensors, tokenizer
// files) to a GGUF blob with Ollama's own converter, as Ollama's create does (with hfconvert's fixes for
// the classes 0.17.4's converter drops or breaks: Qwen 3, Qwen3-MoE, Mixtral), and makes it the
// weights layer, followed by the autodetected template and parameters of its chat template. A folder
// the converter refuses (an architecture it does not know, a missing or malformed file) is the
// request's fault and answers in the converter's words.
func (s *Store) safetensorsLayers(files map[string]string, opts *CreateOptions) ([]*newLayer, error) {
	l, err := s.convertFolder(files, opts, "converting model", func(dir fs.FS, dst *os.File) error {
		return hfconvert.Convert(dir, dst)
	})
	if err != nil {
		return nil, err
	}
	return s.templateLayers([]*newLayer{l}, l.kv, opts)
}

// adapterLayers makes the layer of the request's one LoRA adapter: a GGUF file, or a Hugging Face
// LoRA folder (adapter_config.json, adapter_model.safetensors) that Ollama's converter turns into a
// GGUF adapter for the base model among layers, as Ollama's create does.
func (s *Store) adapterLayers(files map[string]string, layers []*newLayer, opts *CreateOptions) ([]*newLayer, error) {
	if len(files) == 0 {
		return nil, errNoFilesProvided
	}
	if s.detectFilesType(files) != "safetensors" {
		if err := checkGGUFFiles(s, files); err != nil {
			return nil, err
		}
		if len(files) > 1 {
			return nil, errOnlyOneAdapter
		}
		return s.ggufLayers(files, opts)
	}
	var base ggml.KV
	for _, l := range layers {
		if l.kv != nil && l.MediaType == MediaTypeModel {
			base = l.kv
			break
		}
	}
	if base == nil {
		return nil, inputErrorf("no base model was found")
	}
	l, err := s.convertFolder(files, opts, "converting adapter", func(dir fs.FS, dst *os.File) error {
		return convert.ConvertAdapter(dir, dst, base)
	})
	if err != nil {
		return nil, err
	}
	return []*newLayer{l}, nil
}

// convertFolder lays the uploaded files out as a folder, runs conv on it into a temporary file in
// blobs/ and adopts the GGUF it wrote as a layer typed from its metadata. It reports what (Ollama's
// status) as it starts converting; errors of conv other than writing its output are the request's,
// prefixed with what.
func (s *Store) convertFolder(files map[string]string, opts *CreateOptions, what string, conv func(fs.FS, *os.File) error) (*newLayer, error) {
	for _, f := range sortedKeys(files) {
		if err := s.checkUploaded(f, files[f]); err != nil {
			return nil, err
		}
	}
	// The converter reads a folder: lay the blobs out under their file names, as links.
	dir, err := os.MkdirTemp("", "hearth-safetensors-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for _, f := range sortedKeys(files) {
		d, _ := ParseDigest(files[f])
		if err := linkOrCopy(s.blobPath(d), filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			return nil, err
		}
	}

	dst, err := os.CreateTemp(s.blobsDir(), tempPrefix+"*")
	if err != nil {
		return nil, err
	}
	tmp := dst.Name()
	s.trackTemp(tmp, true)
	defer s.trackTemp(tmp, false)
	defer os.Remove(tmp) // a no-op once adopted
	defer dst.Close()

	opts.progress(what)
	if err := conv(os.DirFS(dir), dst); err != nil {
		if isWriteError(err, tmp) {
			return nil, fmt.Errorf("%s: writing the GGUF: %w", what, err)
		}
		return nil, inputErrorf("%s: %v", what, err)
	}
	// A blob this create made is removed at the end if a quantize replaces it, as nothing else refers to it.
	l, err := s.adoptGGUF(dst, tmp, "", opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return l, nil
}

// adoptGGUF makes the GGUF just written to dst (the file tmp) a blob of the store and returns its layer,
// of mediaType (from the file's metadata when ""), with create's status; a blob this create made is noted
// in opts.created.
func (s *Store) adoptGGUF(dst *os.File, tmp, mediaType string, opts *CreateOptions) (*newLayer, error) {
	if err := dst.Sync(); err != nil {
		return nil, err
	}
	if err := dst.Close(); err != nil {
		return nil, err
	}
	b, err := s.adoptFile(tmp)
	if err != nil {
		return nil, err
	}
	info, err := s.GGUFInfo(b.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading the GGUF written: %w", err)
	}
	if mediaType == "" {
		mediaType = GGUFMediaType(info.KV)
	}
	l := &newLayer{Layer: b.Layer(mediaType), kv: info.KV, status: "using existing layer " + b.Digest}
	if b.Created {
		l.status = "creating new layer " + b.Digest
		opts.created = append(opts.created, l.Layer)
	}
	return l, nil
}

// isWriteError reports whether the converter failed writing its output file (a full disk, say),
// which is hearth's trouble, not the folder's.
func isWriteError(err error, output string) bool {
	var pe *fs.PathError
	return errors.Is(err, syscall.ENOSPC) || (errors.As(err, &pe) && pe.Path == output && pe.Op != "open")
}

// linkOrCopy makes dst (and its folders) show src's content: a symbolic link, or a copy where links
// are not allowed.
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
