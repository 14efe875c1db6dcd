package registry

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ollama/ollama/fs/ggml"
)

// DecodeGGUFHeader decodes the header of the GGUF file rs with Ollama's ggml.Decode (arrays longer
// than maxArraySize skipped, all kept when it is negative), after checking that every count and length
// the header declares fits in the file. ggml.Decode trusts them: a 60-byte blob that declares 2^63
// strings makes it loop for ever, a huge string length or dimension count makes it allocate what the
// machine does not have, a string of length 0 in a version 1 file and a general.alignment of 0 make it
// panic. Any GGUF a user uploads or a registry sends goes through here.
func DecodeGGUFHeader(rs io.ReadSeeker, maxArraySize int) (*ggml.GGML, error) {
	size, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := checkGGUFHeader(io.LimitReader(rs, size), size); err != nil {
		return nil, err
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return ggml.Decode(rs, maxArraySize)
}

// GGUF value types, as the format numbers them.
const (
	ggufUint8 uint32 = iota
	ggufInt8
	ggufUint16
	ggufInt16
	ggufUint32
	ggufInt32
	ggufFloat32
	ggufBool
	ggufString
	ggufArray
	ggufUint64
	ggufInt64
	ggufFloat64
)

// ggufScalarSize is the encoded size of each fixed-size GGUF type.
var ggufScalarSize = map[uint32]int64{
	ggufUint8: 1, ggufInt8: 1, ggufBool: 1,
	ggufUint16: 2, ggufInt16: 2,
	ggufUint32: 4, ggufInt32: 4, ggufFloat32: 4,
	ggufUint64: 8, ggufInt64: 8, ggufFloat64: 8,
}

// errGGUFTruncated is a header that declares more than the file holds.
var errGGUFTruncated = errors.New("the GGUF header declares more data than the file holds")

// ggufWalker reads a GGUF header, knowing how many bytes of the file are left.
type ggufWalker struct {
	r       *bufio.Reader
	order   binary.ByteOrder
	left    int64
	version uint32
}

func (w *ggufWalker) skip(n int64) error {
	if n < 0 || n > w.left {
		return errGGUFTruncated
	}
	if _, err := w.r.Discard(int(n)); err != nil {
		return errGGUFTruncated
	}
	w.left -= n
	return nil
}

func (w *ggufWalker) u32() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(w.r, b[:]); err != nil {
		return 0, errGGUFTruncated
	}
	w.left -= 4
	return w.order.Uint32(b[:]), nil
}

func (w *ggufWalker) u64() (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(w.r, b[:]); err != nil {
		return 0, errGGUFTruncated
	}
	w.left -= 8
	return w.order.Uint64(b[:]), nil
}

// count reads a count of items each at least min bytes long, and checks that they fit.
func (w *ggufWalker) count(min int64) (int64, error) {
	n, err := w.u64()
	if err != nil {
		return 0, err
	}
	if n > uint64(w.left/min) {
		return 0, errGGUFTruncated
	}
	return int64(n), nil
}

// str reads a string and returns it when it is short (a key), or skips it.
func (w *ggufWalker) str() (string, error) {
	n, err := w.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(w.left) {
		return "", errGGUFTruncated
	}
	if w.version == 1 && n == 0 {
		return "", errors.New("a version 1 GGUF string without its terminating NUL")
	}
	if n > 256 {
		return "", w.skip(int64(n))
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(w.r, b); err != nil {
		return "", errGGUFTruncated
	}
	w.left -= int64(n)
	return string(b), nil
}

// value skips a value of type t, returning it when it is a uint32 (general.alignment's type).
func (w *ggufWalker) value(t uint32) (any, error) {
	switch {
	case t == ggufString:
		_, err := w.str()
		return nil, err
	case t == ggufArray:
		et, err := w.u32()
		if err != nil {
			return nil, err
		}
		if et == ggufString {
			n, err := w.count(8)
			for ; err == nil && n > 0; n-- {
				_, err = w.str()
			}
			return nil, err
		}
		size, ok := ggufScalarSize[et]
		if !ok {
			return nil, fmt.Errorf("invalid GGUF array type %d", et)
		}
		n, err := w.count(size)
		if err != nil {
			return nil, err
		}
		return nil, w.skip(n * size)
	case t == ggufUint32:
		return w.u32()
	}
	size, ok := ggufScalarSize[t]
	if !ok {
		return nil, fmt.Errorf("invalid GGUF type %d", t)
	}
	return nil, w.skip(size)
}

// checkGGUFHeader walks the header of a GGUF file of size bytes and refuses one that ggml.Decode
// could not read in bounded time and memory. A file that is not GGUF is left for ggml.Decode to refuse.
func checkGGUFHeader(r io.Reader, size int64) error {
	w := &ggufWalker{r: bufio.NewReaderSize(r, 64<<10), left: size, order: binary.LittleEndian}
	magic, err := w.u32()
	if err != nil {
		return nil
	}
	switch magic {
	case ggml.FILE_MAGIC_GGUF_LE:
	case ggml.FILE_MAGIC_GGUF_BE:
		w.order = binary.BigEndian
	default:
		return nil
	}
	if w.version, err = w.u32(); err != nil {
		return err
	}
	var numTensor, numKV int64
	if w.version == 1 {
		t, err := w.u32()
		if err != nil {
			return err
		}
		kv, err := w.u32()
		if err != nil {
			return err
		}
		numTensor, numKV = int64(t), int64(kv)
	} else {
		t, err := w.u64()
		if err != nil {
			return err
		}
		kv, err := w.u64()
		if err != nil {
			return err
		}
		if t > uint64(size) || kv > uint64(size) {
			return errGGUFTruncated
		}
		numTensor, numKV = int64(t), int64(kv)
	}
	// A key/value is at least a key length, a type and a byte; a tensor a name length, a dimension
	// count, a kind and an offset.
	if numKV > w.left/13 || numTensor > w.left/24 {
		return errGGUFTruncated
	}
	var alignment any
	for range numKV {
		key, err := w.str()
		if err != nil {
			return err
		}
		t, err := w.u32()
		if err != nil {
			return err
		}
		v, err := w.value(t)
		if err != nil {
			return err
		}
		if key == "general.alignment" {
			alignment = v
		}
	}
	if a, ok := alignment.(uint32); ok && a == 0 {
		return errors.New("general.alignment is 0")
	}
	for range numTensor {
		if _, err := w.str(); err != nil {
			return err
		}
		dims, err := w.u32()
		if err != nil {
			return err
		}
		if int64(dims) > w.left/8 {
			return errGGUFTruncated
		}
		if err := w.skip(int64(dims)*8 + 4 + 8); err != nil {
			return err
		}
	}
	return nil
}
