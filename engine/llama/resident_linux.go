package llama

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/hearthlink/hearth/internal/proctree"
)

// residentMemory is what a loaded model keeps in the server's memory: the anonymous memory its load took
// (repacked weights, the KV cache, compute buffers), measured around Open, plus what its compute buffers
// grew by when a batch larger than any before touched more of them (measured around those decodes), and
// the pages of its GGUF file mapped in now (the weights read in place), read when asked.
type residentMemory struct {
	path string
	anon atomic.Int64
}

// bytes is the model's resident memory now.
func (m *residentMemory) bytes() int64 { return m.anon.Load() + mappedResident(m.path) }

// grew adds the anonymous memory measured to have grown since before, if it did.
func (m *residentMemory) grew(before int64) { m.anon.Add(max(anonymousResident()-before, 0)) }

// anonymousResident is this process's resident anonymous memory (RssAnon in /proc/self/status), or 0.
func anonymousResident() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	return proctree.ParseKB(f, "RssAnon")
}

// mappedResident is the resident size of this process's mappings of the file at path (Rss in
// /proc/self/smaps), or 0.
func mappedResident(path string) int64 {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return 0
	}
	if target, err = filepath.Abs(target); err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0
	}
	defer f.Close()
	var rss int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") { // a mapping's header: start-end perms offset dev inode path
			in = len(fields) >= 6 && strings.Join(fields[5:], " ") == target
			continue
		}
		if in && fields[0] == "Rss:" && len(fields) >= 2 {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			rss += kb << 10
		}
	}
	return rss
}
