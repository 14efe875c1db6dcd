// Package compat_test holds black-box tests: they build the real hearth binary, start `hearth serve` on a
// free port with a temporary model store, and drive it with clients nobody here wrote (the official Go
// client, the ollama CLI, curl-style HTTP) exactly as a user would.
package compat_test
