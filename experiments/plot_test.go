package experiments

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// decodePNG reads the PNG at path.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// near counts the pixels of img within 24 of c in every channel (lines
// are anti-aliased, so only their centres have the exact colour).
func near(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(r>>8, c.R) <= 24 && absDiff(g>>8, c.G) <= 24 && absDiff(bl>>8, c.B) <= 24 {
				n++
			}
		}
	}
	return n
}

func absDiff(a uint32, b uint8) uint32 {
	if a > uint32(b) {
		return a - uint32(b)
	}
	return uint32(b) - a
}

// samePixels reports whether a and b have the same bounds and pixels.
func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

func TestWriteCurve(t *testing.T) {
	path := filepath.Join(t.TempDir(), CurveFile)
	hist := []EpochMetrics{{Epoch: 1, TrainBPD: 3, ValidBPD: 2.5}, {Epoch: 2, TrainBPD: 2, ValidBPD: 1.9}, {Epoch: 3, TrainBPD: 1.7, ValidBPD: 1.8}}
	if err := WriteCurve(path, hist); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 400 {
		t.Fatalf("curve.png is %v, want 640×400", b)
	}
	// Both lines and their legend entries are drawn in their colours.
	train, valid := near(img, palette[0]), near(img, palette[1])
	if train < 200 || valid < 200 {
		t.Errorf("%d pixels in the train colour and %d in the valid colour, want both ≥ 200", train, valid)
	}
	// Without a validation set there is no valid line.
	for i := range hist {
		hist[i].ValidBPD = 0
	}
	if err := WriteCurve(path, hist); err != nil {
		t.Fatal(err)
	}
	if img := decodePNG(t, path); near(img, palette[1]) != 0 || near(img, palette[0]) < 200 {
		t.Errorf("without validation: %d valid-coloured and %d train-coloured pixels, want 0 and ≥ 200", near(img, palette[1]), near(img, palette[0]))
	}
}

// A point with NaN or ±Inf (or a non-positive value on a log axis) is
// skipped: the plot is pixel for pixel the plot without it.
func TestLinePlotSkipsUnplottable(t *testing.T) {
	dir := t.TempDir()
	inf := math.Inf(1)
	for _, tc := range []struct {
		name       string
		logX, logY bool
		x, y       []float64 // with unplottable points
		cx, cy     []float64 // the same without them
	}{
		{"NaN and Inf", false, false,
			[]float64{1, 2, 3, inf, 4, 5}, []float64{3, math.NaN(), 2.5, 1, -inf, 2},
			[]float64{1, 3, 5}, []float64{3, 2.5, 2}},
		{"log y", false, true,
			[]float64{1, 2, 3, 4}, []float64{100, 0, -1, 2},
			[]float64{1, 4}, []float64{100, 2}},
		{"log x", true, false,
			[]float64{0, 1, 10, 100}, []float64{5, 4, 3, 2},
			[]float64{1, 10, 100}, []float64{4, 3, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var imgs []image.Image
			for i, s := range []Series{{Name: "a", X: tc.x, Y: tc.y}, {Name: "a", X: tc.cx, Y: tc.cy}} {
				path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+string(rune('0'+i))+".png")
				p := LinePlot{Title: tc.name, XLabel: "x", YLabel: "y", LogX: tc.logX, LogY: tc.logY, Series: []Series{s}}
				if err := p.WritePNG(path, 320*Pixel, 240*Pixel); err != nil {
					t.Fatal(err)
				}
				imgs = append(imgs, decodePNG(t, path))
			}
			if !samePixels(imgs[0], imgs[1]) {
				t.Error("the plot with unplottable points differs from the plot without them")
			}
			if near(imgs[0], palette[0]) < 50 {
				t.Error("the series is not drawn")
			}
		})
	}
}

// Plots with nothing to draw on a log axis (no points, one value, only
// non-positive values) still write an image.
func TestLinePlotDegenerate(t *testing.T) {
	dir := t.TempDir()
	for i, s := range [][]Series{
		nil,
		{{Name: "empty"}},
		{{Name: "one value", X: []float64{1, 2}, Y: []float64{3, 3}}},
		{{Name: "non-positive", X: []float64{1, 2}, Y: []float64{0, -3}}},
	} {
		path := filepath.Join(dir, string(rune('a'+i))+".png")
		if err := (LinePlot{LogX: true, LogY: true, Series: s}).WritePNG(path, 200*Pixel, 100*Pixel); err != nil {
			t.Errorf("series %v: %v", s, err)
			continue
		}
		if b := decodePNG(t, path).Bounds(); b.Dx() != 200 || b.Dy() != 100 {
			t.Errorf("series %v: image %v, want 200×100", s, b)
		}
	}
}

func TestLinePlotRejects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.png")
	bad := LinePlot{Series: []Series{{Name: "short", X: []float64{1, 2}, Y: []float64{1}}}}
	if err := bad.WritePNG(path, 100*Pixel, 100*Pixel); err == nil || !strings.Contains(err.Error(), `"short" has 2 x values and 1 y values`) {
		t.Errorf("mismatched series: error %v", err)
	}
	if err := (LinePlot{}).WritePNG(path, 0, 100*Pixel); err == nil || !strings.Contains(err.Error(), "not positive") {
		t.Errorf("zero width: error %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a rejected plot left %s (%v)", path, err)
	}
}

// A log axis labels powers of ten across decades and round numbers within
// one; no tick is at or below zero.
func TestLogTicks(t *testing.T) {
	labels := func(min, max float64) []string {
		var l []string
		for _, tk := range (logTicks{}).Ticks(min, max) {
			if tk.Value <= 0 {
				t.Errorf("Ticks(%v, %v) has a tick at %v", min, max, tk.Value)
			}
			if tk.Label != "" {
				l = append(l, tk.Label)
			}
		}
		return l
	}
	if got := strings.Join(labels(1, 1000), " "); got != "1 10 100 1000" {
		t.Errorf("labels over 1..1000: %q", got)
	}
	if got := labels(1.3, 1.9); len(got) < 2 {
		t.Errorf("labels over 1.3..1.9: %q, want at least 2", got)
	}
	if got := labels(0.01, 0.09); len(got) < 2 {
		t.Errorf("labels over 0.01..0.09: %q, want at least 2", got)
	}
	// The plot puts its log axes on plot.LogScale.
	pl, err := LinePlot{LogY: true, Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 1000}}}}.plot()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pl.Y.Scale.(plot.LogScale); !ok {
		t.Errorf("LogY: y scale %T, want plot.LogScale", pl.Y.Scale)
	}
	if _, ok := pl.X.Scale.(plot.LinearScale); !ok {
		t.Errorf("x scale %T, want plot.LinearScale", pl.X.Scale)
	}
}

// An axis of integers (epochs) is labelled at integers only.
func TestIntTicks(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		want     string
	}{
		{0.45, 12.55, "2 4 6 8 10 12"},
		{0.55, 10.45, "1 2 3 4 5 6 7 8 9 10"},
		{-0.5, 30.5, "0 5 10 15 20 25 30"},
		{0.9, 200, "20 40 60 80 100 120 140 160 180 200"},
		{7.2, 7.8, ""},
	} {
		var l []string
		for _, tk := range (intTicks{}).Ticks(tc.min, tc.max) {
			l = append(l, tk.Label)
		}
		if got := strings.Join(l, " "); got != tc.want {
			t.Errorf("Ticks(%v, %v) = %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}
	pl, err := LinePlot{Series: []Series{{X: []float64{1, 2, 3}, Y: []float64{0.5, 1, 2}}}}.plot()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pl.X.Tick.Marker.(intTicks); !ok {
		t.Errorf("integer x: ticks %T, want intTicks", pl.X.Tick.Marker)
	}
	if _, ok := pl.Y.Tick.Marker.(plot.DefaultTicks); !ok {
		t.Errorf("fractional y: ticks %T, want plot.DefaultTicks", pl.Y.Tick.Marker)
	}
}

// The legend goes in the emptier top corner: left of a rising line, right
// of a falling one.
func TestLegendCorner(t *testing.T) {
	for _, tc := range []struct {
		y    []float64
		left bool
	}{{[]float64{1, 2, 3, 4}, true}, {[]float64{4, 3, 2, 1}, false}} {
		pl, err := LinePlot{Series: []Series{{Name: "a", X: []float64{1, 2, 3, 4}, Y: tc.y}}}.plot()
		if err != nil {
			t.Fatal(err)
		}
		if pl.Legend.Left != tc.left || !pl.Legend.Top {
			t.Errorf("y %v: legend top %v left %v, want top, left %v", tc.y, pl.Legend.Top, pl.Legend.Left, tc.left)
		}
	}
}
