//go:build !linux || !cgo

package malloc

// MmapThreshold is glibc's; there is no glibc here.
const MmapThreshold = 1 << 20

// BoundFragmentation does nothing without glibc.
func BoundFragmentation() bool { return false }
