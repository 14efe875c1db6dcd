package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	ollama "github.com/ollama/ollama/api"
)

// CreateFromPath creates model name on the server behind client from local files, the way `ollama
// create` does: each file is hashed, uploaded to /api/blobs unless the server has it, and named in an
// /api/create request. path is a GGUF file, or a folder (an ONNX model with its tokenizer and config
// files, or a Hugging Face safetensors checkpoint, which the server converts to GGUF), whose files are
// named by their slash-separated paths inside it.
func CreateFromPath(ctx context.Context, client *ollama.Client, name, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	files := map[string]string{}
	if !info.IsDir() {
		d, err := UploadBlob(ctx, client, path)
		if err != nil {
			return err
		}
		files[filepath.Base(path)] = d
	} else {
		err := filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			d, err := UploadBlob(ctx, client, p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(path, p)
			if err != nil {
				return err
			}
			files[filepath.ToSlash(rel)] = d
			return nil
		})
		if err != nil {
			return err
		}
	}
	stream := false
	return client.Create(ctx, &ollama.CreateRequest{Model: name, Files: files, Stream: &stream},
		func(ollama.ProgressResponse) error { return nil })
}

// UploadBlob hashes the file at path, uploads it to the server's blob store and returns its digest.
func UploadBlob(ctx context.Context, client *ollama.Client, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	if err := client.CreateBlob(ctx, digest, f); err != nil {
		return "", fmt.Errorf("uploading %s: %w", filepath.Base(path), err)
	}
	return digest, nil
}
