package experiments

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Line plots (curve.png and the recipes' figures) are drawn with
// gonum.org/v1/plot: a LinePlot names its series and axes, and WritePNG
// renders it with real fonts, grid lines, markers and a legend. Image grids
// (samples, completions) are pixels, not plots, and are drawn with the
// standard library's image package.

// Pixel is the length of one pixel of the PNGs that WritePNG draws (at
// vgimg's default 96 dpi): a 640×400 image is 640*Pixel by 400*Pixel.
const Pixel = vg.Inch / vgimg.DefaultDPI

// palette colours series in order: matplotlib's "tab10" (Vega's
// category10), so the first two (train, valid) are blue and orange.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

// Series is one named line of a LinePlot. Points whose X or Y is NaN or
// ±Inf, or not positive on a log axis, are skipped (the line joins the
// points on either side).
type Series struct {
	Name string // legend entry; "" leaves the series out of the legend
	X, Y []float64
}

// LinePlot is a line plot of named series, each drawn as a line with a
// marker at every point, in its own colour and marker shape. The zero
// value (no title, unlabelled linear axes, no series) draws empty axes.
type LinePlot struct {
	Title, XLabel, YLabel string
	// LogX and LogY draw the axis on a log scale: powers of ten are
	// labelled when the data spans a decade or more, round numbers
	// otherwise.
	LogX, LogY bool
	Series     []Series
}

// WritePNG draws p in a w×h PNG at path, written atomically.
func (p LinePlot) WritePNG(path string, w, h vg.Length) error {
	pl, err := p.plot()
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if !(w > 0 && h > 0) {
		return fmt.Errorf("plot %s: size %v×%v is not positive", path, w, h)
	}
	// A margin of 6 points keeps the title, the tick labels and the
	// markers of extreme points off the image's edges.
	const margin = 6
	c := vgimg.New(w, h)
	pl.Draw(vgdraw.Crop(vgdraw.New(c), margin, -margin, margin, -margin))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFileAtomic(path, b.Bytes())
}

// plot builds the gonum plot of p.
func (p LinePlot) plot() (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.X.Label.Text = p.XLabel
	pl.Y.Label.Text = p.YLabel
	pl.Add(plotter.NewGrid())
	var all plotter.XYs // every point drawn, for the ticks and the legend's place
	for i, s := range p.Series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("series %q has %d x values and %d y values", s.Name, len(s.X), len(s.Y))
		}
		xys := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			if p.plottable(s.X[j], p.LogX) && p.plottable(s.Y[j], p.LogY) {
				xys = append(xys, plotter.XY{X: s.X[j], Y: s.Y[j]})
			}
		}
		all = append(all, xys...)
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("series %q: %w", s.Name, err)
		}
		c := palette[i%len(palette)]
		line.Color, line.Width = c, vg.Points(1.5)
		points.Color, points.Shape, points.Radius = c, plotutil.Shape(i), vg.Points(3)
		pl.Add(line, points)
		if s.Name != "" {
			pl.Legend.Add(s.Name, line, points)
		}
	}
	xInts, yInts := true, true
	for _, pt := range all {
		xInts = xInts && pt.X == math.Trunc(pt.X)
		yInts = yInts && pt.Y == math.Trunc(pt.Y)
	}
	setAxis(&pl.X, p.LogX, xInts)
	setAxis(&pl.Y, p.LogY, yInts)
	// The legend goes in the top corner with fewer points in its quarter.
	var left, right int
	for _, pt := range all {
		if pl.Y.Norm(pt.Y) > 0.5 {
			if pl.X.Norm(pt.X) > 0.5 {
				right++
			} else {
				left++
			}
		}
	}
	pl.Legend.Top, pl.Legend.Left = true, left < right
	pl.Legend.XOffs, pl.Legend.YOffs = -vg.Points(6), -vg.Points(6)
	if pl.Legend.Left {
		pl.Legend.XOffs = vg.Points(6)
	}
	return pl, nil
}

// plottable reports whether v can be drawn on an axis (log or not).
func (LinePlot) plottable(v float64, log bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
}

// setAxis widens a's data range by 5% on each side (in log space on a log
// axis), as matplotlib does, so no point sits on an axis, and chooses its
// ticks: logTicks on a log axis, intTicks on a linear one whose values are
// all integers (epochs). A log axis gets a positive range even when no
// point (or a single value) sets one: gonum's LogScale panics on a range
// that reaches zero.
func setAxis(a *plot.Axis, log, ints bool) {
	const pad = 0.05
	if !log {
		if d := pad * (a.Max - a.Min); d > 0 && !math.IsInf(d, 0) {
			a.Min, a.Max = a.Min-d, a.Max+d
		}
		if ints && !math.IsInf(a.Min, 0) {
			a.Tick.Marker = intTicks{}
		}
		return
	}
	switch {
	case math.IsInf(a.Min, 1): // no points
		a.Min, a.Max = 1, 10
	case a.Min == a.Max:
		a.Min, a.Max = a.Min/2, a.Max*2
	default:
		f := math.Pow(a.Max/a.Min, pad)
		a.Min, a.Max = a.Min/f, a.Max*f
	}
	a.Scale = plot.LogScale{}
	a.Tick.Marker = logTicks{}
}

// intTicks labels integers only, every 1, 2, 5, 10, 20, … units: at most
// 10 labels; plot.DefaultTicks would label an epoch axis 2.5, 5, 7.5.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	step := 1.0
	for k := 0; (max-min)/step > 10; k++ {
		step *= [...]float64{2, 2.5, 2}[k%3] // 1, 2, 5, 10, 20, 50, …
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max; v += step {
		if v == 0 {
			v = 0 // not -0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}

// logTicks marks a log axis: plot.LogTicks (labels at powers of ten) when
// the range spans a decade or more; otherwise plot.DefaultTicks' round
// numbers, since a narrow range (a bpd curve from 1.3 to 1.9) holds no
// power of ten to label. Ticks at or below zero are dropped (LogScale
// cannot place them).
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	if max/min >= 10 {
		ticks = plot.LogTicks{Prec: -1}.Ticks(min, max)
	} else {
		ticks = plot.DefaultTicks{}.Ticks(min, max)
	}
	pos := ticks[:0]
	for _, t := range ticks {
		if t.Value > 0 {
			pos = append(pos, t)
		}
	}
	return pos
}

// WriteCurve writes the train and validation bpd per epoch of hist as a
// 640×400 PNG line plot at path (atomically). Epochs without a validation
// bpd (0: no validation set) are left out of the valid line.
func WriteCurve(path string, hist []EpochMetrics) error {
	tr, va := Series{Name: "train"}, Series{Name: "valid"}
	for _, m := range hist {
		tr.X, tr.Y = append(tr.X, float64(m.Epoch)), append(tr.Y, m.TrainBPD)
		if m.ValidBPD != 0 {
			va.X, va.Y = append(va.X, float64(m.Epoch)), append(va.Y, m.ValidBPD)
		}
	}
	p := LinePlot{XLabel: "epoch", YLabel: "bits per dimension", Series: []Series{tr}}
	if len(va.X) > 0 {
		p.Series = append(p.Series, va)
	}
	return p.WritePNG(path, 640*Pixel, 400*Pixel)
}

// sepia is the colour of the gaps between an ImageGrid's images.
var sepia = color.RGBA{128, 128, 128, 255}

func writePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFileAtomic(path, b.Bytes())
}

// ImageGrid lays out images (each C×H×W values in [0, values), CHW order,
// C = 1 or 3) in rows of cols images, separated by 2-pixel grey gaps.
// Values are scaled to 0..255. masks, when not nil, marks per image (nil:
// none) the variables to paint red (missing).
func ImageGrid(images [][]uint8, masks [][]bool, c, h, w, values, cols int) *image.RGBA {
	const gap = 2
	n := len(images)
	cols = max(1, min(cols, n))
	rows := (n + cols - 1) / cols
	img := image.NewRGBA(image.Rect(0, 0, cols*(w+gap)+gap, max(rows, 1)*(h+gap)+gap))
	draw.Draw(img, img.Bounds(), image.NewUniform(sepia), image.Point{}, draw.Src)
	scale := 255 / float64(max(values-1, 1))
	for i, x := range images {
		ox, oy := gap+(i%cols)*(w+gap), gap+(i/cols)*(h+gap)
		for y := range h {
			for xx := range w {
				if masks != nil && masks[i] != nil && masks[i][y*w+xx] {
					img.SetRGBA(ox+xx, oy+y, color.RGBA{200, 30, 30, 255})
					continue
				}
				var px [3]uint8
				for ch := range 3 {
					v := x[min(ch, c-1)*h*w+y*w+xx]
					px[ch] = uint8(math.Round(math.Min(float64(v)*scale, 255)))
				}
				img.SetRGBA(ox+xx, oy+y, color.RGBA{px[0], px[1], px[2], 255})
			}
		}
	}
	return img
}

// gridCols is the number of columns of a roughly square grid of n images.
func gridCols(n int) int { return max(1, int(math.Ceil(math.Sqrt(float64(n))))) }
