package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	valid := []struct{ in, short, path string }{
		{"llama3.2", "llama3.2:latest", "registry.ollama.ai/library/llama3.2/latest"},
		{"llama3.2:1b", "llama3.2:1b", "registry.ollama.ai/library/llama3.2/1b"},
		{"user/m:tag", "user/m:tag", "registry.ollama.ai/user/m/tag"},
		{"hf.co/u/r:Q4_K_M", "hf.co/u/r:Q4_K_M", "hf.co/u/r/Q4_K_M"},
		{"localhost:5000/ns/m:t", "localhost:5000/ns/m:t", "localhost:5000/ns/m/t"},
		{"https://example.com/ns/m", "example.com/ns/m:latest", "example.com/ns/m/latest"},
		{"_x", "_x:latest", "registry.ollama.ai/library/_x/latest"},
	}
	for _, tc := range valid {
		t.Run(tc.in, func(t *testing.T) {
			n, err := ParseName(tc.in)
			if err != nil {
				t.Fatalf("ParseName(%q): %v", tc.in, err)
			}
			if got := n.DisplayShortest(); got != tc.short {
				t.Errorf("DisplayShortest = %q, want %q", got, tc.short)
			}
			if got := n.Filepath(); got != tc.path {
				t.Errorf("Filepath = %q, want %q", got, tc.path)
			}
		})
	}

	invalid := []string{
		"", ":", "x:", "/x", "x/", "../x", "..", "./x", "x/../y", "a/b/c/d",
		`a\b`, `..\x`, `C:\models\x`, "/etc/passwd", ".hidden", "-x", "a b", "ns.dot/m",
		"m:" + strings.Repeat("t", 81), strings.Repeat("m", 81), "model:ta/g", "m:../../t",
	}
	for _, in := range invalid {
		t.Run("invalid "+in, func(t *testing.T) {
			_, err := ParseName(in)
			var ie *InvalidNameError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidName) {
				t.Fatalf("ParseName(%q) = %v, want *InvalidNameError", in, err)
			}
			if want := fmt.Sprintf("name %q is invalid", in); err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestNamesMatchCaseInsensitivelyStoredCasingWins(t *testing.T) {
	s := openStore(t, Options{})
	cfg := putBlob(t, s, MediaTypeConfig, []byte(`{}`))
	if _, err := s.WriteManifest("MyOrg/MyModel:Latest", NewManifest(cfg, nil)); err != nil {
		t.Fatal(err)
	}

	m, err := s.Resolve("myorg/mymodel:latest")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.ShortName, "MyOrg/MyModel:Latest"; got != want {
		t.Errorf("ShortName = %q, want the stored casing %q", got, want)
	}

	// Writing under another casing replaces the stored model instead of creating a twin.
	if _, err := s.WriteManifest("MYORG/mymodel:LATEST", NewManifest(cfg, nil)); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name.DisplayShortest() != "MyOrg/MyModel:Latest" {
		t.Fatalf("List = %+v, want only MyOrg/MyModel:Latest", list)
	}

	if err := s.Delete("MYORG/MYMODEL:latest"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("MyOrg/MyModel:Latest"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete Resolve = %v, want not found", err)
	}
}
