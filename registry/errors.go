package registry

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors, for errors.Is. Each typed error below matches one of them.
var (
	// ErrInvalidName reports a model name that breaks Ollama's naming rules.
	ErrInvalidName = errors.New("invalid model name")
	// ErrNotFound reports a model name with no manifest in the store.
	ErrNotFound = errors.New("model not found")
	// ErrInvalidDigest reports a digest that is not sha256:<64 lowercase hex>; its text is the one
	// Ollama answers HEAD/POST /api/blobs with.
	ErrInvalidDigest = errors.New("invalid digest format")
	// ErrDigestMismatch reports content whose SHA-256 is not the digest it was announced with.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrMissingBlob reports a manifest that references a blob the store does not hold.
	ErrMissingBlob = errors.New("missing blob")
	// ErrCorruptManifest reports a manifest file that cannot be decoded or describes an impossible model.
	ErrCorruptManifest = errors.New("corrupt manifest")
)

// InvalidNameError is a model name that fails Ollama's rules; a handler answers it with 400.
type InvalidNameError struct {
	// Field names the request field the name came from: "name" unless set (Copy uses "source" and
	// "destination"), so the message reads like Ollama's.
	Field string
	// Name is the name as the caller wrote it.
	Name string
}

// Error returns Ollama's wording, e.g. `name "../x" is invalid`.
func (e *InvalidNameError) Error() string {
	field := e.Field
	if field == "" {
		field = "name"
	}
	return fmt.Sprintf("%s %q is invalid", field, e.Name)
}

// Is makes errors.Is(err, ErrInvalidName) true.
func (e *InvalidNameError) Is(target error) bool { return target == ErrInvalidName }

// NotFoundError is a valid name with no model behind it; a handler answers it with 404.
type NotFoundError struct {
	// Name is the name as the caller wrote it.
	Name string
}

// Error returns Ollama's wording, e.g. `model 'llama3.2' not found`.
func (e *NotFoundError) Error() string { return fmt.Sprintf("model '%s' not found", e.Name) }

// Is makes errors.Is true for both ErrNotFound and fs.ErrNotExist, the latter because code ported
// from Ollama checks for it.
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound || target == fs.ErrNotExist
}

// DigestFormatError is a malformed digest string.
type DigestFormatError struct {
	// Digest is the string that was offered as a digest.
	Digest string
}

// Error says what was wrong and what a digest looks like.
func (e *DigestFormatError) Error() string {
	return fmt.Sprintf("invalid digest format %q: want sha256:<64 lowercase hex digits>", e.Digest)
}

// Is makes errors.Is(err, ErrInvalidDigest) true.
func (e *DigestFormatError) Is(target error) bool { return target == ErrInvalidDigest }

// DigestMismatchError is content that hashed to something other than what was expected.
type DigestMismatchError struct {
	// Expected is the digest the caller announced, in sha256:<hex> form.
	Expected string
	// Got is the digest of the bytes actually received, in sha256:<hex> form.
	Got string
}

// Error returns Ollama's wording: `digest mismatch, expected "sha256:…", got "sha256:…"`.
func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("digest mismatch, expected %q, got %q", e.Expected, e.Got)
}

// Is makes errors.Is(err, ErrDigestMismatch) true.
func (e *DigestMismatchError) Is(target error) bool { return target == ErrDigestMismatch }

// MissingBlobError is a model whose manifest names a blob that is not in blobs/, typically after
// an interrupted pull or a blobs/ folder cleaned by hand.
type MissingBlobError struct {
	// Name is the model's name as the caller wrote it.
	Name string
	// Digest is the missing blob, in sha256:<hex> form.
	Digest string
	// MediaType is the media type of the layer (or config) that points at the blob.
	MediaType string
}

// Error says which blob is missing and how to recover.
func (e *MissingBlobError) Error() string {
	return fmt.Sprintf("model '%s' is incomplete: blob %s (%s) is missing; pull or create the model again",
		e.Name, e.Digest, e.MediaType)
}

// Is makes errors.Is(err, ErrMissingBlob) true.
func (e *MissingBlobError) Is(target error) bool { return target == ErrMissingBlob }

// CorruptManifestError is a manifest (or the config blob it names) that cannot be used.
type CorruptManifestError struct {
	// Name is the model's name.
	Name string
	// Err is what went wrong.
	Err error
}

// Error names the model and the cause.
func (e *CorruptManifestError) Error() string {
	return fmt.Sprintf("model '%s' has a corrupt manifest: %v; delete it and pull or create it again", e.Name, e.Err)
}

// Unwrap returns the cause.
func (e *CorruptManifestError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorruptManifest) true.
func (e *CorruptManifestError) Is(target error) bool { return target == ErrCorruptManifest }
