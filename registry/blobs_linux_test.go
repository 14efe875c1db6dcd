//go:build linux

package registry

import (
	"bytes"
	"context"
	"errors"
	"syscall"
	"testing"
)

// TestWriteBlobDiskFullLeavesNothing makes the disk "full" for this process with RLIMIT_FSIZE (the
// write fails with EFBIG, as ENOSPC would on a full disk; the Go runtime ignores SIGXFSZ) and checks
// that no blob and no temporary file is left.
func TestWriteBlobDiskFullLeavesNothing(t *testing.T) {
	s := openStore(t, Options{})
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	limited := syscall.Rlimit{Cur: 1 << 20, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		t.Skip(err)
	}
	data := bytes.Repeat([]byte("w"), 4<<20)
	_, err := s.WriteBlob(context.Background(), bytes.NewReader(data), digestOfBytes(data))
	if rerr := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); rerr != nil {
		t.Fatal(rerr)
	}
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("WriteBlob on a full disk = %v, want EFBIG", err)
	}
	if files := blobFiles(t, s); len(files) != 0 {
		t.Errorf("blobs/ holds %v after a failed write, want nothing", files)
	}
}
