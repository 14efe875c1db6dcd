//go:build !linux

package llama

// releaseMappedPages is a no-op where /proc/self/maps does not exist.
func releaseMappedPages(string) int64 { return 0 }
