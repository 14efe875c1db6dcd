package llama

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// releaseMappedPages drops this process's resident pages of every mapping of the file at path
// (madvise MADV_DONTNEED; the pages stay in the page cache). llama.cpp maps the whole GGUF file, and
// with CPU repacking it reads the repacked tensors (most of a Q4 model) through that mapping once, to
// copy them into interleaved buffers: without this their original pages would stay resident next to
// the copies, counting the same weights twice in the server's memory. Pages still used (tensors that
// were not repacked) fault back in from the page cache on first use. It returns the bytes released.
func releaseMappedPages(path string) int64 {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return 0
	}
	if target, err = filepath.Abs(target); err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	var released int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != target {
			continue
		}
		bounds := strings.SplitN(fields[0], "-", 2)
		if len(bounds) != 2 {
			continue
		}
		start, err1 := strconv.ParseUint(bounds[0], 16, 64)
		end, err2 := strconv.ParseUint(bounds[1], 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); errno == 0 {
			released += int64(end - start)
		}
	}
	return released
}
