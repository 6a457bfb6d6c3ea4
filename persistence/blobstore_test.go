package persistence_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"kash/persistence"
)

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("upload cut")
	}
	n := min(len(p), f.after)
	f.after -= n
	return n, nil
}

func TestFileBlobStore(t *testing.T) {
	dir := t.TempDir()
	s, err := persistence.NewFileBlobStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := bytes.Repeat([]byte("kyc"), 1000)
	if n, err := s.Put(ctx, "kyc/usr_1/kyc_1/document", bytes.NewReader(data)); err != nil || n != int64(len(data)) {
		t.Fatalf("put: %d %v", n, err)
	}
	r, size, err := s.Open(ctx, "kyc/usr_1/kyc_1/document")
	if err != nil || size != int64(len(data)) {
		t.Fatalf("open: %d %v", size, err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	// A failed upload leaves nothing under its key, nor a temporary file.
	if _, err := s.Put(ctx, "kyc/usr_1/kyc_2/document", &failingReader{after: 100}); err == nil {
		t.Fatal("a failed upload was stored")
	}
	if _, _, err := s.Open(ctx, "kyc/usr_1/kyc_2/document"); !errors.Is(err, persistence.ErrBlobNotFound) {
		t.Fatalf("partial blob: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "kyc", "usr_1", "kyc_2"))
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
	for _, bad := range []string{"", "/abs", "a/../b", "a//b", "A/b", "a/b/", "a/b c", ".."} {
		if _, err := s.Put(ctx, bad, bytes.NewReader(nil)); !errors.Is(err, persistence.ErrBadBlobKey) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	if err := s.Delete(ctx, "kyc/usr_1/kyc_1/document"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "kyc/usr_1/kyc_1/document"); err != nil {
		t.Fatalf("delete twice: %v", err)
	}
	if info, err := os.Stat(filepath.Join(dir, "kyc")); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode: %v %v", info.Mode(), err)
	}
}
