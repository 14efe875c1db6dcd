// Package cputhreads chooses how many CPU threads ggml computes with: Default is how many the process may
// really use (its affinity, its cgroup's cpuset and CPU quota, one per physical core), and a Tuner picks,
// while a model decodes, how many of those pay off now. ggml's worker threads wait for each other at every
// graph node by spinning; when another process holds one of their cores, each of those waits lasts until the
// scheduler gives the core back, and a thread count that is right on a quiet machine makes decoding collapse.
package cputhreads

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Default is the thread count for a model loaded with num_thread 0: one per physical core among the CPUs the
// process may run on, no more than its cgroup CPU quota (rounded down), at least 1.
func Default() int {
	return hostSystem().threads()
}

// system is what Default reads from the machine, gathered once so the arithmetic can be tested.
type system struct {
	// cpus are the CPUs the process may run on (affinity and cpuset), nil when unknown.
	cpus []int
	// quota is the cgroup CPU limit in CPUs (1.5: one and a half CPUs' time per period), 0 when none.
	quota float64
	// core names a CPU's physical core (package and core id); CPUs sharing a core are SMT siblings. nil, or
	// ok false for a CPU, counts each CPU as its own core.
	core func(cpu int) (id string, ok bool)
}

func (s system) threads() int {
	n := len(s.cpus)
	if n == 0 {
		n = 1
	}
	if s.core != nil && len(s.cpus) > 0 {
		cores := map[string]bool{}
		for _, c := range s.cpus {
			id, ok := s.core(c)
			if !ok {
				id = "cpu" + strconv.Itoa(c)
			}
			cores[id] = true
		}
		n = len(cores)
	}
	if s.quota > 0 {
		n = min(n, max(1, int(math.Floor(s.quota))))
	}
	return max(1, n)
}

// hostSystem reads this process's affinity, cgroup cpuset and CPU quota, and the CPU topology.
func hostSystem() system {
	var s system
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		for c := range 1024 {
			if set.IsSet(c) {
				s.cpus = append(s.cpus, c)
			}
		}
	}
	cg, _ := os.ReadFile("/proc/self/cgroup")
	paths := parseProcCgroup(string(cg))
	if v2 := cgroupV2Mount(); v2 != "" {
		dir := cgroupDir(v2, paths.v2)
		if b, err := os.ReadFile(filepath.Join(dir, "cpuset.cpus.effective")); err == nil {
			if cpus, err := parseCPUList(string(b)); err == nil && len(cpus) > 0 {
				s.cpus = intersect(s.cpus, cpus)
			}
		}
		s.quota = minQuota(v2, dir, func(d string) (float64, bool) {
			b, err := os.ReadFile(filepath.Join(d, "cpu.max"))
			if err != nil {
				return 0, false
			}
			q, err := parseCPUMax(string(b))
			return q, err == nil
		})
	}
	if s.quota == 0 {
		for _, mount := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"} {
			if _, err := os.Stat(filepath.Join(mount, "cpu.cfs_quota_us")); err != nil {
				continue
			}
			s.quota = minQuota(mount, cgroupDir(mount, paths.v1CPU), func(d string) (float64, bool) {
				qb, err1 := os.ReadFile(filepath.Join(d, "cpu.cfs_quota_us"))
				pb, err2 := os.ReadFile(filepath.Join(d, "cpu.cfs_period_us"))
				if err1 != nil || err2 != nil {
					return 0, false
				}
				q, err := parseCFSQuota(string(qb), string(pb))
				return q, err == nil
			})
			break
		}
	}
	s.core = func(cpu int) (string, bool) {
		dir := "/sys/devices/system/cpu/cpu" + strconv.Itoa(cpu) + "/topology/"
		pkg, err1 := os.ReadFile(dir + "physical_package_id")
		core, err2 := os.ReadFile(dir + "core_id")
		if err1 != nil || err2 != nil {
			return "", false
		}
		return strings.TrimSpace(string(pkg)) + "/" + strings.TrimSpace(string(core)), true
	}
	return s
}

// cgroupV2Mount is where the unified (v2) hierarchy is mounted, or "".
func cgroupV2Mount() string {
	for _, m := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if _, err := os.Stat(filepath.Join(m, "cgroup.controllers")); err == nil {
			return m
		}
	}
	return ""
}

// cgroupDir is the folder of the process's cgroup rel under mount, or mount itself when that folder is not
// there (a container whose cgroup namespace shows its own cgroup as the root).
func cgroupDir(mount, rel string) string {
	if rel != "" {
		d := filepath.Join(mount, rel)
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	return mount
}

// minQuota is the smallest CPU quota read from dir and each folder above it up to mount: a cgroup's limit
// is its own and every ancestor's. 0 when none is limited.
func minQuota(mount, dir string, read func(dir string) (float64, bool)) float64 {
	q := 0.0
	for d := dir; ; d = filepath.Dir(d) {
		if v, ok := read(d); ok && v > 0 && (q == 0 || v < q) {
			q = v
		}
		if d == mount || !strings.HasPrefix(d, mount) || d == filepath.Dir(d) {
			return q
		}
	}
}

func intersect(a, b []int) []int {
	if a == nil {
		return b
	}
	in := map[int]bool{}
	for _, c := range b {
		in[c] = true
	}
	var out []int
	for _, c := range a {
		if in[c] {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return a // the two disagree entirely: trust the kernel's affinity
	}
	return out
}
