package proctree

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestParseKB(t *testing.T) {
	if got := ParseKB(strings.NewReader("Name:\tx\nVmRSS:\t  2048 kB\n"), "VmRSS"); got != 2048*1024 {
		t.Errorf("ParseKB = %d", got)
	}
	if got := ParseKB(strings.NewReader("Name:\tx\n"), "VmRSS"); got != 0 {
		t.Errorf("ParseKB without the line = %d", got)
	}
	meminfo := "MemTotal:       24576000 kB\nMemFree:  100 kB\nRssAnon: 7 kB\n"
	if got := ParseKB(strings.NewReader(meminfo), "MemFree"); got != 100*1024 {
		t.Errorf("ParseKB MemFree = %d", got)
	}
	if got := ParseKB(strings.NewReader(meminfo), "Rss"); got != 0 {
		t.Errorf("ParseKB matched a field by its prefix: %d", got)
	}
}

// TestTreeOfThisProcess starts a child and finds it below this process, with memory counted.
func TestTreeOfThisProcess(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer cmd.Process.Kill()
	if d := Descendants(os.Getpid()); !slices.Contains(d, cmd.Process.Pid) {
		t.Errorf("descendants %v lack the child %d", d, cmd.Process.Pid)
	}
	self, err := rssOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if tree, err := RSS(os.Getpid()); err != nil || self <= 0 || tree <= self {
		t.Errorf("RSS of this process %d, of its tree %d (%v)", self, tree, err)
	}
	if _, err := CPUTicks(os.Getpid()); err != nil {
		t.Error(err)
	}
}

// TestGoneProcessIsAnError: a process that has exited has no memory to report; that is an error, not 0.
func TestGoneProcessIsAnError(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	if n, err := RSS(cmd.Process.Pid); err == nil {
		t.Errorf("RSS of exited process %d = %d, no error", cmd.Process.Pid, n)
	}
	if n, err := CPUTicks(cmd.Process.Pid); err == nil {
		t.Errorf("CPUTicks of exited process %d = %d, no error", cmd.Process.Pid, n)
	}
}

func TestParseStatTicks(t *testing.T) {
	// pid (comm with spaces) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
	line := "42 (a b) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 20 10 20 0 1 0 5 0 0"
	if n, err := ParseStatTicks(line); err != nil || n != 40 {
		t.Errorf("ParseStatTicks = %d, %v; want 40", n, err)
	}
	if _, err := ParseStatTicks("garbage"); err == nil {
		t.Error("ParseStatTicks of garbage: no error")
	}
}
