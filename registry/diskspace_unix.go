//go:build unix

package registry

import "golang.org/x/sys/unix"

// freeSpace reports the bytes an unprivileged writer may still use on the file system of dir.
func freeSpace(dir string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
