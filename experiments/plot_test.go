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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
)

// decodePNG reads the PNG at path.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err, "decode %s", path)
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
	require.NoError(t, WriteCurve(path, hist))
	img := decodePNG(t, path)
	b := img.Bounds()
	require.Equal(t, [2]int{640, 400}, [2]int{b.Dx(), b.Dy()}, "width and height of curve.png")
	// Both lines and their legend entries are drawn in their colours.
	assert.GreaterOrEqual(t, near(img, palette[0]), 200, "pixels in the train colour")
	assert.GreaterOrEqual(t, near(img, palette[1]), 200, "pixels in the valid colour")
	// Without a validation set there is no valid line.
	for i := range hist {
		hist[i].ValidBPD = 0
	}
	require.NoError(t, WriteCurve(path, hist))
	img = decodePNG(t, path)
	assert.Zero(t, near(img, palette[1]), "without validation: pixels in the valid colour")
	assert.GreaterOrEqual(t, near(img, palette[0]), 200, "without validation: pixels in the train colour")
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
				require.NoError(t, p.WritePNG(path, 320*Pixel, 240*Pixel))
				imgs = append(imgs, decodePNG(t, path))
			}
			assert.True(t, samePixels(imgs[0], imgs[1]), "the plot with unplottable points differs from the plot without them")
			assert.GreaterOrEqual(t, near(imgs[0], palette[0]), 50, "pixels in the series' colour")
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
		err := (LinePlot{LogX: true, LogY: true, Series: s}).WritePNG(path, 200*Pixel, 100*Pixel)
		if !assert.NoError(t, err, "series %v", s) {
			continue
		}
		b := decodePNG(t, path).Bounds()
		assert.Equal(t, [2]int{200, 100}, [2]int{b.Dx(), b.Dy()}, "series %v: width and height", s)
	}
}

func TestLinePlotRejects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.png")
	bad := LinePlot{Series: []Series{{Name: "short", X: []float64{1, 2}, Y: []float64{1}}}}
	assert.ErrorContains(t, bad.WritePNG(path, 100*Pixel, 100*Pixel), `"short" has 2 x values and 1 y values`, "mismatched series")
	assert.ErrorContains(t, (LinePlot{}).WritePNG(path, 0, 100*Pixel), "not positive", "zero width")
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "a rejected plot left %s", path)
}

// A log axis labels powers of ten across decades and round numbers within
// one; no tick is at or below zero.
func TestLogTicks(t *testing.T) {
	labels := func(min, max float64) []string {
		var l []string
		for _, tk := range (logTicks{}).Ticks(min, max) {
			assert.Positive(t, tk.Value, "Ticks(%v, %v) has a tick at %v", min, max, tk.Value)
			if tk.Label != "" {
				l = append(l, tk.Label)
			}
		}
		return l
	}
	assert.Equal(t, "1 10 100 1000", strings.Join(labels(1, 1000), " "), "labels over 1..1000")
	fine := labels(1.3, 1.9)
	assert.GreaterOrEqual(t, len(fine), 2, "labels over 1.3..1.9: %q", fine)
	fine = labels(0.01, 0.09)
	assert.GreaterOrEqual(t, len(fine), 2, "labels over 0.01..0.09: %q", fine)
	// The plot puts its log axes on plot.LogScale.
	pl, err := LinePlot{LogY: true, Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 1000}}}}.plot()
	require.NoError(t, err)
	assert.IsType(t, plot.LogScale{}, pl.Y.Scale, "LogY: y scale")
	assert.IsType(t, plot.LinearScale{}, pl.X.Scale, "x scale")
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
		assert.Equal(t, tc.want, strings.Join(l, " "), "Ticks(%v, %v)", tc.min, tc.max)
	}
	pl, err := LinePlot{Series: []Series{{X: []float64{1, 2, 3}, Y: []float64{0.5, 1, 2}}}}.plot()
	require.NoError(t, err)
	assert.IsType(t, intTicks{}, pl.X.Tick.Marker, "integer x: ticks")
	assert.IsType(t, plot.DefaultTicks{}, pl.Y.Tick.Marker, "fractional y: ticks")
}

// The legend goes in the emptier top corner: left of a rising line, right
// of a falling one.
func TestLegendCorner(t *testing.T) {
	for _, tc := range []struct {
		y    []float64
		left bool
	}{{[]float64{1, 2, 3, 4}, true}, {[]float64{4, 3, 2, 1}, false}} {
		pl, err := LinePlot{Series: []Series{{Name: "a", X: []float64{1, 2, 3, 4}, Y: tc.y}}}.plot()
		require.NoError(t, err)
		assert.True(t, pl.Legend.Top, "y %v: legend at the top", tc.y)
		assert.Equal(t, tc.left, pl.Legend.Left, "y %v: legend on the left", tc.y)
	}
}
