// Package proctree reads a process tree's members, resident memory and CPU time from /proc, for the commands
// that measure a running server (hearth-bench beside Ollama, whose runners are child processes; hearth-soak).
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

// RSS is the resident memory of pid and every process below it, in bytes. It is an error when pid itself
// cannot be read or reports no resident memory (a process that exited, a kernel thread): a failed
// measurement, never a 0. A descendant that exits while the tree is read counts as 0.
func RSS(pid int) (int64, error) {
	total, err := rssOf(pid)
	if err != nil {
		return 0, err
	}
	if total <= 0 {
		return 0, fmt.Errorf("process %d reports no resident memory", pid)
	}
	for _, p := range Descendants(pid) {
		n, _ := rssOf(p)
		total += n
	}
	return total, nil
}

// rssOf reads VmRSS of pid from /proc/<pid>/status, in bytes.
func rssOf(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the resident memory of process %d: %w", pid, err)
	}
	defer f.Close()
	return ParseKB(f, "VmRSS"), nil
}

// CPUTicks is the CPU time (user + system, in clock ticks: /proc/stat's unit) pid and every process below
// it have used, the children they have already waited for included. It is an error when pid itself cannot
// be read; a descendant that exits while the tree is read counts as 0.
func CPUTicks(pid int) (int64, error) {
	total, err := ticksOf(pid)
	if err != nil {
		return 0, err
	}
	for _, p := range Descendants(pid) {
		n, _ := ticksOf(p)
		total += n
	}
	return total, nil
}

// ticksOf reads utime, stime, cutime and cstime of pid from /proc/<pid>/stat.
func ticksOf(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of process %d: %w", pid, err)
	}
	return ParseStatTicks(string(b))
}

// ParseStatTicks adds up utime, stime, cutime and cstime (fields 14–17) of a /proc/<pid>/stat line.
func ParseStatTicks(stat string) (int64, error) {
	// The fields after the parenthesised command, which may hold spaces: state is field 3, utime field 14.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat line %q", truncate(stat, 80))
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 15 {
		return 0, fmt.Errorf("malformed stat line %q", truncate(stat, 80))
	}
	var total int64
	for _, v := range f[11:15] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed stat line %q: %w", truncate(stat, 80), err)
		}
		total += n
	}
	return total, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ParseKB finds the "field: N kB" line of a /proc status or meminfo file (field "VmRSS", "RssAnon",
// "MemTotal", ...) and returns N in bytes (0 when absent).
func ParseKB(r io.Reader, field string) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
