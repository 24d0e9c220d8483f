package downloads

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSafeName_makesEveryNameOnePlainPathElement(t *testing.T) {
	long := strings.Repeat("é", 150) + ".png" // 300 bytes of stem
	for _, c := range []struct{ name, in, want string }{
		{"plain", "cat.png", "cat.png"},
		{"climbing out", "../../etc/passwd", "_.._etc_passwd"},
		{"dot dot alone", "..", "image"},
		{"absolute", "/etc/passwd", "_etc_passwd"},
		{"windows absolute", `C:\Windows\win.ini`, "C__Windows_win.ini"},
		{"hidden file", ".bashrc", "bashrc"},
		{"control characters", "a\x00b\x1bc\r\n.png", "a_b_c__.png"},
		{"bidi override hides the extension", "invoice\u202egnp.exe", "invoice_gnp.exe"},
		{"line separator", "a\u2028b.png", "a_b.png"},
		{"invalid UTF-8", "bad\xff\xfe.png", "bad_.png"},
		{"trailing dots and spaces", "name. . ", "name"},
		{"empty", "   ", "image"},
		{"windows reserved characters", `a<b>c:d"e|f?g*h.png`, "a_b_c_d_e_f_g_h.png"},
		{"NFD becomes NFC", "cafe\u0301.png", "caf\u00e9.png"},
		{"unicode kept", "猫 🐈.png", "猫 🐈.png"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SafeName(c.in); got != c.want {
				t.Errorf("SafeName(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
	t.Run("long names are cut on a character boundary and keep their extension", func(t *testing.T) {
		got := SafeName(long)
		if len(got) > maxNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".png") {
			t.Errorf("SafeName(long) = %q (%d bytes)", got, len(got))
		}
	})
}

func TestNameSet_sameNameTwiceGetsASuffix(t *testing.T) {
	s := newNameSet(ManifestName)
	var got []string
	for _, n := range []string{"a.png", "a.png", "A.PNG", "a (2).png", "noext", "noext", "manifest.txt"} {
		got = append(got, s.claim(n))
	}
	want := []string{"a.png", "a (2).png", "A (3).PNG", "a (2) (2).png", "noext", "noext (2)", "manifest (2).txt"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("claim %d = %q, want %q (all: %q)", i, got[i], want[i], got)
		}
	}
}

func TestArchive_storesEntriesUncompressedWithSafeUniqueNamesAndItsChecksum(t *testing.T) {
	var buf bytes.Buffer
	a := NewArchive(&buf)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	payload := bytes.Repeat([]byte("x"), 3<<20) // larger than the copy buffer
	for _, e := range []struct{ name, data string }{
		{"../evil.png", "one"}, {"evil.png", "two"}, {"big.bin", string(payload)},
	} {
		if _, err := a.Add(e.name, at, strings.NewReader(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.AddManifest("manifest", at); err != nil {
		t.Fatal(err)
	}
	size, sum, err := a.Close()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(buf.Bytes())
	if size != int64(buf.Len()) || sum != hex.EncodeToString(h[:]) {
		t.Fatalf("Close reported %d bytes %s; wrote %d bytes %x", size, sum, buf.Len(), h)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"_evil.png", "evil.png", "big.bin", ManifestName}
	if len(zr.File) != len(wantNames) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(wantNames))
	}
	for i, f := range zr.File {
		if f.Name != wantNames[i] || f.Method != zip.Store {
			t.Errorf("entry %d: %q method %d, want %q stored", i, f.Name, f.Method, wantNames[i])
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc) // checks the CRC too
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		if f.Name == "big.bin" && !bytes.Equal(got, payload) {
			t.Error("big.bin differs")
		}
		if !f.Modified.Equal(at) {
			t.Errorf("%s modified %v, want %v", f.Name, f.Modified, at)
		}
	}
}

// BenchmarkArchive_1MBFiles is the zip writer alone, to memory-less io.Discard: its own cost per
// byte (scripts/bench-zip.sh compares it with zip -0 on real files).
func BenchmarkArchive_1MBFiles(b *testing.B) {
	data := bytes.Repeat([]byte{0xa5, 0x5a, 0x33}, 1<<20/3+1)[:1<<20]
	b.SetBytes(int64(len(data)))
	a := NewArchive(io.Discard)
	at := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := a.Add("image.png", at, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	if _, _, err := a.Close(); err != nil {
		b.Fatal(err)
	}
}
