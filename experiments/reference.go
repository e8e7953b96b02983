package experiments

import (
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"regexp"
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

// CompressionMode is what a row of the paper's compression table holds.
type CompressionMode int

const (
	// CompressionTucker is the Tucker model that was compressed.
	CompressionTucker CompressionMode = iota
	// CompressionCompressed is the CP-R model of rank R factorized from it,
	// before any training.
	CompressionCompressed
	// CompressionFineTuned is the compressed model after fine-tuning.
	CompressionFineTuned
	// CompressionScratch is a CP-R circuit of rank R trained from scratch.
	CompressionScratch
)

var compressionModeNames = []string{"tucker", "compressed", "finetuned", "scratch"}

func (m CompressionMode) String() string {
	if m >= 0 && int(m) < len(compressionModeNames) {
		return compressionModeNames[m]
	}
	return fmt.Sprintf("CompressionMode(%d)", int(m))
}

// CompressionRow is one row of the paper's compression table
// (compression_bpd.csv), its path decoded into tenpc's vocabulary.
type CompressionRow struct {
	Path    string          // as in the file
	Dataset string          // "mnist", "fashion-mnist" or "celeba"
	RG      string          // "qg" or "pd"
	K       int             // units of the Tucker model
	Mode    CompressionMode // what the row holds
	Rank    int             // R; 0 for the Tucker model
	// TrainBPD, ValidBPD and TestBPD are the model's bits per dimension on
	// the three splits.
	TrainBPD, ValidBPD, TestBPD float64
}

// PaperCompression returns the rows of the reference paper's compression
// table, compression_bpd.csv, in file order.
func PaperCompression() ([]CompressionRow, error) {
	f, err := referenceFS.Open("reference/uni-circ-le/compression_bpd.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readPaperCompression(f)
}

// compressionPath matches the table's paths:
//
//	out/compressed/DATASET/RG_K/tucker.mdl                the Tucker model
//	out/compressed/DATASET/RG_K/rank_R.mdl                compressed to rank R
//	out/compressed/DATASET/RG_K/rank_Rfinetuned.mdl       compressed, fine-tuned
//	out/compressed/DATASET/RG_K/from_scratch/rank_R.mdl   CP-R of rank R from scratch
//
// DATASET is mnist, fashion_mnist or celeba and RG is QG or PD.
var compressionPath = regexp.MustCompile(`^out/compressed/([a-z_]+)/([A-Z]+)_([0-9]+)/(tucker|rank_([0-9]+)(finetuned)?|from_scratch/rank_([0-9]+))\.mdl$`)

// readPaperCompression reads a compression table (columns path,
// train_bpd, valid_bpd, test_bpd; others ignored).
func readPaperCompression(r io.Reader) ([]CompressionRow, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reference compression table: %w", err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("reference compression table: no rows")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"path", "train_bpd", "valid_bpd", "test_bpd"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("reference compression table: no column %q", h)
		}
	}
	datasets := map[string]string{"mnist": "mnist", "fashion_mnist": "fashion-mnist", "celeba": "celeba"}
	rows := make([]CompressionRow, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		row := CompressionRow{Path: rec[col["path"]]}
		m := compressionPath.FindStringSubmatch(row.Path)
		bad := m == nil
		if !bad {
			ds, ok1 := datasets[m[1]]
			rg, ok2 := paperRG[m[2]]
			row.Dataset, row.RG = ds, rg
			row.K, _ = strconv.Atoi(m[3])
			switch {
			case m[4] == "tucker":
				row.Mode = CompressionTucker
			case m[7] != "":
				row.Mode, row.Rank = CompressionScratch, atoiOr0(m[7])
			case m[6] != "":
				row.Mode, row.Rank = CompressionFineTuned, atoiOr0(m[5])
			default:
				row.Mode, row.Rank = CompressionCompressed, atoiOr0(m[5])
			}
			bad = !ok1 || !ok2 || row.K < 1 || (row.Mode != CompressionTucker && row.Rank < 1)
		}
		var errs [3]error
		row.TrainBPD, errs[0] = strconv.ParseFloat(rec[col["train_bpd"]], 64)
		row.ValidBPD, errs[1] = strconv.ParseFloat(rec[col["valid_bpd"]], 64)
		row.TestBPD, errs[2] = strconv.ParseFloat(rec[col["test_bpd"]], 64)
		if bad || errs[0] != nil || errs[1] != nil || errs[2] != nil {
			return nil, fmt.Errorf("reference compression table: row %d (%v) is not a known path and three bpd values", i+2, rec)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// atoiOr0 is strconv.Atoi for strings the caller has matched as digits.
func atoiOr0(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
