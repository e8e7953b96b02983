package data

import (
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the JPEG decoder with image.Decode
	_ "image/png"  // register the PNG decoder with image.Decode
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// ImageOptions configures ImageFolder. The zero value gives 64×64 images of
// the largest centred square of every file.
type ImageOptions struct {
	// Height and Width of the output images; 0 means 64.
	Height, Width int
	// Crop is the side of the centred square cut out of each image before
	// resizing; 0 (the default) means the largest centred square. CelebA
	// pipelines often use 140 or 148 on the 178×218 aligned images.
	Crop int
	// Limit reads only the first Limit files in name order; 0 reads all.
	Limit int
}

// imageExts are the file name extensions ImageFolder reads (any case).
var imageExts = []string{".png", ".jpg", ".jpeg"}

// ImageFolder reads every PNG and JPEG file directly in dir (sorted by name;
// other files and subdirectories are ignored), cuts the centred square,
// resizes it by area averaging to Height×Width and returns them as a dataset
// with Shape (3, Height, Width) and 256 values: variable c*H*W + h*W + w is
// channel c (R, G, B) of pixel (h, w). Alpha is ignored. An image that cannot
// be decoded, or is smaller than the crop, is an error naming the file.
func ImageFolder(dir string, opt ImageOptions) (*Dataset, error) {
	h, w := opt.Height, opt.Width
	if h == 0 {
		h = 64
	}
	if w == 0 {
		w = 64
	}
	if h < 0 || w < 0 || opt.Crop < 0 || opt.Limit < 0 {
		return nil, fmt.Errorf("image folder %s: negative option in %+v", dir, opt)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	var files []string
	for _, e := range entries {
		// Symbolic links are followed (a link to a directory fails to decode).
		if (e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0) && slices.Contains(imageExts, strings.ToLower(filepath.Ext(e.Name()))) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("image folder %s: no .png, .jpg or .jpeg files", dir)
	}
	if opt.Limit > 0 && opt.Limit < len(files) {
		files = files[:opt.Limit]
	}
	d := &Dataset{
		Name:   filepath.Base(dir),
		Shape:  []int{3, h, w},
		Values: 256,
		N:      len(files),
		D:      3 * h * w,
		X:      make([]uint8, len(files)*3*h*w),
	}
	// Decode in parallel; each worker writes only its own rows.
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				errs[i] = readImageInto(d.X[i*d.D:(i+1)*d.D], files[i], opt.Crop, h, w)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, fmt.Errorf("image folder %s: %w", dir, err)
	}
	return d, nil
}

// firstError returns the first non-nil error in errs (the one for the first
// bad file in name order).
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readImageInto decodes the image at path, crops and resizes it, and writes
// it to dst in (3, h, w) layout.
func readImageInto(dst []uint8, path string, crop, h, w int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	img, _, err := image.Decode(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		return fmt.Errorf("close %s: %w", path, cerr)
	}
	if err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	if crop > 0 {
		if crop > side {
			return fmt.Errorf("%s: %d×%d image smaller than the %d×%d crop", path, b.Dx(), b.Dy(), crop, crop)
		}
		side = crop
	}
	if side == 0 {
		return fmt.Errorf("%s: empty image", path)
	}
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	// src: (side, side, 3) float64 RGB of the crop.
	src := make([]float64, side*side*3)
	at := rgbAt(img)
	for y := range side {
		for x := range side {
			r, g, b := at(x0+x, y0+y)
			p := (y*side + x) * 3
			src[p], src[p+1], src[p+2] = float64(r), float64(g), float64(b)
		}
	}
	wy, wx := areaWeights(side, h), areaWeights(side, w)
	hw := h * w
	for oy := range h {
		for ox := range w {
			var acc [3]float64
			for _, ty := range wy[oy] {
				for _, tx := range wx[ox] {
					p := (ty.i*side + tx.i) * 3
					f := ty.w * tx.w
					acc[0] += f * src[p]
					acc[1] += f * src[p+1]
					acc[2] += f * src[p+2]
				}
			}
			for c := range 3 {
				dst[c*hw+oy*w+ox] = uint8(min(255, math.Round(acc[c])))
			}
		}
	}
	return nil
}

// rgbAt returns a function giving the non-premultiplied 8-bit RGB of img at
// (x, y), the same as converting img.At(x, y) with color.NRGBAModel, with
// allocation-free paths for the types the PNG and JPEG decoders return
// (At boxes every pixel in an interface, which dominated the run time).
func rgbAt(img image.Image) func(x, y int) (r, g, b uint8) {
	generic := func(x, y int) (r, g, b uint8) {
		c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
		return c.R, c.G, c.B
	}
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) (r, g, b uint8) {
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			// color.YCbCr.RGBA, as NRGBAModel uses it (not the 8-bit
			// color.YCbCrToRGB, which rounds differently).
			r16, g16, b16, _ := color.YCbCr{Y: m.Y[yi], Cb: m.Cb[ci], Cr: m.Cr[ci]}.RGBA()
			return uint8(r16 >> 8), uint8(g16 >> 8), uint8(b16 >> 8)
		}
	case *image.NRGBA:
		return func(x, y int) (r, g, b uint8) {
			p := m.Pix[m.PixOffset(x, y):]
			return p[0], p[1], p[2]
		}
	case *image.RGBA:
		return func(x, y int) (r, g, b uint8) {
			p := m.Pix[m.PixOffset(x, y):]
			if p[3] != 255 {
				return generic(x, y) // un-premultiply
			}
			return p[0], p[1], p[2]
		}
	case *image.Gray:
		return func(x, y int) (r, g, b uint8) {
			v := m.Pix[m.PixOffset(x, y)]
			return v, v, v
		}
	}
	return generic
}

// tap is one source pixel i with weight w in an output pixel.
type tap struct {
	i int
	w float64
}

// areaWeights returns, for each of out output pixels along an axis of in
// source pixels, the source pixels it covers and their weights: output
// pixel o covers [o*in/out, (o+1)*in/out) and each source pixel weighs by the
// length of its overlap, normalised to sum to 1. This is area averaging when
// shrinking and nearest-neighbour-like when enlarging.
func areaWeights(in, out int) [][]tap {
	scale := float64(in) / float64(out)
	taps := make([][]tap, out)
	for o := range out {
		lo, hi := float64(o)*scale, float64(o+1)*scale
		var sum float64
		for i := int(lo); i < in && float64(i) < hi; i++ {
			ov := min(hi, float64(i+1)) - max(lo, float64(i))
			if ov > 1e-12 {
				taps[o] = append(taps[o], tap{i, ov})
				sum += ov
			}
		}
		for k := range taps[o] {
			taps[o][k].w /= sum
		}
	}
	return taps
}
