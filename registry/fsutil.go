package registry

import (
	"context"
	"io"
	"os"
	"path/filepath"
)

// tempPrefix starts the name of every temporary file hearth creates in blobs/ and manifests/. It is
// not a digest and not a valid name part, so a crash's leftovers are invisible to both hearth's and
// Ollama's listings and are removed by Prune in either program.
const tempPrefix = ".hearth-tmp-"

// syncDir fsyncs a directory so that a rename into it survives a power cut.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeFileAtomic makes path hold exactly data, or leaves it untouched: the bytes go to a temporary
// file in tempDir (same file system), are fsynced, renamed over path, and path's folder is fsynced.
func writeFileAtomic(tempDir, path string, data []byte) error {
	f, err := os.CreateTemp(tempDir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	crashPoint("manifest-rename")
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	committed = true
	return syncDir(filepath.Dir(path))
}

// ctxReader makes a long copy stop when its context is cancelled (a client hanging up mid-upload).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

// Read reads from the underlying reader unless the context is done.
func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
