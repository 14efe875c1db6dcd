package cputhreads

import (
	"fmt"
	"strconv"
	"strings"
)

// cgroupPaths are a process's cgroups as /proc/PID/cgroup lists them.
type cgroupPaths struct {
	v2    string // the unified hierarchy's path ("0::/path")
	v1CPU string // the v1 cpu controller's path ("N:cpu,cpuacct:/path")
}

// parseProcCgroup reads /proc/PID/cgroup's lines "hierarchy-id:controllers:path".
func parseProcCgroup(s string) cgroupPaths {
	var p cgroupPaths
	for line := range strings.SplitSeq(s, "\n") {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			p.v2 = parts[2]
			continue
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			if c == "cpu" {
				p.v1CPU = parts[2]
			}
		}
	}
	return p
}

// parseCPUMax reads cgroup v2's cpu.max, "QUOTA PERIOD" in microseconds or "max PERIOD", as CPUs (0: no limit).
func parseCPUMax(s string) (float64, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return 0, fmt.Errorf("cpu.max %q: want QUOTA [PERIOD]", s)
	}
	if f[0] == "max" {
		return 0, nil
	}
	period := "100000" // the kernel's default when only the quota is written
	if len(f) == 2 {
		period = f[1]
	}
	return quotaCPUs(f[0], period)
}

// parseCFSQuota reads cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us as CPUs (0: no limit, quota -1).
func parseCFSQuota(quota, period string) (float64, error) {
	if strings.TrimSpace(quota) == "-1" {
		return 0, nil
	}
	return quotaCPUs(strings.TrimSpace(quota), strings.TrimSpace(period))
}

func quotaCPUs(quota, period string) (float64, error) {
	q, err := strconv.ParseInt(quota, 10, 64)
	if err != nil || q <= 0 {
		return 0, fmt.Errorf("CPU quota %q is not a positive number of microseconds", quota)
	}
	p, err := strconv.ParseInt(period, 10, 64)
	if err != nil || p <= 0 {
		return 0, fmt.Errorf("CPU period %q is not a positive number of microseconds", period)
	}
	return float64(q) / float64(p), nil
}

// parseCPUList reads a kernel CPU list ("0-3,8,10-11"), as cpuset.cpus.effective holds it.
func parseCPUList(s string) ([]int, error) {
	var cpus []int
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("CPU list %q: bad CPU %q", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("CPU list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
