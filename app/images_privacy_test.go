package app_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/images"
)

// Files carry metadata of their own: a PNG's text chunks (a prompt, a workflow), a JPEG's EXIF
// (GPS). Readers the privacy profile hides generation metadata from, and anonymous readers of a
// published board, get a stripped copy; the owner gets the file as uploaded. Thumbnails carry
// none for anyone.
func TestImages_regression_fileMetadataStrippedForHiddenReadersAndThePublic(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Gallery", "visibility": "shared"})
	btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), k.owner.Token, map[string]any{"published": true}), http.StatusOK)

	const promptText, gpsText = "secret lighthouse prompt", "GPS 51.5007N 0.1246W"
	for _, tc := range []struct {
		name    string
		data    []byte
		secrets []string // what the original carries and no stripped copy may
		ct      string
	}{
		{"PNG with a tEXt prompt", ipPNGWithText(bdPNG(16, 12), "prompt", promptText), []string{"tEXt", promptText}, "image/png"},
		{"JPEG with EXIF GPS", ipJPEGWithEXIF(btJPEG(t, 16, 12), gpsText), []string{"Exif", gpsText}, "image/jpeg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, tc.data, nil))
			for _, s := range tc.secrets {
				if !bytes.Contains(tc.data, []byte(s)) {
					t.Fatalf("fixture lacks %q", s)
				}
			}
			file := "/api/v1/images/" + img.String() + "/file"
			thumb := "/api/v1/images/" + img.String() + "/thumbnail"
			pub := "/api/v1/public/boards/" + b.String() + "/images/" + img.String()

			// The owner and admins get the original, byte for byte.
			for _, tok := range []string{k.owner.Token, w.token(wsAdmin)} {
				if got := btMust(t, env.Do(http.MethodGet, file, tok, nil), http.StatusOK); !bytes.Equal(got.Body, tc.data) {
					t.Errorf("owner/admin file: %d bytes, want the original's %d", len(got.Body), len(tc.data))
				}
			}
			stripped := func(who string, r interface {
				Get(string) string
			}, body []byte) {
				t.Helper()
				for _, s := range tc.secrets {
					if bytes.Contains(body, []byte(s)) {
						t.Errorf("%s: the file still carries %q", who, s)
					}
				}
				cfg, _, err := image.DecodeConfig(bytes.NewReader(body))
				if err != nil || cfg.Width != 16 || cfg.Height != 12 {
					t.Errorf("%s: not the image: %v %dx%d", who, err, cfg.Width, cfg.Height)
				}
				if ct := r.Get("Content-Type"); ct != tc.ct {
					t.Errorf("%s: content type %s, want %s", who, ct, tc.ct)
				}
			}
			// A workspace reader (hidden by the default privacy profile) and the anonymous public
			// endpoint get the pixels without the metadata.
			for _, who := range []actor{wsViewer, wsEditor} {
				r := btMust(t, env.Do(http.MethodGet, file, w.token(who), nil), http.StatusOK)
				stripped(string(who), r.Header, r.Body)
			}
			r := btMust(t, env.Do(http.MethodGet, pub+"/file", "", nil), http.StatusOK)
			stripped("anonymous public", r.Header, r.Body)
			// Thumbnails never carry metadata, for anyone.
			for _, tr := range []struct{ who, path, token string }{
				{"owner thumbnail", thumb, k.owner.Token}, {"viewer thumbnail", thumb, w.token(wsViewer)},
				{"public thumbnail", pub + "/thumbnail", ""},
			} {
				r := btMust(t, env.Do(http.MethodGet, tr.path, tr.token, nil), http.StatusOK)
				for _, s := range tc.secrets {
					if bytes.Contains(r.Body, []byte(s)) {
						t.Errorf("%s carries %q", tr.who, s)
					}
				}
			}
			// An image stored before stripped copies existed gets one made on first need, then kept.
			clean := filepath.Join(env.Cfg.DataDir, "images", images.CleanKey(w.a.ID, img))
			if err := os.Remove(clean); err != nil {
				t.Fatalf("the stripped copy was not stored at upload: %v", err)
			}
			r = btMust(t, env.Do(http.MethodGet, file, w.token(wsViewer), nil), http.StatusOK)
			stripped("viewer, copy made lazily", r.Header, r.Body)
			if _, err := os.Stat(clean); err != nil {
				t.Errorf("the lazily made copy was not kept: %v", err)
			}
			// Deleting the image removes the stripped copy with the rest.
			btMust(t, env.Do(http.MethodDelete, "/api/v1/images/"+img.String(), k.owner.Token, nil), http.StatusNoContent)
			ipNoFiles(t, w, k, img)
		})
	}
}

// ipNoFiles checks that no stored file of the image is left: file, thumbnail, stripped copy.
func ipNoFiles(t *testing.T, w *world, k *bdKit, img uuid.UUID) {
	t.Helper()
	btErr(t, w.env.Do(http.MethodGet, "/api/v1/images/"+img.String()+"/file", k.owner.Token, nil), http.StatusNotFound, "not_found", "")
	for _, key := range []string{images.FileKey(w.a.ID, img), images.ThumbKey(w.a.ID, img), images.CleanKey(w.a.ID, img)} {
		if _, err := os.Stat(filepath.Join(w.env.Cfg.DataDir, "images", key)); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", key, err)
		}
	}
}

// ipPNGWithText inserts a tEXt chunk keyword=text right after the PNG's IHDR chunk.
func ipPNGWithText(p []byte, keyword, text string) []byte {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4
	data := append([]byte(keyword+"\x00"), text...)
	chunk := append([]byte("tEXt"), data...)
	var buf bytes.Buffer
	buf.Write(p[:ihdrEnd])
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(data)))
	buf.Write(chunk)
	_ = binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	buf.Write(p[ihdrEnd:])
	return buf.Bytes()
}

// ipJPEGWithEXIF inserts an APP1 EXIF segment right after the JPEG's SOI: a TIFF header with one
// IFD whose GPS IFD pointer (tag 0x8825) leads to a GPS IFD holding an ASCII note.
func ipJPEGWithEXIF(j []byte, note string) []byte {
	var tiff bytes.Buffer
	le := binary.LittleEndian
	tiff.WriteString("II")
	_ = binary.Write(&tiff, le, uint16(42))
	_ = binary.Write(&tiff, le, uint32(8)) // IFD0 at 8
	// IFD0: one entry, GPSInfo → offset 26.
	_ = binary.Write(&tiff, le, uint16(1))
	_ = binary.Write(&tiff, le, uint16(0x8825))
	_ = binary.Write(&tiff, le, uint16(4)) // LONG
	_ = binary.Write(&tiff, le, uint32(1))
	_ = binary.Write(&tiff, le, uint32(26))
	_ = binary.Write(&tiff, le, uint32(0)) // no next IFD
	// GPS IFD at 26: GPSAreaInformation (0x001C, ASCII) → offset 44.
	_ = binary.Write(&tiff, le, uint16(1))
	_ = binary.Write(&tiff, le, uint16(0x001C))
	_ = binary.Write(&tiff, le, uint16(2))
	_ = binary.Write(&tiff, le, uint32(len(note)+1))
	_ = binary.Write(&tiff, le, uint32(44))
	_ = binary.Write(&tiff, le, uint32(0))
	tiff.WriteString(note + "\x00")
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(j[:2]) // SOI
	out.Write([]byte{0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(j[2:])
	return out.Bytes()
}
