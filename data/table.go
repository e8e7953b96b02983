package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ColumnKind is the role of one column of a table.
type ColumnKind int

const (
	// Categorical columns hold one of finitely many values (text or
	// numbers), stored as their index 0..C−1 among the column's distinct
	// values in sorted order (numerically when every value is a number).
	Categorical ColumnKind = iota
	// Binary columns are categorical columns of at most two values.
	Binary
	// Continuous columns hold real numbers.
	Continuous
	// Label is the class label: not a variable, it goes to Table.Labels
	// (index among the sorted distinct labels). At most one column.
	Label
	// Skip drops the column.
	Skip
)

var columnKindNames = []string{"categorical", "binary", "continuous", "label", "skip"}

func (k ColumnKind) String() string {
	if k >= 0 && int(k) < len(columnKindNames) {
		return columnKindNames[k]
	}
	return fmt.Sprintf("ColumnKind(%d)", int(k))
}

// ParseColumnKind parses "categorical", "binary", "continuous", "label" or
// "skip".
func ParseColumnKind(s string) (ColumnKind, error) {
	if i := slices.Index(columnKindNames, s); i >= 0 {
		return ColumnKind(i), nil
	}
	return 0, fmt.Errorf("unknown column kind %q (want %s)", s, strings.Join(columnKindNames, ", "))
}

// Column describes one column of a table: its name, kind and, for
// categorical and binary columns of a Table, its categories in index order.
type Column struct {
	Name       string
	Kind       ColumnKind
	Categories []string
}

// ParseSchema parses a column schema: comma-separated entries, one per
// column of the file in order, each "KIND", "NAME:KIND" or "N*KIND" (N
// columns of that kind, unnamed), KIND as ParseColumnKind takes it. For
// example "age:continuous,sex:binary,8*continuous" or "13*continuous,label".
func ParseSchema(spec string) ([]Column, error) {
	var cols []Column
	for _, e := range strings.Split(spec, ",") {
		e = strings.TrimSpace(e)
		n, kind, name := 1, e, ""
		if a, b, ok := strings.Cut(e, "*"); ok {
			v, err := strconv.Atoi(a)
			if err != nil || v < 1 || v > 1<<16 {
				return nil, fmt.Errorf("schema entry %q: want N*KIND with N ≥ 1", e)
			}
			n, kind = v, b
		} else if a, b, ok := strings.Cut(e, ":"); ok {
			name, kind = a, b
		}
		k, err := ParseColumnKind(kind)
		if err != nil {
			return nil, fmt.Errorf("schema entry %q: %w", e, err)
		}
		for range n {
			cols = append(cols, Column{Name: name, Kind: k})
		}
	}
	return cols, nil
}

// Table is N samples of D variables of mixed kinds, row-major in X:
// variable j of sample i is X[i*D+j], a category index (categorical and
// binary columns) or a real number (continuous), NaN where the value is
// missing. Columns describes the D variables; Labels, when a label column
// was read, holds one class per sample, named by LabelNames.
type Table struct {
	Name       string
	Columns    []Column
	N, D       int
	X          []float64
	Labels     []int
	LabelNames []string
}

// CSVOptions say how to read a table.
type CSVOptions struct {
	// Schema has one entry per field of a row, in order. A column without a
	// name takes the header's, or "c<index>".
	Schema []Column
	// SkipLines are skipped first (scikit-learn's files start with a line
	// of counts).
	SkipLines int
	// Header says that the next line names the columns.
	Header bool
	// Whitespace separates fields by runs of spaces and tabs (such files
	// cannot leave a field empty); otherwise by commas, an empty field
	// being a missing value. Fields are not quoted.
	Whitespace bool
	// Missing is one more spelling of a missing value ("?" in many UCI
	// files, "NA"); "" means empty fields only.
	Missing string
}

// ReadCSVFile reads a table from a file, gzip-compressed or not (told by
// its first bytes). The table is named after the file.
func ReadCSVFile(path string, opt CSVOptions) (t *Table, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			t, err = nil, fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// Close checks nothing a full read has not; the read's errors
		// (a bad checksum included) come back from ReadCSV.
		defer gz.Close()
		r = gz
	}
	return ReadCSV(r, path, opt)
}

// ReadCSV reads a table of delimited text: one sample per line, its fields
// as opt.Schema says, blank lines ignored. Categories are the distinct
// values of each categorical, binary and label column in the file, sorted.
// Errors name the input, the line and the column.
func ReadCSV(r io.Reader, name string, opt CSVOptions) (*Table, error) {
	if len(opt.Schema) == 0 {
		return nil, fmt.Errorf("%s: empty schema", name)
	}
	labels := 0
	for _, c := range opt.Schema {
		if c.Kind < Categorical || c.Kind > Skip {
			return nil, fmt.Errorf("%s: schema: unknown column kind %v", name, c.Kind)
		}
		if c.Kind == Label {
			labels++
		}
	}
	if labels > 1 {
		return nil, fmt.Errorf("%s: schema has %d label columns, want at most 1", name, labels)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	schema := slices.Clone(opt.Schema)
	var rows [][]string
	line := 0
	for sc.Scan() {
		line++
		if line <= opt.SkipLines {
			continue
		}
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		var fields []string
		if opt.Whitespace {
			fields = strings.Fields(text)
		} else {
			fields = strings.Split(text, ",")
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
		}
		if opt.Missing != "" && !(opt.Header && line == opt.SkipLines+1) {
			for i, f := range fields {
				if f == opt.Missing {
					fields[i] = ""
				}
			}
		}
		if len(fields) != len(schema) {
			return nil, fmt.Errorf("%s: line %d has %d fields, the schema %d", name, line, len(fields), len(schema))
		}
		if opt.Header && line == opt.SkipLines+1 {
			for i, f := range fields {
				if schema[i].Name == "" {
					schema[i].Name = f
				} else if schema[i].Name != f {
					return nil, fmt.Errorf("%s: column %d is %q in the header, %q in the schema", name, i+1, f, schema[i].Name)
				}
			}
			continue
		}
		rows = append(rows, append(fields, strconv.Itoa(line)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i := range schema {
		if schema[i].Name == "" {
			schema[i].Name = "c" + strconv.Itoa(i)
		}
	}
	t := &Table{Name: name, N: len(rows)}
	for j, c := range schema {
		if c.Kind == Skip {
			continue
		}
		cats, err := categories(rows, j, c, name)
		if err != nil {
			return nil, err
		}
		if c.Kind == Label {
			t.LabelNames = cats
			continue
		}
		c.Categories = cats
		t.Columns = append(t.Columns, c)
	}
	t.D = len(t.Columns)
	t.X = make([]float64, t.N*t.D)
	if labels > 0 {
		t.Labels = make([]int, t.N)
	}
	for i, row := range rows {
		v := 0
		for j, c := range schema {
			f := row[j]
			switch c.Kind {
			case Skip:
				continue
			case Label:
				if f == "" {
					return nil, fmt.Errorf("%s: line %s: the label (column %s) is missing", name, row[len(row)-1], c.Name)
				}
				t.Labels[i] = slices.Index(t.LabelNames, f)
				continue
			case Continuous:
				x := math.NaN()
				if f != "" {
					var err error
					if x, err = strconv.ParseFloat(f, 64); err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
						return nil, fmt.Errorf("%s: line %s, column %s: %q is not a finite number", name, row[len(row)-1], c.Name, f)
					}
				}
				t.X[i*t.D+v] = x
			default:
				t.X[i*t.D+v] = math.NaN()
				if f != "" {
					t.X[i*t.D+v] = float64(slices.Index(t.Columns[v].Categories, f))
				}
			}
			v++
		}
	}
	return t, nil
}

// categories returns the sorted distinct non-empty values of field j of
// rows for a categorical, binary or label column (nil for others):
// numerically when all are numbers. A binary column with more than two
// values is an error.
func categories(rows [][]string, j int, c Column, name string) ([]string, error) {
	if c.Kind == Continuous {
		return nil, nil
	}
	seen := map[string]bool{}
	var cats []string
	for _, r := range rows {
		if f := r[j]; f != "" && !seen[f] {
			seen[f] = true
			cats = append(cats, f)
		}
	}
	numeric := true
	for _, s := range cats {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			numeric = false
		}
	}
	slices.SortFunc(cats, func(a, b string) int {
		if numeric {
			x, _ := strconv.ParseFloat(a, 64)
			y, _ := strconv.ParseFloat(b, 64)
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		}
		return strings.Compare(a, b)
	})
	switch {
	case c.Kind == Binary && len(cats) > 2:
		return nil, fmt.Errorf("%s: column %s is binary but has %d values (%s, …)", name, c.Name, len(cats), strings.Join(cats[:3], ", "))
	case c.Kind == Categorical && len(cats) > 256:
		return nil, fmt.Errorf("%s: column %s has %d categories, more than 256", name, c.Name, len(cats))
	}
	return cats, nil
}

// Subset returns a new table holding copies of the samples idx, in that
// order.
func (t *Table) Subset(idx []int) *Table {
	s := &Table{Name: t.Name, Columns: t.Columns, N: len(idx), D: t.D, X: make([]float64, len(idx)*t.D), LabelNames: t.LabelNames}
	if t.Labels != nil {
		s.Labels = make([]int, len(idx))
	}
	for k, i := range idx {
		if i < 0 || i >= t.N {
			panic(fmt.Sprintf("data: row %d out of range [0, %d) in %s", i, t.N, t.Name))
		}
		copy(s.X[k*t.D:(k+1)*t.D], t.X[i*t.D:(i+1)*t.D])
		if t.Labels != nil {
			s.Labels[k] = t.Labels[i]
		}
	}
	return s
}

// SplitTable holds out round(f·N) samples chosen uniformly at random from a
// PCG generator seeded with seed, as Split does for datasets; both parts
// keep the original order. It panics unless 0 ≤ f < 1.
func SplitTable(t *Table, f float64, seed uint64) (rest, held *Table) {
	if !(f >= 0 && f < 1) {
		panic(fmt.Sprintf("data: split fraction %v outside [0, 1)", f))
	}
	k := int(math.Round(f * float64(t.N)))
	perm := rand.New(rand.NewPCG(seed, 0)).Perm(t.N)
	out := make([]bool, t.N)
	for _, i := range perm[:k] {
		out[i] = true
	}
	var a, b []int
	for i := range t.N {
		if out[i] {
			b = append(b, i)
		} else {
			a = append(a, i)
		}
	}
	return t.Subset(a), t.Subset(b)
}

// Missing returns the table's mask of missing values (N·D, true where X is
// NaN).
func (t *Table) Missing() []bool {
	m := make([]bool, len(t.X))
	for i, v := range t.X {
		m[i] = math.IsNaN(v)
	}
	return m
}

// WriteCSV writes the table as comma-separated text with a header, the
// label last (when there is one), missing values as empty fields: the
// format ReadCSV reads back with the schema of t.
func (t *Table) WriteCSV(w io.Writer) error {
	var b bytes.Buffer
	names := make([]string, 0, t.D+1)
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	if t.Labels != nil {
		names = append(names, "label")
	}
	b.WriteString(strings.Join(names, ",") + "\n")
	for i := range t.N {
		for j, c := range t.Columns {
			if j > 0 {
				b.WriteByte(',')
			}
			x := t.X[i*t.D+j]
			switch {
			case math.IsNaN(x):
			case c.Kind == Continuous:
				b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
			default:
				b.WriteString(c.Categories[int(x)])
			}
		}
		if t.Labels != nil {
			b.WriteString("," + t.LabelNames[t.Labels[i]])
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}
