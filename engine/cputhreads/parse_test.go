package cputhreads

import (
	"slices"
	"testing"
)

func TestParseCPUMax(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{"max 100000\n", 0, false},
		{"150000 100000\n", 1.5, false},
		{"200000 100000", 2, false},
		{"50000", 0.5, false}, // the period defaults to 100 ms
		{"", 0, true},
		{"abc 100000", 0, true},
		{"100000 0", 0, true},
		{"-5 100000", 0, true},
		{"1 2 3", 0, true},
	} {
		got, err := parseCPUMax(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseCPUMax(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseCFSQuota(t *testing.T) {
	for _, tc := range []struct {
		quota, period string
		want          float64
		err           bool
	}{
		{"-1\n", "100000\n", 0, false},
		{"250000\n", "100000\n", 2.5, false},
		{"100000", "50000", 2, false},
		{"x", "100000", 0, true},
		{"100000", "", 0, true},
	} {
		got, err := parseCFSQuota(tc.quota, tc.period)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseCFSQuota(%q, %q) = %v, %v; want %v, error %v", tc.quota, tc.period, got, err, tc.want, tc.err)
		}
	}
}

func TestParseCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"0-3\n", []int{0, 1, 2, 3}, false},
		{"0,2,4-5", []int{0, 2, 4, 5}, false},
		{"7", []int{7}, false},
		{"", nil, false},
		{"3-1", nil, true},
		{"a-b", nil, true},
		{"1,,2", nil, true},
	} {
		got, err := parseCPUList(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	v1 := "9:name=systemd:/\n4:memory:/a/b\n3:cpuset:/\n2:cpu,cpuacct:/docker/abc\n0::/\n"
	if p := parseProcCgroup(v1); p.v1CPU != "/docker/abc" || p.v2 != "/" {
		t.Errorf("hybrid: %+v", p)
	}
	if p := parseProcCgroup("0::/user.slice/app.scope\n"); p.v2 != "/user.slice/app.scope" || p.v1CPU != "" {
		t.Errorf("unified: %+v", p)
	}
	if p := parseProcCgroup("garbage\n"); p != (cgroupPaths{}) {
		t.Errorf("garbage: %+v", p)
	}
}

func TestSystemThreads(t *testing.T) {
	smt := func(cpu int) (string, bool) {
		return []string{"0/0", "0/0", "0/1", "0/1", "0/2", "0/2", "0/3", "0/3"}[cpu], true
	}
	for _, tc := range []struct {
		name string
		s    system
		want int
	}{
		{"no information", system{}, 1},
		{"four CPUs, no topology", system{cpus: []int{0, 1, 2, 3}}, 4},
		{"SMT pairs count once", system{cpus: []int{0, 1, 2, 3, 4, 5, 6, 7}, core: smt}, 4},
		{"affinity to two siblings", system{cpus: []int{2, 3}, core: smt}, 1},
		{"affinity across cores", system{cpus: []int{0, 2, 4}, core: smt}, 3},
		{"quota below the cores", system{cpus: []int{0, 1, 2, 3, 4, 5, 6, 7}, core: smt, quota: 2.5}, 2},
		{"quota above the cores", system{cpus: []int{0, 1}, quota: 8}, 2},
		{"quota under one CPU", system{cpus: []int{0, 1, 2, 3}, quota: 0.3}, 1},
		{"unknown topology counts the CPU", system{cpus: []int{0, 9}, core: func(c int) (string, bool) { return "0/0", c == 0 }}, 2},
	} {
		if got := tc.s.threads(); got != tc.want {
			t.Errorf("%s: threads() = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestMinQuotaTakesTheTightestAncestor(t *testing.T) {
	quotas := map[string]float64{"/sys/fs/cgroup": 0, "/sys/fs/cgroup/a": 4, "/sys/fs/cgroup/a/b": 0, "/sys/fs/cgroup/a/b/c": 6}
	read := func(d string) (float64, bool) { q, ok := quotas[d]; return q, ok }
	if got := minQuota("/sys/fs/cgroup", "/sys/fs/cgroup/a/b/c", read); got != 4 {
		t.Errorf("minQuota = %v, want 4 (a's limit binds c)", got)
	}
	if got := minQuota("/sys/fs/cgroup", "/sys/fs/cgroup", read); got != 0 {
		t.Errorf("minQuota at the root = %v, want 0", got)
	}
}

func TestIntersect(t *testing.T) {
	if got := intersect([]int{0, 1, 2, 3}, []int{2, 3, 4}); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("intersect = %v", got)
	}
	if got := intersect(nil, []int{1}); !slices.Equal(got, []int{1}) {
		t.Errorf("intersect(nil) = %v", got)
	}
	if got := intersect([]int{0, 1}, []int{5}); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("disjoint: %v, want the affinity", got)
	}
}

func TestDefaultIsWithinTheCPUs(t *testing.T) {
	if n := Default(); n < 1 || n > 1024 {
		t.Errorf("Default() = %d", n)
	}
}
