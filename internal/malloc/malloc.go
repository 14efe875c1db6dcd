//go:build linux && cgo

// Package malloc bounds what glibc's allocator keeps of the memory a model load and unload cycle frees.
//
// llama.cpp and ggml allocate a model's context, compute and batch buffers (hundreds of KiB to tens of MiB
// each) with malloc when it loads and free them when it unloads. glibc serves a block at or above its mmap
// threshold with its own mmap, given back on free; but the threshold is dynamic: each time such a block is
// freed it rises to that block's size (up to 32 MiB), so from the first unload on, the next load's buffers
// come from the arenas instead, where what they leave behind is kept as free space that the next load, of
// other sizes and on another thread's arena, does not fit. A server that loads and unloads models all day
// then grows without bound although nothing leaks (measured on bert-embed loaded and freed 150 times:
// malloc's in-use bytes back to under 1 MiB after each unload, its free bytes 1,141 MiB and RSS from 39 to
// 110 MiB; with the threshold fixed at 1 MiB, RSS 37 to 55 MiB and free bytes 22 MiB, flat; 4 MiB still
// grows). Fixing the threshold keeps those buffers on mmap.
package malloc

/*
#include <malloc.h>

static int hearth_set_mmap_threshold(int bytes) {
#ifdef M_MMAP_THRESHOLD
	return mallopt(M_MMAP_THRESHOLD, bytes);
#else
	return 0;
#endif
}
*/
import "C"

import (
	"os"
	"strings"
)

// MmapThreshold is the fixed size from which a block gets its own mapping: measured the smallest that
// keeps the load/unload cycle flat with the fewest mappings (each Go-engine forward pass maps its few MiB
// of graph metadata once; a page fault per page it touches).
const MmapThreshold = 1 << 20

// BoundFragmentation fixes glibc's mmap threshold at MmapThreshold, unless the user set one
// (MALLOC_MMAP_THRESHOLD_ or glibc.malloc.mmap_threshold in GLIBC_TUNABLES), and reports whether it did.
// Call it once at startup, before models load.
func BoundFragmentation() bool {
	if os.Getenv("MALLOC_MMAP_THRESHOLD_") != "" || strings.Contains(os.Getenv("GLIBC_TUNABLES"), "mmap_threshold") {
		return false
	}
	return C.hearth_set_mmap_threshold(MmapThreshold) == 1
}
