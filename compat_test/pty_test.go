package compat_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// terminal is a command running on a real pseudo-terminal, as a user's shell would start it: its own
// session with the terminal as controlling tty, so the program sees a TTY on stdin and stdout, switches it
// to raw mode and reads keys one by one.
type terminal struct {
	t      testing.TB
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    strings.Builder
	done   chan struct{}
}

// startTerminal starts cmd on a new 100x30 pseudo-terminal. It is killed when the test ends if still running.
func startTerminal(t testing.TB, cmd *exec.Cmd) *terminal {
	t.Helper()
	master, slave, err := openPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	term := &terminal{t: t, master: master, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil { // EIO once the program has exited and closed the terminal
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		master.Close()
		if t.Failed() {
			t.Logf("terminal output:\n%s", term.Screen())
		}
	})
	return term
}

// openPTY opens a pseudo-terminal pair through /dev/ptmx, as posix_openpt, unlockpt and ptsname do.
func openPTY() (*os.File, *os.File, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// Type sends keys as a user types them.
func (term *terminal) Type(keys string) {
	term.t.Helper()
	if _, err := io.WriteString(term.master, keys); err != nil {
		term.t.Fatalf("typing %q: %v", keys, err)
	}
}

// ansi matches the terminal control sequences (colours, cursor moves, mode switches) a screen scrape drops.
var ansi = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z])`)

// Screen is everything the program has written so far, without control sequences, and with the
// terminal's CR LF line ends (its output processing turns \n into \r\n) back to \n.
func (term *terminal) Screen() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return strings.ReplaceAll(ansi.ReplaceAllString(term.out.String(), ""), "\r\n", "\n")
}

// WaitFor waits until the screen holds want at least n times, and fails the test after a minute.
func (term *terminal) WaitFor(want string, n int) string {
	term.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s := term.Screen()
		if strings.Count(s, want) >= n {
			return s
		}
		select {
		case <-term.done:
			term.t.Fatalf("the program closed the terminal before writing %q %d times", want, n)
		default:
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("%q not written %d times within a minute", want, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Wait waits for the program to exit and returns its exit code; it fails the test after a minute.
func (term *terminal) Wait() int {
	term.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- term.cmd.Wait() }()
	select {
	case err := <-exited:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			term.t.Fatal(err)
		}
		return 0
	case <-time.After(time.Minute):
		term.t.Fatal("the program did not exit within a minute")
		return -1
	}
}
