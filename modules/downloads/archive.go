package downloads

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ManifestName is the archive's last entry: what it holds and what was left out.
const ManifestName = "MANIFEST.txt"

// copyBufferSize is the one buffer an archive streams every file through: memory stays flat
// whatever the archive's size.
const copyBufferSize = 1 << 20

// Archive writes a zip entry by entry to w. Entries are stored, not deflated (images are
// compressed already, and storing keeps the writer at disk speed), under safe, de-duplicated
// names. It hashes what it writes, so the archive's SHA-256 is known when it is closed.
type Archive struct {
	zw    *zip.Writer
	out   *countingHash
	names *nameSet
	buf   []byte
}

// NewArchive starts an archive on w.
func NewArchive(w io.Writer) *Archive {
	out := &countingHash{w: w, h: sha256.New()}
	return &Archive{zw: zip.NewWriter(out), out: out, names: newNameSet(ManifestName), buf: make([]byte, copyBufferSize)}
}

// Add streams r into a new entry named after name (made safe and unique) and returns the name
// used.
func (a *Archive) Add(name string, modified time.Time, r io.Reader) (string, error) {
	entry := a.names.claim(SafeName(name))
	w, err := a.zw.CreateHeader(&zip.FileHeader{Name: entry, Method: zip.Store, Modified: modified.UTC()})
	if err != nil {
		return "", err
	}
	// Hide r's WriterTo so that the copy goes through the one buffer instead of allocating.
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{r}, a.buf); err != nil {
		return "", fmt.Errorf("add %q: %w", entry, err)
	}
	return entry, nil
}

// AddManifest writes the manifest entry.
func (a *Archive) AddManifest(text string, modified time.Time) error {
	w, err := a.zw.CreateHeader(&zip.FileHeader{Name: ManifestName, Method: zip.Store, Modified: modified.UTC()})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, text)
	return err
}

// Close writes the central directory and returns the archive's size and SHA-256 (hex).
func (a *Archive) Close() (int64, string, error) {
	if err := a.zw.Close(); err != nil {
		return 0, "", err
	}
	return a.out.n, hex.EncodeToString(a.out.h.Sum(nil)), nil
}

type countingHash struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// maxNameBytes bounds an entry name (file systems allow 255 bytes; room is left for a suffix).
const maxNameBytes = 200

// SafeName turns an image's name into a zip entry name that is safe to extract anywhere: one
// path element (no directories, no `..`, nothing absolute), valid UTF-8 in NFC, no control or
// bidirectional-override characters, none of the characters Windows refuses, not empty and at
// most maxNameBytes bytes with its extension kept.
func SafeName(name string) string {
	name = norm.NFC.String(strings.ToValidUTF8(name, "_"))
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '/' || r == '\\' || strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError:
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	// Leading dots would hide the file or climb ("..", "..."), trailing dots and spaces are
	// dropped by Windows.
	out := strings.TrimRight(strings.TrimLeft(strings.TrimSpace(b.String()), "."), ". ")
	if out == "" {
		out = "image"
	}
	if len(out) > maxNameBytes {
		ext := path.Ext(out)
		if len(ext) > 16 || !utf8.ValidString(ext) {
			ext = ""
		}
		stem := truncateUTF8(strings.TrimSuffix(out, ext), maxNameBytes-len(ext))
		out = stem + ext
	}
	return out
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// nameSet hands out unique names: the same name twice (compared as case-insensitive file
// systems do) becomes "name (2).png", "name (3).png", …
type nameSet struct {
	taken map[string]bool
	next  map[string]int // per wanted name, the next suffix to try: a thousand "image.png" stay linear
}

func newNameSet(reserved ...string) *nameSet {
	s := &nameSet{taken: map[string]bool{}, next: map[string]int{}}
	for _, r := range reserved {
		s.taken[foldName(r)] = true
	}
	return s
}

func foldName(n string) string { return strings.ToLower(norm.NFC.String(n)) }

func (s *nameSet) claim(name string) string {
	key := foldName(name)
	if !s.taken[key] {
		s.taken[key] = true
		return name
	}
	ext := path.Ext(name)
	if ext == name {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	for i := max(s.next[key], 2); ; i++ {
		cand := fmt.Sprintf("%s (%d)%s", stem, i, ext)
		if k := foldName(cand); !s.taken[k] {
			s.taken[k] = true
			s.next[key] = i + 1
			return cand
		}
	}
}
