package experiments

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
)

// Plots are drawn with the standard library's image package: a line plot
// with axes, tick labels and a legend (in a 3×5 pixel font, scaled 2×) is
// all curve.png needs.

var (
	white  = color.RGBA{255, 255, 255, 255}
	black  = color.RGBA{0, 0, 0, 255}
	grey   = color.RGBA{220, 220, 220, 255}
	blue   = color.RGBA{31, 119, 180, 255}  // train
	orange = color.RGBA{255, 127, 14, 255}  // valid
	sepia  = color.RGBA{128, 128, 128, 255} // grid gaps
)

// glyphs is a 3×5 pixel font for the characters the plots print; each row
// is 3 bits, most significant bit on the left.
var glyphs = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7}, '3': {7, 1, 7, 1, 7},
	'4': {5, 5, 7, 1, 1}, '5': {7, 4, 7, 1, 7}, '6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 2, 2},
	'8': {7, 5, 7, 5, 7}, '9': {7, 5, 7, 1, 7}, '.': {0, 0, 0, 0, 2}, '-': {0, 0, 7, 0, 0},
	'a': {0, 7, 1, 7, 7}, 'b': {4, 4, 7, 5, 7}, 'c': {0, 7, 4, 4, 7}, 'd': {1, 1, 7, 5, 7},
	'e': {7, 5, 7, 4, 7}, 'h': {4, 4, 7, 5, 5}, 'i': {2, 0, 2, 2, 2}, 'l': {2, 2, 2, 2, 2},
	'n': {0, 6, 5, 5, 5}, 'o': {0, 7, 5, 5, 7}, 'p': {7, 5, 7, 4, 4}, 'r': {0, 7, 4, 4, 4},
	't': {2, 7, 2, 2, 3}, 'v': {0, 5, 5, 5, 2}, ' ': {},
}

const fontScale = 2

// drawText draws s with its top-left corner at (x, y).
func drawText(img *image.RGBA, x, y int, s string, c color.Color) {
	for _, r := range s {
		g := glyphs[r]
		for row := range 5 {
			for col := range 3 {
				if g[row]&(4>>col) == 0 {
					continue
				}
				for dy := range fontScale {
					for dx := range fontScale {
						img.Set(x+col*fontScale+dx, y+row*fontScale+dy, c)
					}
				}
			}
		}
		x += 4 * fontScale
	}
}

func textWidth(s string) int { return len(s) * 4 * fontScale }

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

// drawLine draws a 2-pixel-wide segment (DDA).
func drawLine(img *image.RGBA, x0, y0, x1, y1 float64, c color.Color) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x, y := int(math.Round(x0+t*(x1-x0))), int(math.Round(y0+t*(y1-y0)))
		img.Set(x, y, c)
		img.Set(x+1, y, c)
		img.Set(x, y+1, c)
	}
}

// Series is one named line of a plot.
type Series struct {
	Name  string
	Color color.Color
	X, Y  []float64
}

// LinePlot draws the series in a w×h image with axes from the data's range,
// five labelled ticks per axis, and a legend. Points with NaN or ±Inf are
// skipped.
func LinePlot(w, h int, xLabel, yLabel string, series []Series) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Bounds(), white)
	left, right, top, bottom := 70, w-20, 32, h-50
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for i := range s.X {
			if finite(s.X[i]) && finite(s.Y[i]) {
				xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
				ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
			}
		}
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax, ymin, ymax = 0, 1, 0, 1
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	if ymax == ymin {
		ymin, ymax = ymin-0.5, ymax+0.5
	}
	pad := (ymax - ymin) * 0.05
	ymin, ymax = ymin-pad, ymax+pad
	px := func(x float64) float64 { return float64(left) + (x-xmin)/(xmax-xmin)*float64(right-left) }
	py := func(y float64) float64 { return float64(bottom) - (y-ymin)/(ymax-ymin)*float64(bottom-top) }
	// Grid and ticks.
	for i := range 5 {
		yv := ymin + float64(i)/4*(ymax-ymin)
		y := int(py(yv))
		fillRect(img, image.Rect(left, y, right, y+1), grey)
		lbl := strconv.FormatFloat(yv, 'f', 3, 64)
		drawText(img, left-8-textWidth(lbl), y-5, lbl, black)
		xv := xmin + float64(i)/4*(xmax-xmin)
		x := int(px(xv))
		fillRect(img, image.Rect(x, bottom, x+1, bottom+5), black)
		lbl = strconv.FormatFloat(xv, 'f', int(max(0, -math.Floor(math.Log10(max(xmax-xmin, 1e-9)/4)))), 64)
		drawText(img, x-textWidth(lbl)/2, bottom+9, lbl, black)
	}
	fillRect(img, image.Rect(left, top, left+1, bottom+1), black)
	fillRect(img, image.Rect(left, bottom, right+1, bottom+1), black)
	drawText(img, (left+right-textWidth(xLabel))/2, h-20, xLabel, black)
	drawText(img, 6, 8, yLabel, black)
	// Lines, then the legend in the top right corner.
	for si, s := range series {
		prev := -1
		for i := range s.X {
			if !finite(s.X[i]) || !finite(s.Y[i]) {
				continue
			}
			if prev >= 0 {
				drawLine(img, px(s.X[prev]), py(s.Y[prev]), px(s.X[i]), py(s.Y[i]), s.Color)
			}
			fillRect(img, image.Rect(int(px(s.X[i]))-2, int(py(s.Y[i]))-2, int(px(s.X[i]))+3, int(py(s.Y[i]))+3), s.Color)
			prev = i
		}
		ly := top + 6 + si*16
		lx := right - 20 - textWidth(s.Name)
		fillRect(img, image.Rect(lx-18, ly+3, lx-4, ly+7), s.Color)
		drawText(img, lx, ly, s.Name, black)
	}
	return img
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// WriteCurve writes the train and validation bpd per epoch of hist as a
// PNG line plot at path (atomically).
func WriteCurve(path string, hist []EpochMetrics) error {
	tr := Series{Name: "train", Color: blue}
	va := Series{Name: "valid", Color: orange}
	for _, m := range hist {
		tr.X, tr.Y = append(tr.X, float64(m.Epoch)), append(tr.Y, m.TrainBPD)
		if m.ValidBPD != 0 {
			va.X, va.Y = append(va.X, float64(m.Epoch)), append(va.Y, m.ValidBPD)
		}
	}
	return writePNG(path, LinePlot(640, 400, "epoch", "bpd", []Series{tr, va}))
}

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
	fillRect(img, img.Bounds(), sepia)
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
