package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"regexp"
	"sync"
	"testing"
)

func TestWriteBlobRoundTrip(t *testing.T) {
	s := openStore(t, Options{})
	data := []byte("hello, blob")
	want := digestOfBytes(data)

	b, err := s.WriteBlob(context.Background(), bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	if b.Digest != want || b.Size != int64(len(data)) || !b.Created {
		t.Fatalf("WriteBlob = %+v, want digest %s size %d created", b, want, len(data))
	}
	if !s.HasBlob(want) || !s.HasBlob("sha256-"+want[7:]) {
		t.Error("HasBlob = false after write")
	}
	p, err := s.BlobPath(want)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p, s.Root()+"/blobs/sha256-"+want[7:]; got != want {
		t.Errorf("BlobPath = %q, want %q", got, want)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("blob mode %v, want 0644 like Ollama", fi.Mode().Perm())
	}
	f, err := s.OpenBlob(want)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, data) {
		t.Errorf("OpenBlob content %q, want %q", got, data)
	}

	// Same content again, announced in the file-name form: accepted, not re-created.
	b, err = s.WriteBlob(context.Background(), bytes.NewReader(data), "sha256-"+want[7:])
	if err != nil || b.Created || b.Digest != want {
		t.Fatalf("second WriteBlob = %+v, %v; want existing %s", b, err, want)
	}
	if files := blobFiles(t, s); len(files) != 1 {
		t.Errorf("blobs/ = %v, want one file", files)
	}
	if s.HasBlob("sha256:" + string(bytes.Repeat([]byte("0"), 64))) {
		t.Error("HasBlob of an absent blob = true")
	}
	if _, err := s.OpenBlob("nope"); !errors.Is(err, ErrInvalidDigest) {
		t.Errorf("OpenBlob(nope) = %v, want ErrInvalidDigest", err)
	}
}

// failingReader yields some bytes, then an error: a client that hung up mid-upload.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestWriteBlobFailuresLeaveNothing(t *testing.T) {
	data := bytes.Repeat([]byte("weights "), 100_000)
	other := digestOfBytes([]byte("something else"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name     string
		ctx      context.Context
		r        io.Reader
		expected string
		is       error
	}{
		{"digest mismatch", context.Background(), bytes.NewReader(data), other, ErrDigestMismatch},
		{"truncated stream", context.Background(), bytes.NewReader(data[:len(data)/2]), digestOfBytes(data), ErrDigestMismatch},
		{"read error", context.Background(), &failingReader{data: data[:5000], err: io.ErrUnexpectedEOF}, digestOfBytes(data), io.ErrUnexpectedEOF},
		{"read error without expected digest", context.Background(), &failingReader{data: data[:5000], err: io.ErrUnexpectedEOF}, "", io.ErrUnexpectedEOF},
		{"cancelled", cancelled, bytes.NewReader(data), "", context.Canceled},
		{"malformed expected digest", context.Background(), bytes.NewReader(data), "sha256:XYZ", ErrInvalidDigest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, Options{})
			_, err := s.WriteBlob(tc.ctx, tc.r, tc.expected)
			if !errors.Is(err, tc.is) {
				t.Fatalf("WriteBlob error = %v, want %v", err, tc.is)
			}
			if files := blobFiles(t, s); len(files) != 0 {
				t.Errorf("blobs/ holds %v after a failed write, want nothing", files)
			}
		})
	}
}

func TestDigestMismatchMessageIsOllamas(t *testing.T) {
	s := openStore(t, Options{})
	want := digestOfBytes([]byte("a"))
	_, err := s.WriteBlob(context.Background(), bytes.NewReader([]byte("b")), want)
	var me *DigestMismatchError
	if !errors.As(err, &me) {
		t.Fatalf("error %v, want *DigestMismatchError", err)
	}
	if me.Expected != want || me.Got != digestOfBytes([]byte("b")) {
		t.Errorf("mismatch %+v", me)
	}
	re := regexp.MustCompile(`^digest mismatch, expected "sha256:[0-9a-f]{64}", got "sha256:[0-9a-f]{64}"$`)
	if !re.MatchString(err.Error()) {
		t.Errorf("message %q does not read like Ollama's", err.Error())
	}
}

func TestConcurrentWritersOfOneBlob(t *testing.T) {
	s := openStore(t, Options{})
	data := make([]byte, 4<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	want := digestOfBytes(data)

	const writers = 8
	var wg sync.WaitGroup
	results := make([]Blob, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Small reads interleave the writers.
			results[i], errs[i] = s.WriteBlob(context.Background(), io.LimitReader(bytes.NewReader(data), int64(len(data))), want)
		}()
	}
	wg.Wait()

	created := 0
	for i := range writers {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v", i, errs[i])
		}
		if results[i].Digest != want || results[i].Size != int64(len(data)) {
			t.Fatalf("writer %d got %+v", i, results[i])
		}
		if results[i].Created {
			created++
		}
	}
	if created == 0 {
		t.Error("no writer reports creating the blob")
	}
	if files := blobFiles(t, s); len(files) != 1 {
		t.Fatalf("blobs/ = %v, want exactly one blob and no temporary files", files)
	}
	p, _ := s.BlobPath(want)
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if digestOfBytes(got) != want {
		t.Fatal("blob content corrupted by concurrent writers")
	}
}

func TestBlobLayer(t *testing.T) {
	s := openStore(t, Options{})
	l := putBlob(t, s, MediaTypeModel, []byte("gguf?"))
	got, err := s.BlobLayer("sha256-"+l.Digest[7:], MediaTypeAdapter)
	if err != nil {
		t.Fatal(err)
	}
	if got != (Layer{MediaType: MediaTypeAdapter, Digest: l.Digest, Size: 5}) {
		t.Errorf("BlobLayer = %+v", got)
	}
	if _, err := s.BlobLayer(digestOfBytes([]byte("absent")), MediaTypeModel); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BlobLayer of absent blob = %v, want ErrNotExist", err)
	}
}
