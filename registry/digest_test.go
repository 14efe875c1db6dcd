package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDigest(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		in, want string
	}{
		{"sha256:" + hex, "sha256:" + hex},
		{"sha256-" + hex, "sha256:" + hex},
		{"sha256:" + strings.ToUpper(hex), ""},
		{"sha256:" + hex[:63], ""},
		{"sha256:" + hex + "0", ""},
		{"sha256:" + hex + "\n", ""},
		{"sha256:" + strings.Repeat("g", 64), ""},
		{"sha512:" + hex, ""},
		{hex, ""},
		{"sha256-" + hex + "-partial", ""},
		{"", ""},
		{"sha256:../../etc/passwd", ""},
	}
	for _, tc := range tests {
		got, err := ParseDigest(tc.in)
		if tc.want == "" {
			var de *DigestFormatError
			if !errors.As(err, &de) || !errors.Is(err, ErrInvalidDigest) {
				t.Errorf("ParseDigest(%q) = %q, %v; want *DigestFormatError", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDigest(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
