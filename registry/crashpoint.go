package registry

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// crashEnv names a step of a store write at which the process kills itself with SIGKILL, so that a
// test can show that a server killed there leaves a consistent store. The value is a step, or
// step:N to be killed the Nth time the step is reached (the first by default). The steps are:
//
//	blob-rename       a blob's temporary file is complete and synced, not yet renamed to its digest
//	quantize-write    a quantization has written part of its output
//	manifest-rename   a manifest's temporary file is complete and synced, not yet renamed
//	manifest-renamed  a manifest was renamed into place; the blobs only the manifest it replaced used are not yet removed
//	delete-unlinked   a deleted model's manifest is gone; its blobs are not yet removed
//
// It is read once, here; unset (the normal case) each crash point is one comparison.
const crashEnv = "HEARTH_TEST_CRASH_AT"

var crashStep, crashCount = parseCrashAt(os.Getenv(crashEnv))

// crashHits counts the times crashStep has been reached.
var crashHits atomic.Int64

func parseCrashAt(v string) (string, int64) {
	step, n, found := strings.Cut(v, ":")
	count, err := strconv.ParseInt(n, 10, 64)
	if !found || err != nil || count < 1 {
		count = 1
	}
	return step, count
}

// crashPoint kills the process if it is the step HEARTH_TEST_CRASH_AT names.
func crashPoint(step string) {
	if crashStep == "" || step != crashStep || crashHits.Add(1) != crashCount {
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill() // SIGKILL on Unix: no deferred function, no cleanup runs
	}
	select {} // the signal is on its way
}
