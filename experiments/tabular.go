package experiments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/regiongraph"
)

// TableDesc is the JSON file that a csv: dataset names: where the table
// is, how to read it and how to split it. For example
//
//	{"file": "diabetes_data_raw.csv.gz", "whitespace": true,
//	 "columns": "age:continuous,sex:binary,8*continuous"}
type TableDesc struct {
	// File is the data, gzip-compressed or not; a relative path is taken
	// from the description's folder.
	File string `json:"file"`
	// Columns is the schema, one entry per field (data.ParseSchema).
	Columns string `json:"columns"`
	// Header, Whitespace, SkipLines and Missing are data.CSVOptions'.
	Header     bool   `json:"header,omitempty"`
	Whitespace bool   `json:"whitespace,omitempty"`
	SkipLines  int    `json:"skip_lines,omitempty"`
	Missing    string `json:"missing,omitempty"`
	// TestFraction of the rows, drawn with the run's split seed, is the
	// test set (default 0.2); validation is TrainConfig.ValidFraction of
	// the rest.
	TestFraction float64 `json:"test_fraction,omitempty"`
	// Source names where the data come from, for reports.
	Source string `json:"source,omitempty"`
}

// defaultTestFraction is the test share of a table without its own split.
const defaultTestFraction = 0.2

// ReadTableDesc reads a table description; a missing or malformed file is
// an *InputError naming it.
func ReadTableDesc(path string) (*TableDesc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, inputErrorf("table description %s: %v", path, err)
	}
	var d TableDesc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, inputErrorf("table description %s: %v", path, err)
	}
	switch {
	case d.File == "":
		return nil, inputErrorf("table description %s: no \"file\"", path)
	case d.Columns == "":
		return nil, inputErrorf("table description %s: no \"columns\" (a schema such as \"age:continuous,sex:binary,label\")", path)
	case d.SkipLines < 0:
		return nil, inputErrorf("table description %s: skip_lines %d, want ≥ 0", path, d.SkipLines)
	case !(d.TestFraction >= 0 && d.TestFraction < 1):
		return nil, inputErrorf("table description %s: test_fraction %v, want [0, 1)", path, d.TestFraction)
	}
	if d.TestFraction == 0 {
		d.TestFraction = defaultTestFraction
	}
	if !filepath.IsAbs(d.File) {
		d.File = filepath.Join(filepath.Dir(path), d.File)
	}
	return &d, nil
}

// Read reads the table d describes.
func (d *TableDesc) Read() (*data.Table, error) {
	schema, err := data.ParseSchema(d.Columns)
	if err != nil {
		return nil, inputErrorf("table %s: %v", d.File, err)
	}
	t, err := data.ReadCSVFile(d.File, data.CSVOptions{Schema: schema, Header: d.Header, Whitespace: d.Whitespace, SkipLines: d.SkipLines, Missing: d.Missing})
	if err != nil {
		return nil, &InputError{fmt.Errorf("table: %w", err)}
	}
	if t.N == 0 || t.D == 0 {
		return nil, inputErrorf("table %s: %d rows of %d variables, want at least one of each", d.File, t.N, t.D)
	}
	return t, nil
}

// TableSplits are a table's train, validation and test rows.
type TableSplits struct {
	Train, Valid, Test *data.Table
}

// LoadTable reads the csv: dataset of cfg and splits it: the test set is
// the description's TestFraction drawn with SplitSeed, validation
// ValidFraction of the rest drawn with SplitSeed+1; Limit keeps the first
// rows of each.
func LoadTable(cfg *TrainConfig) (TableSplits, *TableDesc, error) {
	spec, err := ParseDatasetSpec(cfg.Dataset)
	if err != nil {
		return TableSplits{}, nil, err
	}
	if spec.Kind != CSV {
		return TableSplits{}, nil, inputErrorf("dataset %s is not a table (want csv:DESC.json)", spec)
	}
	d, err := ReadTableDesc(spec.Path)
	if err != nil {
		return TableSplits{}, nil, err
	}
	all, err := d.Read()
	if err != nil {
		return TableSplits{}, nil, err
	}
	rest, test := data.SplitTable(all, d.TestFraction, cfg.SplitSeed)
	train, valid := data.SplitTable(rest, cfg.ValidFraction, cfg.SplitSeed+1)
	sp := TableSplits{Train: train, Valid: valid, Test: test}
	if cfg.Limit > 0 {
		for _, t := range []**data.Table{&sp.Train, &sp.Valid, &sp.Test} {
			if (*t).N > cfg.Limit {
				*t = (*t).Subset(rangeInts(cfg.Limit))
			}
		}
	}
	if sp.Train.N == 0 {
		return TableSplits{}, nil, inputErrorf("dataset %s: the training set is empty", spec)
	}
	return sp, d, nil
}

func rangeInts(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

// TableInfo records, in a model file, the columns of the table a model was
// trained on and the standardization of its continuous columns: the
// circuit sees z = (x − Mean) / Std, and a log-likelihood in the data's
// own units is the circuit's less Σ log Std over the observed continuous
// values.
type TableInfo struct {
	Columns []TableColumn `json:"columns"`
}

// TableColumn is one variable of a table model.
type TableColumn struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Categories []string `json:"categories,omitempty"`
	Mean       float64  `json:"mean,omitempty"`
	Std        float64  `json:"std,omitempty"`
}

// fitTableInfo standardizes each continuous column of t by the mean and
// standard deviation of its observed values (Std 1 for a constant or
// empty column).
func fitTableInfo(t *data.Table) *TableInfo {
	ti := &TableInfo{Columns: make([]TableColumn, t.D)}
	for j, c := range t.Columns {
		tc := TableColumn{Name: c.Name, Kind: c.Kind.String(), Categories: c.Categories}
		if c.Kind == data.Continuous {
			var n, s, ss float64
			for i := range t.N {
				if x := t.X[i*t.D+j]; !math.IsNaN(x) {
					n, s, ss = n+1, s+x, ss+x*x
				}
			}
			tc.Std = 1
			if n > 0 {
				tc.Mean = s / n
				if v := ss/n - tc.Mean*tc.Mean; v > 1e-12*max(1, tc.Mean*tc.Mean) {
					tc.Std = math.Sqrt(v)
				}
			}
		}
		ti.Columns[j] = tc
	}
	return ti
}

// circuitColumns are the circuit's input families: categorical columns
// with their categories (at least 2), binary ones Bernoulli, continuous
// ones Gaussian.
func (ti *TableInfo) circuitColumns() []circuit.Column {
	cols := make([]circuit.Column, len(ti.Columns))
	for j, c := range ti.Columns {
		switch c.Kind {
		case data.Continuous.String():
			cols[j] = circuit.Column{Kind: circuit.Gaussian}
		case data.Binary.String():
			cols[j] = circuit.Column{Kind: circuit.Bernoulli, Values: 2}
		default:
			cols[j] = circuit.Column{Kind: circuit.Categorical, Values: max(2, len(c.Categories))}
		}
	}
	return cols
}

// check refuses a table whose columns are not the model's (names, kinds
// and categories: a category index means a value only with its list).
func (ti *TableInfo) check(t *data.Table) error {
	if len(ti.Columns) != t.D {
		return inputErrorf("table %s has %d variables, the model %d", t.Name, t.D, len(ti.Columns))
	}
	for j, c := range t.Columns {
		m := ti.Columns[j]
		if c.Name != m.Name || c.Kind.String() != m.Kind || !slices.Equal(c.Categories, m.Categories) {
			return inputErrorf("table %s: column %d is %s %s %v, the model's %s %s %v", t.Name, j, c.Name, c.Kind, c.Categories, m.Name, m.Kind, m.Categories)
		}
	}
	return nil
}

// inputs returns t's values as the circuit takes them: continuous columns
// standardized, NaN (missing) kept; and each row's log-Jacobian, −Σ log
// Std over its observed continuous values.
func (ti *TableInfo) inputs(t *data.Table) (x []float32, jac []float64) {
	x, jac = make([]float32, len(t.X)), make([]float64, t.N)
	for i := range t.N {
		for j, c := range ti.Columns {
			v := t.X[i*t.D+j]
			if c.Kind == data.Continuous.String() && !math.IsNaN(v) {
				v = (v - c.Mean) / c.Std
				jac[i] -= math.Log(c.Std)
			}
			x[i*t.D+j] = float32(v)
		}
	}
	return x, jac
}

// chowLiuTableBins is the number of quantile bins a continuous column is
// cut into for the mutual information of a Chow-Liu tree: ChowLiuBins,
// the most categories the tree's statistics take exactly.
const chowLiuTableBins = regiongraph.ChowLiuBins

// TableRegionGraph builds the region graph spec names (RGVocabulary; the
// image graphs do not apply) over the columns of t. For cl each column is
// coded into categories first: a categorical column by its index, a
// continuous one by the quantile bin of its value among t's observed
// values (chowLiuTableBins bins), a missing value as the column's most
// frequent code.
func TableRegionGraph(spec string, t *data.Table, seed uint64) (*regiongraph.Graph, error) {
	s, err := ParseRGSpec(spec)
	if err != nil {
		return nil, err
	}
	return s.Build(discretizeTable(t, chowLiuTableBins), seed)
}

// discretizeTable codes t as a dataset of categories (see
// TableRegionGraph), Shape (D).
func discretizeTable(t *data.Table, bins int) *data.Dataset {
	ds := &data.Dataset{Name: t.Name, Shape: []int{t.D}, N: t.N, D: t.D, X: make([]uint8, t.N*t.D), Values: 2}
	for j, c := range t.Columns {
		col := make([]float64, 0, t.N)
		for i := range t.N {
			if v := t.X[i*t.D+j]; !math.IsNaN(v) {
				col = append(col, v)
			}
		}
		code := func(v float64) int { return int(v) }
		if c.Kind == data.Continuous {
			// Bin edges at the quantiles k/bins, k = 1..bins−1; a value's
			// bin is the number of edges at or below it.
			sort.Float64s(col)
			var edges []float64
			for k := 1; k < bins && len(col) > 0; k++ {
				edges = append(edges, col[k*len(col)/bins])
			}
			code = func(v float64) int { return sort.Search(len(edges), func(e int) bool { return edges[e] > v }) }
		}
		counts := map[int]int{}
		for _, v := range col {
			counts[code(v)]++
		}
		mode := 0
		for k, n := range counts {
			if n > counts[mode] || (n == counts[mode] && k < mode) {
				mode = k
			}
		}
		for i := range t.N {
			k := mode
			if v := t.X[i*t.D+j]; !math.IsNaN(v) {
				k = code(v)
			}
			ds.X[i*t.D+j] = uint8(k)
			ds.Values = max(ds.Values, k+1)
		}
	}
	return ds
}
