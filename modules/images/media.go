package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder

	"github.com/atelier-hq/atelier/modules/apierr"
)

// Limits bound what an upload may be.
type Limits struct {
	MaxBytes  int64 // file size
	MaxPixels int64 // width × height, checked from the header before any pixel is decoded
	MaxSide   int   // either dimension
}

// DefaultLimits are generous for generated images and refuse decompression bombs.
var DefaultLimits = Limits{MaxBytes: 25 << 20, MaxPixels: 40_000_000, MaxSide: 12_000}

// Media is what an upload turned out to be.
type Media struct {
	ContentType string
	Format      string
	Width       int
	Height      int
}

// formats maps the formats we accept to their content types. The format comes from the file's
// content (its magic bytes, then a decoder that must accept it), never from its name.
var formats = map[string]string{"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}

// Inspect checks that data is a PNG, JPEG or WebP image within the limits and fully decodable.
// A text file named .png, a truncated file or a 20,000×20,000 image are refused with 400/413.
// It does not bound memory across concurrent decodes: services decode through a DecodeGate.
func Inspect(data []byte, lim Limits) (Media, image.Image, error) {
	m, img, _, err := inspect(context.Background(), nil, data, lim)
	return m, img, err
}

// inspect is Inspect, the decode inside gate's bounds when gate is not nil; the caller runs
// release once done with the decoded image (not when err is set).
func inspect(ctx context.Context, gate *DecodeGate, data []byte, lim Limits) (_ Media, _ image.Image, release func(), err error) {
	release = func() {}
	if len(data) == 0 {
		return Media{}, nil, nil, apierr.Invalid("file", "the file is empty")
	}
	if int64(len(data)) > lim.MaxBytes {
		return Media{}, nil, nil, apierr.TooLarge(fmt.Sprintf("the file is larger than %d bytes", lim.MaxBytes))
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Media{}, nil, nil, apierr.Invalid("file", "not a PNG, JPEG or WebP image")
	}
	ct, ok := formats[format]
	if !ok {
		return Media{}, nil, nil, apierr.Invalid("file", "not a PNG, JPEG or WebP image")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Media{}, nil, nil, apierr.Invalid("file", "the image has no pixels")
	}
	if cfg.Width > lim.MaxSide || cfg.Height > lim.MaxSide || int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
		return Media{}, nil, nil, apierr.TooLarge(fmt.Sprintf("the image is %d×%d; at most %d pixels and %d per side",
			cfg.Width, cfg.Height, lim.MaxPixels, lim.MaxSide))
	}
	if gate != nil {
		pixels := int64(cfg.Width) * int64(cfg.Height)
		held, err := gate.acquire(ctx, pixels)
		if err != nil {
			return Media{}, nil, nil, err
		}
		release = held
		defer func() {
			if err != nil {
				held() // a failed decode gives its room back at once
			}
		}()
		if gate.onDecode != nil {
			gate.onDecode(pixels)
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Media{}, nil, nil, apierr.Invalid("file", "the image is truncated")
		}
		return Media{}, nil, nil, apierr.Invalid("file", "the image cannot be decoded")
	}
	return Media{ContentType: ct, Format: format, Width: cfg.Width, Height: cfg.Height}, img, release, nil
}

// ThumbnailSide is the longest side of a thumbnail.
const ThumbnailSide = 256

// Thumbnail scales img to fit ThumbnailSide and encodes it: PNG for formats that may carry
// transparency, JPEG otherwise.
func Thumbnail(img image.Image, format string) ([]byte, string, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > ThumbnailSide || h > ThumbnailSide {
		if w >= h {
			w, h = ThumbnailSide, max(1, h*ThumbnailSide/b.Dx())
		} else {
			w, h = max(1, w*ThumbnailSide/b.Dy()), ThumbnailSide
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	var buf bytes.Buffer
	if format == "jpeg" {
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 82}); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "image/jpeg", nil
	}
	if err := png.Encode(&buf, dst); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "image/png", nil
}

// Strip re-encodes a decoded image through the standard encoders, so nothing but its pixels is
// kept: no PNG text chunks (a prompt, a workflow), no EXIF (GPS), no XMP, no ICC profile. A JPEG
// stays a JPEG; PNG and WebP (no encoder in the standard library) become PNG, losslessly.
func Strip(img image.Image, format string) ([]byte, string, error) {
	var buf bytes.Buffer
	if format == "jpeg" {
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "image/jpeg", nil
	}
	if err := png.Encode(&buf, img); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "image/png", nil
}

// strippedType is the content type of the stripped copy of a file of content type ct.
func strippedType(ct string) string {
	if ct == "image/jpeg" {
		return ct
	}
	return "image/png"
}
