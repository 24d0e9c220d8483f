package downloads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Storage keeps the archives. An archive is written to a temporary object and becomes visible
// under its final name only when Commit succeeds, so a half-written archive is never served;
// what a crashed writer leaves behind is listed by List and removed by the cleanup job. Every
// build gets a name of its own (the download's id and a random nonce) which the download's row
// records when the build completes: two deliveries of one build task never overwrite or delete
// each other's file. Local disk implements it today; an S3-compatible store (multipart upload,
// completed on Commit) can replace it without touching the rest of the module.
type Storage interface {
	// Create starts an archive of the download.
	Create(ctx context.Context, tenantID, id uuid.UUID) (Temp, error)
	// Open opens a committed archive by name; ErrNoFile when there is none.
	Open(ctx context.Context, tenantID uuid.UUID, name string) (File, error)
	// Delete removes an object (committed or temporary) by name; a missing one is not an error.
	Delete(ctx context.Context, tenantID uuid.UUID, name string) error
	// List lists a tenant's objects, committed and temporary.
	List(ctx context.Context, tenantID uuid.UUID) ([]Object, error)
}

// Temp is an archive being written.
type Temp interface {
	io.Writer
	// Name is the name the archive has once committed.
	Name() string
	// Commit makes the archive visible under its name.
	Commit() error
	// Abort discards it; a no-op after Commit.
	Abort() error
}

// File is an open committed archive.
type File struct {
	io.ReadSeekCloser
	Size    int64
	ModTime time.Time
}

// Object is a stored object of a tenant.
type Object struct {
	Name    string
	ID      uuid.UUID // the download it belongs to
	Temp    bool      // an unfinished write
	ModTime time.Time // last written
}

// ErrNoFile is an archive that is not stored.
var ErrNoFile = errors.New("downloads: no stored archive")

// LocalStorage keeps archives under a directory: <root>/<tenant>/<download>.<nonce>.zip,
// temporary ones beside them as .tmp-<download>.<nonce>.
type LocalStorage struct{ root string }

// NewLocalStorage keeps archives under root (DATA_DIR/downloads).
func NewLocalStorage(root string) (*LocalStorage, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("create downloads dir: %w", err)
	}
	return &LocalStorage{root: root}, nil
}

const (
	tempPrefix = ".tmp-"
	zipSuffix  = ".zip"
)

func (s *LocalStorage) dir(tenantID uuid.UUID) string {
	return filepath.Join(s.root, tenantID.String())
}

// Create opens a temporary file beside the final one (same directory, so the rename is atomic).
func (s *LocalStorage) Create(_ context.Context, tenantID, id uuid.UUID) (Temp, error) {
	if err := os.MkdirAll(s.dir(tenantID), 0o750); err != nil {
		return nil, err
	}
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	stem := id.String() + "." + hex.EncodeToString(nonce)
	f, err := os.OpenFile(filepath.Join(s.dir(tenantID), tempPrefix+stem), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, err
	}
	return &localTemp{f: f, name: stem + zipSuffix, final: filepath.Join(s.dir(tenantID), stem+zipSuffix)}, nil
}

type localTemp struct {
	f     *os.File
	name  string
	final string
	done  bool
}

func (t *localTemp) Write(p []byte) (int, error) { return t.f.Write(p) }

func (t *localTemp) Name() string { return t.name }

// Commit flushes the file to disk and renames it into place.
func (t *localTemp) Commit() error {
	if t.done {
		return errors.New("downloads: archive already committed or aborted")
	}
	if err := t.f.Sync(); err != nil {
		_ = t.Abort()
		return err
	}
	if err := t.f.Close(); err != nil {
		_ = os.Remove(t.f.Name())
		t.done = true
		return err
	}
	t.done = true
	if err := os.Rename(t.f.Name(), t.final); err != nil {
		_ = os.Remove(t.f.Name())
		return err
	}
	return nil
}

// Abort closes and removes the temporary file.
func (t *localTemp) Abort() error {
	if t.done {
		return nil
	}
	t.done = true
	cerr := t.f.Close()
	if err := os.Remove(t.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return cerr
}

// Open opens a committed archive.
func (s *LocalStorage) Open(_ context.Context, tenantID uuid.UUID, name string) (File, error) {
	if o, ok := parseObject(name); !ok || o.Temp {
		return File{}, ErrNoFile
	}
	f, err := os.Open(filepath.Join(s.dir(tenantID), name))
	if errors.Is(err, os.ErrNotExist) {
		return File{}, ErrNoFile
	}
	if err != nil {
		return File{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return File{}, err
	}
	return File{ReadSeekCloser: f, Size: st.Size(), ModTime: st.ModTime().UTC()}, nil
}

// List lists the tenant's archives and temporary files; names it does not recognise are left
// out (and alone).
func (s *LocalStorage) List(_ context.Context, tenantID uuid.UUID) ([]Object, error) {
	entries, err := os.ReadDir(s.dir(tenantID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		o, ok := parseObject(e.Name())
		if !ok {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // committed or removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		o.ModTime = info.ModTime().UTC()
		out = append(out, o)
	}
	return out, nil
}

// parseObject recognises the names Create makes: "<id>.<nonce>.zip" and ".tmp-<id>.<nonce>".
func parseObject(name string) (Object, bool) {
	o := Object{Name: name}
	rest, temp := strings.CutPrefix(name, tempPrefix)
	if !temp {
		var ok bool
		if rest, ok = strings.CutSuffix(name, zipSuffix); !ok {
			return Object{}, false
		}
	}
	idPart, nonce, ok := strings.Cut(rest, ".")
	if !ok || len(nonce) != 16 || strings.Trim(nonce, "0123456789abcdef") != "" {
		return Object{}, false
	}
	id, err := uuid.Parse(idPart)
	if err != nil || id.String() != idPart {
		return Object{}, false
	}
	o.ID, o.Temp = id, temp
	return o, true
}

// Delete removes a listed object by name.
func (s *LocalStorage) Delete(_ context.Context, tenantID uuid.UUID, name string) error {
	if _, ok := parseObject(name); !ok || filepath.Base(name) != name {
		return fmt.Errorf("downloads: bad object name %q", name)
	}
	if err := os.Remove(filepath.Join(s.dir(tenantID), name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
