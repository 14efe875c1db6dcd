// Package proctree reads a process tree's members and resident memory from /proc, for the commands that
// measure a running server (hearth-bench beside Ollama, whose runners are child processes; hearth-soak).
package proctree

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Descendants lists the process ids below pid, read from /proc/*/stat; none where /proc cannot be read.
func Descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The parent id is the second field after the parenthesised command, which may hold spaces.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(b[i+1:])); len(f) >= 2 {
			if pp, err := strconv.Atoi(f[1]); err == nil {
				children[pp] = append(children[pp], p)
			}
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// RSS is the resident memory of pid and every process below it, in bytes.
func RSS(pid int) int64 {
	total := rssOf(pid)
	for _, p := range Descendants(pid) {
		total += rssOf(p)
	}
	return total
}

// rssOf reads VmRSS of pid from /proc/<pid>/status, in bytes; 0 when the process is gone.
func rssOf(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	return ParseVmRSS(f)
}

// ParseVmRSS finds the "VmRSS: N kB" line of a /proc status file and returns N in bytes (0 when absent).
func ParseVmRSS(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
