package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/hearthlink/hearth/internal/proctree"
)

// The busy-machine scenario: single-stream decode measured from the client's side (the same way for every
// server), on the machine as it is, beside K CPU-bound processes, and with the server's process tree in a
// cgroup with a CPU quota. ggml's worker threads spin-wait at every graph node; a thread count that is right
// on a quiet machine can make decoding collapse when other processes hold the cores.

// hogEnv, set in the environment of this binary, makes it spin on one core until killed: a CPU hog.
const hogEnv = "HEARTH_BENCH_HOG"

// busyHogs are the hog counts of the busy-decode workloads.
var busyHogs = []int{0, 1, 2}

// busyLimit is the most a busy measurement streams: a server that collapsed to a few tokens a second is
// measured on what it produced by then, not waited for.
func (b *bench) busyLimit() time.Duration {
	if b.cfg.Short {
		return 5 * time.Second
	}
	return 30 * time.Second
}

// quotaCPUs is the cgroup CPU quota of the quota workload, in CPUs.
const quotaCPUs = 1

// runHogIfAsked spins forever when this process was started as a hog.
func runHogIfAsked() {
	if os.Getenv(hogEnv) == "" {
		return
	}
	x := uint64(1)
	for {
		x = x*6364136223846793005 + 1442695040888963407
	}
}

// busyWorkloads decode with 0, 1 and 2 hogs beside the server, and under a CPU quota; --short runs only
// the one-hog row (a collapsing server makes every row cost its busyLimit).
func (b *bench) busyWorkloads() []workload {
	var ws []workload
	for _, k := range busyHogs {
		if b.cfg.Short && k != 1 {
			continue
		}
		ws = append(ws, workload{Name: fmt.Sprintf("busy-%d", k), On: notMatched,
			Run: func(b *bench, ctx context.Context, s *server, rep int) error { return b.busyDecode(ctx, s, rep, k) }})
	}
	if b.cfg.Short {
		return ws
	}
	return append(ws, workload{Name: "quota", On: notMatched, Run: (*bench).quotaDecode})
}

// defineBusyMetrics registers the scenario's rows.
func (b *bench) defineBusyMetrics() {
	for _, k := range busyHogs {
		label := "single-stream decode, client-side rate, machine as it is"
		if k > 0 {
			label = fmt.Sprintf("single-stream decode, client-side rate, %d CPU-bound process(es) beside the server", k)
		}
		b.res.define(metric{ID: fmt.Sprintf("busy_tps_h%d", k), Group: "Busy machine", Label: label, Unit: "tok/s", HigherIsBetter: true, Expected: b.cfg.Reps})
	}
	b.res.define(metric{ID: "quota_tps", Group: "Busy machine", Label: fmt.Sprintf("single-stream decode, client-side rate, server in a cgroup with a %d-CPU quota", quotaCPUs), Unit: "tok/s", HigherIsBetter: true, Expected: b.cfg.Reps})
}

// busyDecode measures decode with k hogs running.
func (b *bench) busyDecode(ctx context.Context, s *server, rep, k int) error {
	id := fmt.Sprintf("busy_tps_h%d", k)
	stop, err := startHogs(k)
	if err != nil {
		return b.fail(err, s, id)
	}
	defer stop()
	time.Sleep(200 * time.Millisecond) // let the scheduler spread the hogs
	tps, err := b.clientDecode(ctx, s, fmt.Sprintf("busy%d", k), rep)
	if err != nil {
		return b.fail(err, s, id)
	}
	return b.record(s, id, tps, "tok/s")
}

// clientDecode streams a completion and returns the rate at which text chunks arrived, from the first to
// the last, over at most busyLimit.
func (b *bench) clientDecode(ctx context.Context, s *server, tag string, rep int) (float64, error) {
	limit := b.busyLimit()
	ctx, cancel := context.WithTimeout(ctx, limit+time.Minute) // the prompt, and a load, come first
	defer cancel()
	var first, last time.Time
	chunks := 0
	errLimit := errors.New("limit reached")
	err := s.client.Generate(ctx, &api.GenerateRequest{Model: b.llmName, Raw: true,
		Prompt: uniquePrompt(tag, rep, 0, 24), Options: sampling(b.cfg.DecodeTokens)}, func(r api.GenerateResponse) error {
		if r.Response == "" {
			return nil
		}
		last = time.Now()
		if chunks == 0 {
			first = last
		}
		chunks++
		if last.Sub(first) > limit {
			return errLimit
		}
		return nil
	})
	if err != nil && !errors.Is(err, errLimit) {
		return 0, err
	}
	if chunks < 3 {
		return 0, fmt.Errorf("%s streamed %d chunks of text, too few to time", s.spec.Name, chunks)
	}
	return float64(chunks-1) / last.Sub(first).Seconds(), nil
}

// startHogs starts k copies of this binary spinning; stop kills them.
func startHogs(k int) (stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for range k {
		c := exec.Command(exe)
		c.Env = append(os.Environ(), hogEnv+"=1")
		if err := c.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("starting a CPU hog: %w", err)
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}

// quotaDecode unloads the model, moves the server's process tree into a cgroup limited to quotaCPUs, loads
// the model again there (so a server that reads its quota at load sees it), measures decode, then moves the
// tree back and unloads, so later workloads run as before.
func (b *bench) quotaDecode(ctx context.Context, s *server, rep int) error {
	cg, err := newQuotaCgroup(fmt.Sprintf("hearth-bench-%d-%s", os.Getpid(), s.spec.Name), quotaCPUs, s.cmd.Process.Pid)
	if err != nil {
		b.noteOnce("The CPU-quota row was not measured: %v.", err)
		return b.fail(err, s, "quota_tps")
	}
	defer cg.remove()
	if err := s.unload(ctx, b.llmName); err != nil {
		return b.fail(err, s, "quota_tps")
	}
	waitRunnersGone(s)
	if err := cg.add(s.cmd.Process.Pid); err != nil {
		return b.fail(err, s, "quota_tps")
	}
	defer func() {
		_ = s.unload(context.Background(), b.llmName)
		waitRunnersGone(s)
		_ = cg.release(append([]int{s.cmd.Process.Pid}, proctree.Descendants(s.cmd.Process.Pid)...))
	}()
	if err := b.warmLLM(ctx, s, b.llmName); err != nil {
		return b.fail(err, s, "quota_tps")
	}
	tps, err := b.clientDecode(ctx, s, "quota", rep)
	if err != nil {
		return b.fail(err, s, "quota_tps")
	}
	return b.record(s, "quota_tps", tps, "tok/s")
}

// waitRunnersGone waits (10 s at most) until Ollama's runner process has exited after an unload.
func waitRunnersGone(s *server) {
	for deadline := time.Now().Add(10 * time.Second); s.processes() > 1 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
}

// noteOnce adds a remark to the report unless it is there already.
func (b *bench) noteOnce(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if !slices.Contains(b.notes, line) {
		b.notes = append(b.notes, line)
	}
}

// quotaCgroup is a cgroup with a CPU quota, v2 (cpu.max) or v1 (cpu.cfs_quota_us), that processes move in
// and out of.
type quotaCgroup struct {
	dir    string // the cgroup's folder
	parent string // the folder of the cgroup processes go back to
}

// newQuotaCgroup creates cgroup name limited to cpus CPUs under the cgroup filesystem's root, or says why
// it cannot (no write access, no cpu controller). Processes go back to pid's cgroup of now.
func newQuotaCgroup(name string, cpus float64, pid int) (*quotaCgroup, error) {
	const period = 100000
	quota := strconv.Itoa(int(cpus * period))
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil { // v2
		root := "/sys/fs/cgroup"
		ctl, _ := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if !strings.Contains(string(ctl), "cpu") {
			if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+cpu"), 0); err != nil {
				return nil, fmt.Errorf("cannot enable the cgroup v2 cpu controller: %w", err)
			}
		}
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create a cgroup: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(quota+" "+strconv.Itoa(period)), 0); err != nil {
			_ = os.Remove(dir)
			return nil, fmt.Errorf("cannot set cpu.max: %w", err)
		}
		return &quotaCgroup{dir: dir, parent: filepath.Join(root, procCgroup(pid, ""))}, nil
	}
	for _, root := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"} {
		if _, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err != nil {
			continue
		}
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create a cgroup: %w", err)
		}
		err1 := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0)
		err2 := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(quota), 0)
		if err := errors.Join(err1, err2); err != nil {
			_ = os.Remove(dir)
			return nil, fmt.Errorf("cannot set the CPU quota: %w", err)
		}
		return &quotaCgroup{dir: dir, parent: filepath.Join(root, procCgroup(pid, "cpu"))}, nil
	}
	return nil, errors.New("no cgroup cpu controller is mounted")
}

// procCgroup is pid's cgroup path in the v1 hierarchy of controller, or in the v2 one when controller is
// "" ("/" when unknown).
func procCgroup(pid int, controller string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	for line := range strings.SplitSeq(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2]
		}
		if controller != "" && slices.Contains(strings.Split(parts[1], ","), controller) {
			return parts[2]
		}
	}
	return "/"
}

// add moves process pid into the cgroup (its later children are born there).
func (c *quotaCgroup) add(pid int) error {
	return os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// release moves pids back to the parent cgroup.
func (c *quotaCgroup) release(pids []int) error {
	var errs []error
	for _, pid := range pids {
		errs = append(errs, os.WriteFile(filepath.Join(c.parent, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0))
	}
	return errors.Join(errs...)
}

// remove deletes the (empty) cgroup.
func (c *quotaCgroup) remove() { _ = os.Remove(c.dir) }
