package images

import (
	"bytes"
	"context"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
)

func encodePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngHeader is a valid PNG signature and IHDR claiming w×h, with no pixel data: what a
// decompression bomb's first bytes look like.
func pngHeader(t *testing.T, w, h int) []byte {
	t.Helper()
	full := encodePNG(t, 1, 1)
	hdr := append([]byte(nil), full[:33]...) // signature (8) + IHDR chunk (25)
	put := func(off, v int) {
		hdr[off], hdr[off+1], hdr[off+2], hdr[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(16, w)
	put(20, h)
	put(29, int(crc32.ChecksumIEEE(hdr[12:29])))
	return hdr
}

func TestInspect_acceptsImagesByContentNotName(t *testing.T) {
	p := encodePNG(t, 640, 480)
	m, img, err := Inspect(p, DefaultLimits)
	if err != nil || m.ContentType != "image/png" || m.Width != 640 || m.Height != 480 || img == nil {
		t.Fatalf("png: %+v %v", m, err)
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 30, 20)), nil); err != nil {
		t.Fatal(err)
	}
	if m, _, err := Inspect(jb.Bytes(), DefaultLimits); err != nil || m.ContentType != "image/jpeg" {
		t.Fatalf("jpeg: %+v %v", m, err)
	}
}

func TestInspect_refusesBadUploads(t *testing.T) {
	good := encodePNG(t, 64, 64)
	cases := []struct {
		name string
		data []byte
		code apierr.Code
	}{
		{"empty", nil, apierr.CodeInvalid},
		{"text named .png", []byte("hello, I am definitely a picture"), apierr.CodeInvalid},
		{"gif is not accepted", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), apierr.CodeInvalid},
		{"truncated png", good[:len(good)/2], apierr.CodeInvalid},
		{"20000x20000 header", pngHeader(t, 20000, 20000), apierr.CodeTooLarge},
		{"too many bytes", good, apierr.CodeTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits
			if tc.name == "too many bytes" {
				lim.MaxBytes = int64(len(good) - 1)
			}
			_, _, err := Inspect(tc.data, lim)
			if !apierr.Is(err, tc.code) {
				t.Fatalf("Inspect: %v, want %s", err, tc.code)
			}
		})
	}
}

func TestThumbnail_fitsTheBoxAndKeepsAspect(t *testing.T) {
	_, img, err := Inspect(encodePNG(t, 1000, 500), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	data, ct, err := Thumbnail(img, "png")
	if err != nil || ct != "image/png" {
		t.Fatalf("thumbnail: %s %v", ct, err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != ThumbnailSide || cfg.Height != ThumbnailSide/2 {
		t.Fatalf("thumbnail is %dx%d (%v)", cfg.Width, cfg.Height, err)
	}
}

func TestLocalStorage_atomicWritesAndKeysFromIDsOnly(t *testing.T) {
	root := t.TempDir()
	s, err := NewLocalStorage(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := FileKey(uuid.New(), uuid.New())
	if err := s.Put(ctx, key, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, key, []byte("two")); err != nil {
		t.Fatal(err)
	}
	f, size, err := s.Open(ctx, key)
	if err != nil || size != 3 {
		t.Fatalf("open: %d %v", size, err)
	}
	buf := make([]byte, 3)
	_, _ = f.Read(buf)
	f.Close()
	if string(buf) != "two" {
		t.Fatalf("read %q", buf)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Join(root, key)), ".upload-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temp files left: %v", leftovers)
	}
	for _, bad := range []string{"../../etc/passwd", "..", "/"} {
		if err := s.Put(ctx, bad, []byte("x")); err == nil {
			t.Errorf("Put(%q) escaped the root", bad)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "..", "etc")); err == nil {
		t.Fatal("wrote outside the root")
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, _, err := s.Open(ctx, key); err != ErrNoFile {
		t.Fatalf("open after delete: %v", err)
	}
}
