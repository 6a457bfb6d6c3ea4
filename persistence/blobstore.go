package persistence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrBlobNotFound means no blob is stored under the key.
var ErrBlobNotFound = errors.New("blob not found")

// ErrBadBlobKey means a key is not of the accepted form (see BlobStore).
var ErrBadBlobKey = errors.New("bad blob key")

// BlobStore keeps files such as KYC documents outside the database. Keys
// are relative slash-separated paths of [a-z0-9_.-] segments ("kyc/usr_1/
// kyc_2/document"), which map one-to-one to object keys of an
// S3-compatible bucket, so that a bucket-backed implementation can replace
// the filesystem one without changing callers.
type BlobStore interface {
	// Put stores everything r yields under key, replacing nothing: the blob
	// becomes visible only once complete. It returns the bytes written;
	// when r fails (for example a size limit) nothing is stored.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the blob's content and size, or ErrBlobNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes a blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, key string) error
}

// FileBlobStore is a BlobStore in a directory (KASH_DATA_DIR/blobs in
// kashd). Files are written to a temporary name and renamed into place, so a
// crash never leaves a partial blob under its key; file modes keep them
// readable by the server's user only.
type FileBlobStore struct {
	root string
}

// NewFileBlobStore returns a store rooted at dir, creating it if needed.
func NewFileBlobStore(dir string) (*FileBlobStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob store at %s: %w", dir, err)
	}
	return &FileBlobStore{root: dir}, nil
}

func (s *FileBlobStore) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("%w: %q", ErrBadBlobKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.Trim(seg, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
			return "", fmt.Errorf("%w: %q", ErrBadBlobKey, key)
		}
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put implements BlobStore.
func (s *FileBlobStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return n, fmt.Errorf("put blob %s: %w", key, err)
	}
	return n, nil
}

// Open implements BlobStore.
func (s *FileBlobStore) Open(_ context.Context, key string) (io.ReadCloser, int64, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("open blob %s: %w", key, ErrBlobNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("open blob %s: %w", key, err)
	}
	return f, st.Size(), nil
}

// Delete implements BlobStore.
func (s *FileBlobStore) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
