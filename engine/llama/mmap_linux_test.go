package llama

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReleaseMappedPagesDropsResidentPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.gguf")
	const size = 8 << 20
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(data)
	var sum byte
	for i := 0; i < size; i += 4096 {
		sum += data[i] // fault every page in, as llama.cpp's loader does while repacking
	}
	if sum != 0 {
		t.Fatal("the file holds zeros")
	}
	before := mappedResident(path)
	if before < size/2 {
		t.Fatalf("only %d bytes of the mapping resident after reading it all", before)
	}
	if got := releaseMappedPages(path); got < size {
		t.Fatalf("released %d bytes, want at least %d", got, size)
	}
	if after := mappedResident(path); after > before/8 {
		t.Fatalf("resident %d bytes after release (before %d)", after, before)
	}
	// The mapping still works: pages fault back in from the page cache.
	if data[size-1] != 0 || data[0] != 0 {
		t.Fatal("mapped data changed")
	}
	if releaseMappedPages(filepath.Join(t.TempDir(), "missing")) != 0 {
		t.Fatal("released pages of a file that does not exist")
	}
}
