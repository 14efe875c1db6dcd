package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// digestPrefix is the only algorithm Ollama's store knows.
const digestPrefix = "sha256:"

// ParseDigest validates a blob digest and returns it in the canonical sha256:<hex> form. It accepts
// the wire form (sha256:<hex>) and the file-name form (sha256-<hex>); the hex part must be 64 lowercase
// digits, since blob files are named in lowercase and an uppercase digest would name a file that
// cannot exist. Anything else is a *DigestFormatError.
func ParseDigest(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		rest, ok = strings.CutPrefix(s, "sha256-")
	}
	if !ok || !isLowerHex64(rest) {
		return "", &DigestFormatError{Digest: s}
	}
	return digestPrefix + rest, nil
}

// isLowerHex64 reports whether s is exactly 64 lowercase hexadecimal digits.
func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// blobFileName is the name of a canonical digest's file in blobs/: the colon becomes a dash, which
// every file system accepts.
func blobFileName(digest string) string {
	return "sha256-" + strings.TrimPrefix(digest, digestPrefix)
}

// digestOfFileName returns the canonical digest a blobs/ entry is named after, or false for
// anything else (partial downloads, temporary files, stray files).
func digestOfFileName(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "sha256-")
	if !ok || !isLowerHex64(rest) {
		return "", false
	}
	return digestPrefix + rest, true
}

// newDigester returns the hash a digest is computed with.
func newDigester() hash.Hash { return sha256.New() }

// digestOf formats a finished hash as a canonical digest.
func digestOf(h hash.Hash) string { return digestPrefix + hex.EncodeToString(h.Sum(nil)) }
