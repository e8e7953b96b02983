package data

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeImage encodes img as PNG or JPEG (by the extension of name) in dir.
func writeImage(t testing.TB, dir, name string, img image.Image) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	require.NoError(t, err)
	if strings.HasSuffix(strings.ToLower(name), ".png") {
		err = png.Encode(f, img)
	} else {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 100})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	require.NoError(t, err, "write %s", name)
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
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.png"), 0o755))
	d, err := ImageFolder(dir, ImageOptions{Height: 4, Width: 4})
	require.NoError(t, err)
	require.Equal(t, 3, d.N, "N")
	require.Equal(t, 48, d.D, "D")
	require.Equal(t, []int{3, 4, 4}, d.Shape, "shape")
	assert.Equal(t, 256, d.Values, "values")
	assert.Equal(t, filepath.Base(dir), d.Name, "name")
	require.NoError(t, d.validate())
	want := map[[2]int][3]uint8{
		{0, 0}: {255, 0, 0}, {1, 1}: {255, 0, 0},
		{0, 3}: {0, 255, 0}, {1, 2}: {0, 255, 0},
		{3, 0}: {0, 0, 255}, {2, 1}: {0, 0, 255},
		{3, 3}: {255, 255, 255}, {2, 2}: {255, 255, 255},
	}
	for i, name := range []string{"a.png", "b.jpg", "c.PNG"} {
		tol := 0.0
		if strings.HasSuffix(name, ".jpg") {
			tol = 40 // JPEG chroma subsampling blurs colour edges
		}
		for yx, c := range want {
			got := pixel(d, i, yx[0], yx[1])
			for k := range 3 {
				assert.InDelta(t, c[k], got[k], tol, "%s pixel %v = %v, want %v", name, yx, got, c)
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
	require.NoError(t, err)
	assert.Equal(t, []uint8{50, 120, 50, 120, 50, 120}, d.X, "X: channels R, G, B, each [50 120]")
	// Crop 2 keeps the centre columns 100 and 200.
	d, err = ImageFolder(dir, ImageOptions{Height: 1, Width: 1, Crop: 2})
	require.NoError(t, err)
	assert.Equal(t, []uint8{150, 150, 150}, d.X, "crop 2: X")
}

func TestImageFolderDefaultsAndLimit(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"3.png", "1.png", "2.png"} {
		writeImage(t, dir, name, quadrants(80, 70, 5))
	}
	d, err := ImageFolder(dir, ImageOptions{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, 2, d.N, "N")
	assert.Equal(t, []int{3, 64, 64}, d.Shape, "shape")
	assert.Equal(t, 3*64*64, d.D, "D")
	// A symbolic link to an image counts as an image.
	if err := os.Symlink(filepath.Join(dir, "1.png"), filepath.Join(dir, "4.png")); err != nil {
		t.Skip(err)
	}
	d, err = ImageFolder(dir, ImageOptions{Height: 2, Width: 2})
	require.NoError(t, err)
	require.Equal(t, 4, d.N, "N with a link")
	assert.Equal(t, d.Row(0), d.Row(3), "the link's row and its target's (rows 0 and 3)")
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
			assert.NotEmpty(t, ts, "areaWeights(%d, %d)[%d]", tc.in, tc.out, o)
			assert.InDelta(t, 1, s, 1e-9, "areaWeights(%d, %d)[%d] = %v: sum of weights", tc.in, tc.out, o, ts)
		}
		for i, c := range cover {
			assert.InDelta(t, 1, c, 1e-9, "areaWeights(%d, %d): times source %d is covered", tc.in, tc.out, i)
		}
	}
}

func TestImageFolderErrors(t *testing.T) {
	corrupt := t.TempDir()
	writeImage(t, corrupt, "a.png", quadrants(4, 4, 0))
	require.NoError(t, os.WriteFile(filepath.Join(corrupt, "b.jpg"), []byte("\xff\xd8not really a jpeg"), 0o644))
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
			if assert.ErrorContains(t, err, tc.want) {
				assert.NotContains(t, err.Error(), "\n", "error is one line")
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
				r, g, bl := at(x, y)
				assert.Equal(t, [3]uint8{c.R, c.G, c.B}, [3]uint8{r, g, bl}, "%T at (%d, %d): (r, g, b)", img, x, y)
			}
		}
	}
}
