package onnx

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearthlink/hearth/models"
)

// testModelDir returns the folder of a generated ONNX test model, generating it on first use.
func testModelDir(t testing.TB, name string) string {
	t.Helper()
	dir, err := models.Ensure(context.Background(), "", name)
	if err != nil {
		t.Fatalf("generating %s: %v", name, err)
	}
	return dir
}

// testLibrary is the ONNX Runtime library the tests load, from the environment scripts/env.sh sets.
func testLibrary() string { return os.Getenv("HEARTH_ORT_LIBRARY") }

// testInit initialises ONNX Runtime or skips the test when its library is not installed.
func testInit(t testing.TB) {
	t.Helper()
	if testLibrary() == "" {
		t.Skip("HEARTH_ORT_LIBRARY is not set (source scripts/env.sh)")
	}
	if err := Init(testLibrary()); err != nil {
		t.Fatal(err)
	}
}

// testLoad loads a generated model with opts and closes it when the test ends.
func testLoad(t testing.TB, name string, opts Options) *Model {
	t.Helper()
	testInit(t)
	m, err := LoadDir(testModelDir(t, name), opts)
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// copyModel copies a generated model's folder into a temporary one the test may damage, leaving out the
// files named in skip.
func copyModel(t testing.TB, name string, skip ...string) string {
	t.Helper()
	src := testModelDir(t, name)
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, e := range entries {
		for _, s := range skip {
			if e.Name() == s {
				continue next
			}
		}
		// Link the big graph, copy the small files the tests may rewrite.
		if filepath.Ext(e.Name()) == ".onnx" {
			if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
