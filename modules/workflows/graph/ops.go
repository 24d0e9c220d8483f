package graph

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"

	"github.com/disintegration/imaging"
)

// args are a node's resolved field values: int64, float64, string or uuid.UUID by field type.
type args map[string]any

func (a args) int(name string) int64 {
	v, _ := a[name].(int64)
	return v
}

func (a args) float(name string) float64 {
	switch v := a[name].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	return 0
}

func (a args) str(name string) string {
	v, _ := a[name].(string)
	return v
}

var filters = map[string]imaging.ResampleFilter{
	"lanczos":    imaging.Lanczos,
	"catmullrom": imaging.CatmullRom,
	"linear":     imaging.Linear,
	"box":        imaging.Box,
	"nearest":    imaging.NearestNeighbor,
}

func filterNames() []string {
	out := make([]string, 0, len(filters))
	for k := range filters {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func one(img image.Image) map[string]any { return map[string]any{"image": img} }

// resizeTarget mirrors imaging.Resize's handling of a zero side (keep the aspect ratio).
func resizeTarget(src image.Rectangle, w, h int64) (int64, int64) {
	sw, sh := float64(src.Dx()), float64(src.Dy())
	if sw <= 0 || sh <= 0 {
		return 0, 0
	}
	if w == 0 {
		w = int64(math.Max(1, math.Floor(float64(h)*sw/sh+0.5)))
	}
	if h == 0 {
		h = int64(math.Max(1, math.Floor(float64(w)*sh/sw+0.5)))
	}
	return w, h
}

func checkResize(f args) error {
	if f.int("width") == 0 && f.int("height") == 0 {
		return fmt.Errorf("width or height must be positive")
	}
	return nil
}

func sizeResize(in map[string]any, f args) (int64, int64) {
	return resizeTarget(imageOf(in, "image").Bounds(), f.int("width"), f.int("height"))
}

func runResize(in map[string]any, f args) (map[string]any, error) {
	if err := checkResize(f); err != nil {
		return nil, err
	}
	return one(imaging.Resize(imageOf(in, "image"), int(f.int("width")), int(f.int("height")), filters[f.str("filter")])), nil
}

func cropRect(f args) image.Rectangle {
	x, y := int(f.int("x")), int(f.int("y"))
	return image.Rect(x, y, x+int(f.int("width")), y+int(f.int("height")))
}

func sizeCrop(in map[string]any, f args) (int64, int64) {
	b := imageOf(in, "image").Bounds()
	r := cropRect(f).Add(b.Min).Intersect(b)
	return int64(r.Dx()), int64(r.Dy())
}

func runCrop(in map[string]any, f args) (map[string]any, error) {
	src := imageOf(in, "image")
	b := src.Bounds()
	r := cropRect(f).Add(b.Min)
	if r.Intersect(b).Empty() {
		return nil, fmt.Errorf("the crop rectangle lies outside the %dx%d image", b.Dx(), b.Dy())
	}
	return one(imaging.Crop(src, r)), nil
}

func sizeRotate(in map[string]any, f args) (int64, int64) {
	b := imageOf(in, "image").Bounds()
	rad := f.float("angle") * math.Pi / 180
	w, h := float64(b.Dx()), float64(b.Dy())
	c, s := math.Abs(math.Cos(rad)), math.Abs(math.Sin(rad))
	return int64(math.Ceil(w*c+h*s)) + 1, int64(math.Ceil(w*s+h*c)) + 1
}

func runRotate(in map[string]any, f args) (map[string]any, error) {
	src := imageOf(in, "image")
	angle := math.Mod(f.float("angle"), 360)
	if angle < 0 {
		angle += 360
	}
	switch angle {
	case 0:
		return one(imaging.Clone(src)), nil
	case 90:
		return one(imaging.Rotate90(src)), nil
	case 180:
		return one(imaging.Rotate180(src)), nil
	case 270:
		return one(imaging.Rotate270(src)), nil
	}
	return one(imaging.Rotate(src, angle, color.Transparent)), nil
}

func runFlip(in map[string]any, f args) (map[string]any, error) {
	src := imageOf(in, "image")
	if f.str("direction") == "vertical" {
		return one(imaging.FlipV(src)), nil
	}
	return one(imaging.FlipH(src)), nil
}

func runAdjust(in map[string]any, f args) (map[string]any, error) {
	img := imaging.Clone(imageOf(in, "image"))
	if v := f.float("brightness"); v != 0 {
		img = imaging.AdjustBrightness(img, v)
	}
	if v := f.float("contrast"); v != 0 {
		img = imaging.AdjustContrast(img, v)
	}
	if v := f.float("saturation"); v != 0 {
		img = imaging.AdjustSaturation(img, v)
	}
	if v := f.float("gamma"); v != 1 {
		img = imaging.AdjustGamma(img, v)
	}
	return one(img), nil
}

func runBlur(in map[string]any, f args) (map[string]any, error) {
	return one(imaging.Blur(imageOf(in, "image"), f.float("sigma"))), nil
}

func runSharpen(in map[string]any, f args) (map[string]any, error) {
	return one(imaging.Sharpen(imageOf(in, "image"), f.float("sigma"))), nil
}

func runGrayscale(in map[string]any, _ args) (map[string]any, error) {
	return one(imaging.Grayscale(imageOf(in, "image"))), nil
}

func runComposite(in map[string]any, f args) (map[string]any, error) {
	pos := image.Pt(int(f.int("x")), int(f.int("y")))
	return one(imaging.Overlay(imageOf(in, "base"), imageOf(in, "overlay"), pos, f.float("opacity"))), nil
}

func runMeasure(in map[string]any, _ args) (map[string]any, error) {
	b := imageOf(in, "image").Bounds()
	return map[string]any{"width": int64(b.Dx()), "height": int64(b.Dy())}, nil
}
