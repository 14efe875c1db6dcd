//go:build !unix

package registry

// freeSpace is unknown here; downloads then find out about a full disk when a write fails.
func freeSpace(string) (uint64, bool) { return 0, false }
