package llama

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ggufMagic is "GGUF" read as a little-endian uint32.
const ggufMagic = 0x46554747

// Smallest possible encodings, used to reject counts no file of this size could hold: a key/value is a
// string length (8), a type (4) and at least one byte of value; a tensor info is a name length (8), a
// dimension count (4), a type (4) and an offset (8).
const (
	minKVBytes     = 8 + 4 + 1
	minTensorBytes = 8 + 4 + 4 + 8
	ggufHeaderSize = 4 + 4 + 8 + 8
)

// checkGGUF rejects files llama.cpp should never see: not GGUF, an unsupported version, a header cut short,
// or key/value and tensor counts no file of this size could hold (llama.cpp would try to allocate for them
// before noticing). Everything finer — tensor bounds, types, shapes — llama.cpp's own loader checks and
// reports as a failed load.
func checkGGUF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var hdr [ggufHeaderSize]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("invalid GGUF file: %d bytes is too short for a header", st.Size())
		}
		return err
	}
	if m := binary.LittleEndian.Uint32(hdr[0:4]); m != ggufMagic {
		return fmt.Errorf("invalid GGUF file: bad magic %q (expected \"GGUF\")", hdr[0:4])
	}
	version := binary.LittleEndian.Uint32(hdr[4:8])
	if version < 2 || version > 3 {
		return fmt.Errorf("invalid GGUF file: unsupported version %d", version)
	}
	tensors := binary.LittleEndian.Uint64(hdr[8:16])
	kvs := binary.LittleEndian.Uint64(hdr[16:24])
	room := uint64(st.Size() - ggufHeaderSize)
	if tensors > room/minTensorBytes || kvs > room/minKVBytes || tensors*minTensorBytes+kvs*minKVBytes > room {
		return fmt.Errorf("invalid GGUF file: %d tensors and %d key/values cannot fit in %d bytes (truncated or corrupt file)",
			tensors, kvs, st.Size())
	}
	return nil
}
