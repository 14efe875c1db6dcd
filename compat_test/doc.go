// Package compat holds hearth's black-box tests, in its external test package compat_test: they build
// the real hearth binary, start `hearth serve` on a free port with a temporary model store, and drive it
// with clients nobody here wrote (the official Go client, the ollama CLI, curl) exactly as a user would.
package compat
