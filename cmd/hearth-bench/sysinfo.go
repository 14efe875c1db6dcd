package main

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearthlink/hearth/internal/proctree"

	"github.com/ollama/ollama/fs/ggml"
)

// sysInfo describes the machine the run measured.
type sysInfo struct {
	CPU string `json:"cpu"`
	// Family and ModelNumber are /proc/cpuinfo's "cpu family" and "model": what tells CPU generations apart
	// where a virtual machine names its CPU only "AMD EPYC" (family 25 is Zen 3 and Zen 4, 26 Zen 5).
	Family      string   `json:"cpu_family,omitempty"`
	ModelNumber string   `json:"cpu_model_number,omitempty"`
	Cores       int      `json:"cores"`
	MemoryGB    float64  `json:"memory_gb"`
	Features    []string `json:"features"`
	AMX         bool     `json:"amx"`
	// ReadGBs is the read bandwidth over a buffer far larger than the caches, all cores reading.
	ReadGBs float64 `json:"read_gb_s"`
	// CopyGBs is copy bandwidth (bytes read plus bytes written, per second), all cores copying.
	CopyGBs float64 `json:"copy_gb_s"`
	// LoadAvg is /proc/loadavg's first three fields when the run started.
	LoadAvg string `json:"load_avg"`
}

// measureSystem reads the CPU's name and features and measures memory bandwidth.
func measureSystem() sysInfo {
	s := sysInfo{Cores: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			s.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch {
			case k == "model name" && s.CPU == "":
				s.CPU = v
			case k == "cpu family" && s.Family == "":
				s.Family = v
			case k == "model" && s.ModelNumber == "":
				s.ModelNumber = v
			case k == "flags" && s.Features == nil:
				for _, flag := range strings.Fields(v) {
					if strings.HasPrefix(flag, "avx") || strings.HasPrefix(flag, "amx") || flag == "f16c" || flag == "fma" {
						s.Features = append(s.Features, flag)
					}
				}
			}
		}
		f.Close()
	}
	s.AMX = slices.Contains(s.Features, "amx_int8")
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		s.MemoryGB = float64(parseMemTotal(string(b))) / 1e9
	}
	s.ReadGBs, s.CopyGBs = bandwidth(256 << 20)
	return s
}

// cpuHasAMX reports whether the CPU advertises AMX int8 tiles.
func cpuHasAMX() bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	return err == nil && strings.Contains(string(b), "amx_int8")
}

// parseMemTotal returns MemTotal from /proc/meminfo text, in bytes.
func parseMemTotal(meminfo string) int64 {
	return proctree.ParseKB(strings.NewReader(meminfo), "MemTotal")
}

// bandwidth measures memory bandwidth with one goroutine per core over a buffer of size bytes (split
// between them): the best pass of summing every word (read) and of copy (read + write). It is a
// simple STREAM-like estimate, good enough to put decode speed beside the machine's limit. The run measures
// it at its start and again at its end and keeps the higher figures.
func bandwidth(size int) (readGBs, copyGBs float64) {
	workers := runtime.NumCPU()
	words := size / 8 / workers
	src := make([][]uint64, workers)
	dst := make([][]uint64, workers)
	for i := range workers {
		src[i], dst[i] = make([]uint64, words), make([]uint64, words)
		for j := range src[i] {
			src[i][j] = uint64(j)
		}
		copy(dst[i], src[i]) // touch every page before timing
	}
	pass := func(f func(i int)) time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for i := range workers {
			wg.Go(func() { f(i) })
		}
		wg.Wait()
		return time.Since(start)
	}
	var sink uint64
	var mu sync.Mutex
	// The best pass over about two seconds: on a shared machine other processes steal bandwidth, and the
	// fastest pass is the closest to what the memory system can do.
	best := func(f func(i int)) time.Duration {
		d := time.Duration(1 << 62)
		for start := time.Now(); time.Since(start) < 2*time.Second; {
			d = min(d, pass(f))
		}
		return d
	}
	read := best(func(i int) {
		s := sumWords(src[i])
		mu.Lock()
		sink += s
		mu.Unlock()
	})
	cp := best(func(i int) { copy(dst[i], src[i]) })
	_ = sink
	total := float64(words * 8 * workers)
	return total / read.Seconds() / 1e9, 2 * total / cp.Seconds() / 1e9
}

// sumWords adds up s with eight independent accumulators, so the loop is bound by memory, not by the
// dependency chain of one sum.
func sumWords(s []uint64) uint64 {
	var a0, a1, a2, a3, a4, a5, a6, a7 uint64
	i := 0
	for ; i+8 <= len(s); i += 8 {
		a0 += s[i]
		a1 += s[i+1]
		a2 += s[i+2]
		a3 += s[i+3]
		a4 += s[i+4]
		a5 += s[i+5]
		a6 += s[i+6]
		a7 += s[i+7]
	}
	for ; i < len(s); i++ {
		a0 += s[i]
	}
	return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
}

// bytesPerToken is what one decode step of the GGUF model at path must read from memory: every weight
// tensor except the token-embedding table, of which a step reads one row (unless the model ties its output
// projection to it). The KV cache read, small at short contexts, is left out, so the limit this gives is
// an upper bound.
func bytesPerToken(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	g, err := ggml.Decode(f, 0)
	if err != nil {
		return 0, err
	}
	var n, embd int64
	tied := true
	for _, t := range g.Tensors().Items() {
		switch t.Name {
		case "token_embd.weight":
			embd = int64(t.Size())
			continue
		case "output.weight":
			tied = false
		}
		n += int64(t.Size())
	}
	if tied {
		n += embd
	}
	return n, nil
}
