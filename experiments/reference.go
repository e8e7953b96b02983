package experiments

import (
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/tenpc/tenpc/circuit"
)

// referenceFS holds the reference paper's result tables (see
// reference/README.md for their source), so recipes find them from any
// working directory.
//
//go:embed reference/uni-circ-le/*.csv
var referenceFS embed.FS

// PaperKey names a cell of the reference paper's grid in tenpc's
// vocabulary: region graph ("qg", "qt4", "pd"), layer and K.
type PaperKey struct {
	RG    string
	Layer circuit.Layer
	K     int
}

// PaperCell is a grid cell's test bpd over the paper's seeds.
type PaperCell struct {
	Mean, Std float64 // sample standard deviation; 0 for one seed
	Seeds     int
}

// paperRG and paperLayer map the reference tables' names to tenpc's (RQT
// is the 4-ary quad tree, cp-shared CP-XS, cp-shared-new CP-S).
var (
	paperRG    = map[string]string{"QG": "qg", "RQT": "qt4", "PD": "pd"}
	paperLayer = map[string]circuit.Layer{"cp": circuit.CP, "tucker": circuit.Tucker, "cp-shared": circuit.CPXS, "cp-shared-new": circuit.CPS}
)

// PaperGrid returns the reference paper's test bpd per cell for dataset
// "mnist" or "fashion-mnist" (grid_mnist.csv, grid_fashion_mnist.csv).
func PaperGrid(dataset string) (map[PaperKey]PaperCell, error) {
	files := map[string]string{"mnist": "grid_mnist.csv", "fashion-mnist": "grid_fashion_mnist.csv"}
	name, ok := files[dataset]
	if !ok {
		return nil, fmt.Errorf("the reference paper has no grid for dataset %q", dataset)
	}
	f, err := referenceFS.Open("reference/uni-circ-le/" + name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readPaperGrid(f)
}

// readPaperGrid reads a grid table (columns k, rg, layer, Best/Test/bpd,
// any others ignored) into per-cell means and standard deviations over its
// rows (one row per seed).
func readPaperGrid(r io.Reader) (map[PaperKey]PaperCell, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reference grid: %w", err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("reference grid: no rows")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"k", "rg", "layer", "Best/Test/bpd"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("reference grid: no column %q", h)
		}
	}
	vals := map[PaperKey][]float64{}
	for i, r := range recs[1:] {
		k, err1 := strconv.ParseFloat(r[col["k"]], 64)
		v, err2 := strconv.ParseFloat(r[col["Best/Test/bpd"]], 64)
		rg, ok1 := paperRG[r[col["rg"]]]
		layer, ok2 := paperLayer[r[col["layer"]]]
		if err1 != nil || err2 != nil || !ok1 || !ok2 {
			return nil, fmt.Errorf("reference grid: row %d (%v) is not k, rg, layer and bpd", i+2, r)
		}
		key := PaperKey{RG: rg, Layer: layer, K: int(k)}
		vals[key] = append(vals[key], v)
	}
	out := make(map[PaperKey]PaperCell, len(vals))
	for key, vs := range vals {
		var sum, ss float64
		for _, v := range vs {
			sum += v
		}
		mean := sum / float64(len(vs))
		for _, v := range vs {
			ss += (v - mean) * (v - mean)
		}
		c := PaperCell{Mean: mean, Seeds: len(vs)}
		if len(vs) > 1 {
			c.Std = math.Sqrt(ss / float64(len(vs)-1))
		}
		out[key] = c
	}
	return out, nil
}

// paperValue formats the paper's mean bpd for cfg's cell, or "" when the
// paper has no such cell.
func paperValue(grid map[PaperKey]PaperCell, cfg TrainConfig) string {
	c, ok := grid[PaperKey{RG: cfg.RG, Layer: cfg.Layer, K: cfg.Units}]
	if !ok {
		return ""
	}
	return strconv.FormatFloat(c.Mean, 'f', 4, 64)
}
