package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func grey(c color.Color) uint8 {
	r, g, b, _ := c.RGBA()
	if r != g || g != b {
		return 0xff // not grey: marks a red (missing) pixel
	}
	return uint8(r >> 8)
}

func TestSampleAndComplete(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	mustRun(t, "train", "-rg", "qt4", "-k", "4", "-limit", "300", "-epochs", "1", "-out", run)
	model := filepath.Join(run, "model.tenpc")

	// sample: 6 samples in a grid of 3 columns (⌈√6⌉) and 2 rows of 28+2 pixels.
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	mustRun(t, "sample", "-model", model, "-n", "6", "-seed", "3", "-o", a)
	mustRun(t, "sample", "-model", model, "-n", "6", "-seed", "3", "-o", b)
	ia := decodePNG(t, a)
	if ia.Bounds().Dx() != 3*30+2 || ia.Bounds().Dy() != 2*30+2 {
		t.Errorf("grid of 6 samples is %v", ia.Bounds())
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if string(ba) != string(bb) {
		t.Error("the same seed gave different samples")
	}
	c := filepath.Join(dir, "c.png")
	mustRun(t, "sample", "-model", model, "-n", "6", "-seed", "4", "-o", c)
	if bc, _ := os.ReadFile(c); string(bc) == string(ba) {
		t.Error("another seed gave the same samples")
	}

	// complete: 3 images, rows original / masked / conditional sample / MAP.
	out := filepath.Join(dir, "complete.png")
	stdout := mustRun(t, "complete", "-model", model, "-mask", "left", "-n", "3", "-o", out)
	if !strings.Contains(stdout, out) {
		t.Errorf("complete output %q", stdout)
	}
	img := decodePNG(t, out)
	if img.Bounds().Dx() != 3*30+2 || img.Bounds().Dy() != 4*30+2 {
		t.Fatalf("completion grid is %v, want 3 columns and 4 rows", img.Bounds())
	}
	at := func(row, col, y, x int) color.Color { return img.At(2+col*30+x, 2+row*30+y) }
	for col := range 3 {
		for y := range 28 {
			for x := range 28 {
				orig := grey(at(0, col, y, x))
				masked := at(1, col, y, x)
				if x < 14 {
					// The left half is missing: painted red in the masked row.
					if r, g, _, _ := masked.RGBA(); r>>8 != 200 || g>>8 != 30 {
						t.Fatalf("image %d (%d,%d): masked pixel %v, want red", col, y, x, masked)
					}
					continue
				}
				// The observed right half is kept by both completions.
				if grey(masked) != orig || grey(at(2, col, y, x)) != orig || grey(at(3, col, y, x)) != orig {
					t.Fatalf("image %d (%d,%d): observed pixel %d changed to %d / %d / %d", col, y, x, orig,
						grey(masked), grey(at(2, col, y, x)), grey(at(3, col, y, x)))
				}
			}
		}
	}
}

func TestCompleteRandomMask(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	mustRun(t, "train", "-rg", "qt4", "-k", "4", "-limit", "100", "-epochs", "1", "-out", run)
	out := filepath.Join(dir, "complete.png")
	mustRun(t, "complete", "-model", filepath.Join(run, "model.tenpc"), "-mask", "random:0.5", "-n", "2", "-o", out)
	img := decodePNG(t, out)
	red := 0
	for col := range 2 {
		for y := range 28 {
			for x := range 28 {
				if grey(img.At(2+col*30+x, 2+30+y)) == 0xff {
					red++
				}
			}
		}
	}
	// 2·784 pixels, each missing with probability 1/2: 784 ± 20 (σ), so
	// 600..968 holds unless the mask ignores P.
	if red < 600 || red > 968 {
		t.Errorf("%d of %d pixels masked, want about half", red, 2*784)
	}
}
