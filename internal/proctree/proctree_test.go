package proctree

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	if got := ParseVmRSS(strings.NewReader("Name:\tx\nVmRSS:\t  2048 kB\n")); got != 2048*1024 {
		t.Errorf("ParseVmRSS = %d", got)
	}
	if got := ParseVmRSS(strings.NewReader("Name:\tx\n")); got != 0 {
		t.Errorf("ParseVmRSS without the line = %d", got)
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
	if self, tree := rssOf(os.Getpid()), RSS(os.Getpid()); self <= 0 || tree <= self {
		t.Errorf("RSS of this process %d, of its tree %d", self, tree)
	}
}
