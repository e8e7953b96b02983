package data

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeImage encodes img as PNG or JPEG (by the extension of name) in dir.
func writeImage(t testing.TB, dir, name string, img image.Image) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(strings.ToLower(name), ".png") {
		err = png.Encode(f, img)
	} else {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 100})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// quadrants returns a w×h image, w and h even, with a red top-left, green
// top-right, blue bottom-left and white bottom-right quadrant, framed by a
// border of border black pixels on the left and right (outside the centred
// square when w = h + 2*border).
func quadrants(w, h, border int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	inner := w - 2*border
	for y := range h {
		for x := range w {
			c := color.NRGBA{A: 255}
			ix := x - border
			switch {
			case ix < 0 || ix >= inner:
			case y < h/2 && ix < inner/2:
				c.R = 255
			case y < h/2:
				c.G = 255
			case ix < inner/2:
				c.B = 255
			default:
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// pixel returns the (r, g, b) of output pixel (y, x) of sample i in (3, H, W) layout.
func pixel(d *Dataset, i, y, x int) [3]uint8 {
	h, w := d.Shape[1], d.Shape[2]
	row := d.Row(i)
	return [3]uint8{row[y*w+x], row[h*w+y*w+x], row[2*h*w+y*w+x]}
}

func TestImageFolder(t *testing.T) {
	dir := t.TempDir()
	// 12×8 with 2-pixel black borders: the centred 8×8 square is the four
	// quadrants; resized to 4×4 by area averaging each quadrant stays pure.
	writeImage(t, dir, "a.png", quadrants(12, 8, 2))
	writeImage(t, dir, "b.jpg", quadrants(24, 16, 4))
	writeImage(t, dir, "c.PNG", quadrants(6, 2, 2)) // 2×2 square upscaled
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := ImageFolder(dir, ImageOptions{Height: 4, Width: 4})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 3 || d.D != 48 || !slices.Equal(d.Shape, []int{3, 4, 4}) || d.Values != 256 || d.Name != filepath.Base(dir) {
		t.Fatalf("N %d D %d shape %v values %d name %q, want 3 48 [3 4 4] 256", d.N, d.D, d.Shape, d.Values, d.Name)
	}
	if err := d.validate(); err != nil {
		t.Fatal(err)
	}
	want := map[[2]int][3]uint8{
		{0, 0}: {255, 0, 0}, {1, 1}: {255, 0, 0},
		{0, 3}: {0, 255, 0}, {1, 2}: {0, 255, 0},
		{3, 0}: {0, 0, 255}, {2, 1}: {0, 0, 255},
		{3, 3}: {255, 255, 255}, {2, 2}: {255, 255, 255},
	}
	for i, name := range []string{"a.png", "b.jpg", "c.PNG"} {
		tol := 0
		if strings.HasSuffix(name, ".jpg") {
			tol = 40 // JPEG chroma subsampling blurs colour edges
		}
		for yx, c := range want {
			got := pixel(d, i, yx[0], yx[1])
			for k := range 3 {
				if diff := int(got[k]) - int(c[k]); diff > tol || diff < -tol {
					t.Errorf("%s pixel %v = %v, want %v", name, yx, got, c)
					break
				}
			}
		}
	}
}

func TestImageFolderResizeAverages(t *testing.T) {
	// A 4×4 grey image with columns 0, 100, 200, 40 resized to 1×2: the
	// left output pixel averages 0 and 100, the right 200 and 40.
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	for y := range 4 {
		for x, v := range []uint8{0, 100, 200, 40} {
			img.SetGray(x, y, color.Gray{v})
		}
	}
	dir := t.TempDir()
	writeImage(t, dir, "g.png", img)
	d, err := ImageFolder(dir, ImageOptions{Height: 1, Width: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.X, []uint8{50, 120, 50, 120, 50, 120}) {
		t.Errorf("X = %v, want channels R, G, B each [50 120]", d.X)
	}
	// Crop 2 keeps the centre columns 100 and 200.
	d, err = ImageFolder(dir, ImageOptions{Height: 1, Width: 1, Crop: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.X, []uint8{150, 150, 150}) {
		t.Errorf("crop 2: X = %v, want [150 150 150]", d.X)
	}
}

func TestImageFolderDefaultsAndLimit(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"3.png", "1.png", "2.png"} {
		writeImage(t, dir, name, quadrants(80, 70, 5))
	}
	d, err := ImageFolder(dir, ImageOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || !slices.Equal(d.Shape, []int{3, 64, 64}) || d.D != 3*64*64 {
		t.Errorf("N %d shape %v D %d, want 2 [3 64 64] 12288", d.N, d.Shape, d.D)
	}
	// A symbolic link to an image counts as an image.
	if err := os.Symlink(filepath.Join(dir, "1.png"), filepath.Join(dir, "4.png")); err != nil {
		t.Skip(err)
	}
	d, err = ImageFolder(dir, ImageOptions{Height: 2, Width: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 4 || !slices.Equal(d.Row(0), d.Row(3)) {
		t.Errorf("with a link: N %d, rows 0 and 3 equal %v; want 4, true", d.N, slices.Equal(d.Row(0), d.Row(3)))
	}
}

func TestAreaWeights(t *testing.T) {
	for _, tc := range []struct{ in, out int }{{8, 4}, {178, 64}, {3, 7}, {5, 5}, {1, 3}} {
		taps := areaWeights(tc.in, tc.out)
		// Each output's weights sum to 1, and every source pixel is used
		// exactly once: its weights over all outputs, times in/out, sum to 1.
		cover := make([]float64, tc.in)
		for o, ts := range taps {
			var s float64
			for _, tp := range ts {
				s += tp.w
				cover[tp.i] += tp.w * float64(tc.in) / float64(tc.out)
			}
			if len(ts) == 0 || s < 1-1e-9 || s > 1+1e-9 {
				t.Errorf("areaWeights(%d, %d)[%d] = %v, weights sum to %v", tc.in, tc.out, o, ts, s)
			}
		}
		for i, c := range cover {
			if c < 1-1e-9 || c > 1+1e-9 {
				t.Errorf("areaWeights(%d, %d): source %d covered %v times, want 1", tc.in, tc.out, i, c)
			}
		}
	}
}

func TestImageFolderErrors(t *testing.T) {
	corrupt := t.TempDir()
	writeImage(t, corrupt, "a.png", quadrants(4, 4, 0))
	if err := os.WriteFile(filepath.Join(corrupt, "b.jpg"), []byte("\xff\xd8not really a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	small := t.TempDir()
	writeImage(t, small, "s.png", quadrants(4, 4, 0))
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		dir  string
		opt  ImageOptions
		want string
	}{
		{"corrupt", corrupt, ImageOptions{}, "decode " + filepath.Join(corrupt, "b.jpg")},
		{"crop", small, ImageOptions{Crop: 5}, filepath.Join(small, "s.png") + ": 4×4 image smaller than the 5×5 crop"},
		{"empty", empty, ImageOptions{}, "no .png, .jpg or .jpeg files"},
		{"missing", filepath.Join(empty, "nope"), ImageOptions{}, filepath.Join(empty, "nope")},
		{"negative", small, ImageOptions{Height: -1}, "negative option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ImageFolder(tc.dir, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ImageFolder error %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

// TestRGBAt checks the fast pixel paths against color.NRGBAModel on every
// image type they cover, with sub-images (non-zero origin, shared Pix).
func TestRGBAt(t *testing.T) {
	r := image.Rect(0, 0, 7, 5)
	fill := func(set func(x, y int, v uint8)) {
		for y := range 5 {
			for x := range 7 {
				set(x, y, uint8(37*x+53*y+11))
			}
		}
	}
	var imgs []image.Image
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422} {
		m := image.NewYCbCr(r, ratio)
		fill(func(x, y int, v uint8) {
			m.Y[m.YOffset(x, y)] = v
			m.Cb[m.COffset(x, y)] = v ^ 0x55
			m.Cr[m.COffset(x, y)] = 255 - v
		})
		imgs = append(imgs, m, m.SubImage(image.Rect(1, 1, 6, 4)))
	}
	nrgba, rgba, gray := image.NewNRGBA(r), image.NewRGBA(r), image.NewGray(r)
	fill(func(x, y int, v uint8) {
		nrgba.SetNRGBA(x, y, color.NRGBA{v, v ^ 0x0f, 255 - v, v | 0x80})
		a := []uint8{255, 0, 128}[(x+y)%3] // opaque, transparent, half
		rgba.SetRGBA(x, y, color.RGBA{min(v, a), min(v^0x0f, a), min(255-v, a), a})
		gray.SetGray(x, y, color.Gray{v})
	})
	pal := image.NewPaletted(r, color.Palette{color.Black, color.RGBA{200, 10, 30, 255}})
	fill(func(x, y int, v uint8) { pal.SetColorIndex(x, y, v&1) })
	imgs = append(imgs, nrgba, nrgba.SubImage(image.Rect(2, 1, 7, 5)), rgba, gray, pal)
	for _, img := range imgs {
		at := rgbAt(img)
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				if r, g, bl := at(x, y); r != c.R || g != c.G || bl != c.B {
					t.Errorf("%T at (%d, %d): (%d, %d, %d), want (%d, %d, %d)", img, x, y, r, g, bl, c.R, c.G, c.B)
				}
			}
		}
	}
}
