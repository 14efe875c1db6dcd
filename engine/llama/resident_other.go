//go:build !linux

package llama

import "sync/atomic"

// residentMemory is unknown where /proc does not exist: bytes is 0, and /api/ps reports the estimate.
type residentMemory struct {
	path string
	anon atomic.Int64
}

func (m *residentMemory) bytes() int64 { return 0 }

func (m *residentMemory) grew(int64) {}

func anonymousResident() int64 { return 0 }
