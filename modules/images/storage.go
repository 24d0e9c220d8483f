package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// Storage keeps image files. Keys are derived from ids only, never from names a caller chose.
type Storage interface {
	Put(ctx context.Context, key string, data []byte) error
	Open(ctx context.Context, key string) (ReadSeekCloser, int64, error)
	Delete(ctx context.Context, key string) error
}

// ReadSeekCloser is an open stored file.
type ReadSeekCloser interface {
	io.ReadSeekCloser
}

// ErrNoFile is a key with nothing stored.
var ErrNoFile = errors.New("images: no stored file")

// FileKey is the key of an image's file; ThumbKey of its thumbnail.
func FileKey(tenantID, imageID uuid.UUID) string {
	return filepath.Join(tenantID.String(), imageID.String()[:2], imageID.String())
}

// ThumbKey is the key of an image's thumbnail.
func ThumbKey(tenantID, imageID uuid.UUID) string { return FileKey(tenantID, imageID) + ".thumb" }

// CleanKey is the key of an image's stripped copy: its pixels re-encoded without the metadata the
// file carried (Strip), served to readers the privacy profile hides generation metadata from and
// on the public endpoint.
func CleanKey(tenantID, imageID uuid.UUID) string { return FileKey(tenantID, imageID) + ".clean" }

// LocalStorage keeps files under a directory, written atomically (temp file, fsync, rename), so a
// reader never sees half a file and a crash leaves no partial file under a real key.
type LocalStorage struct{ root string }

// NewLocalStorage keeps files under root (DATA_DIR/images).
func NewLocalStorage(root string) (*LocalStorage, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("create storage dir: %w", err)
	}
	return &LocalStorage{root: root}, nil
}

func (s *LocalStorage) path(key string) (string, error) {
	if key == "" || key != filepath.Clean(key) || filepath.IsAbs(key) || key == "." || strings.HasPrefix(key, "..") {
		return "", fmt.Errorf("images: bad storage key %q", key)
	}
	return filepath.Join(s.root, key), nil
}

// Put writes the file atomically.
func (s *LocalStorage) Put(_ context.Context, key string, data []byte) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// Open opens a stored file for reading, with its size.
func (s *LocalStorage) Open(_ context.Context, key string) (ReadSeekCloser, int64, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, ErrNoFile
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// Delete removes a stored file; a missing file is not an error (deletes are retried).
func (s *LocalStorage) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
