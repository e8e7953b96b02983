package data

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSchema(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []Column
		err  string
	}{
		{spec: "continuous", want: []Column{{Kind: Continuous}}},
		{spec: "age:continuous, sex:binary,2*categorical,label,skip", want: []Column{
			{Name: "age", Kind: Continuous}, {Name: "sex", Kind: Binary}, {Kind: Categorical}, {Kind: Categorical}, {Kind: Label}, {Kind: Skip}}},
		{spec: "0*continuous", err: `"0*continuous": want N*KIND with N ≥ 1`},
		{spec: "x*binary", err: `want N*KIND`},
		{spec: "age:real", err: `schema entry "age:real": unknown column kind "real"`},
		{spec: "", err: `unknown column kind ""`},
	} {
		got, err := ParseSchema(tc.spec)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.spec)
			continue
		}
		require.NoError(t, err, tc.spec)
		assert.Equal(t, tc.want, got, tc.spec)
	}
}

// mixedSchema is the schema of testdata/mixed.csv.
var mixedSchema = []Column{{Kind: Continuous}, {Kind: Categorical}, {Kind: Binary}, {Kind: Continuous}, {Kind: Label}}

func TestReadCSVMixed(t *testing.T) {
	nan := math.NaN()
	for _, path := range []string{"testdata/mixed.csv", "testdata/mixed.csv.gz"} {
		tb, err := ReadCSVFile(path, CSVOptions{Schema: mixedSchema, Header: true, Missing: "?"})
		require.NoError(t, err, path)
		assert.Equal(t, path, tb.Name)
		assert.Equal(t, 5, tb.N)
		assert.Equal(t, 4, tb.D)
		assert.Equal(t, []Column{
			{Name: "age", Kind: Continuous},
			{Name: "color", Kind: Categorical, Categories: []string{"blue", "green", "red"}},
			{Name: "smoker", Kind: Binary, Categories: []string{"no", "yes"}},
			{Name: "income", Kind: Continuous},
		}, tb.Columns)
		want := []float64{
			34, 2, 1, 51000.5,
			nan, 0, 0, nan,
			51, 2, nan, 72000,
			29, 1, 1, 38000,
			7, 0, 0, nan,
		}
		require.Len(t, tb.X, len(want))
		for i := range want {
			if math.IsNaN(want[i]) {
				assert.True(t, math.IsNaN(tb.X[i]), "%s: entry %d = %v, want missing", path, i, tb.X[i])
			} else {
				assert.Equal(t, want[i], tb.X[i], "%s: entry %d", path, i)
			}
		}
		assert.Equal(t, []string{"a", "b"}, tb.LabelNames)
		assert.Equal(t, []int{0, 1, 0, 1, 0}, tb.Labels)
		miss := tb.Missing()
		assert.Equal(t, 4, countTrue(miss))
		assert.True(t, miss[4] && miss[7] && miss[10] && miss[19])
	}
	// Without Missing, "?" is not a number.
	_, err := ReadCSVFile("testdata/mixed.csv", CSVOptions{Schema: mixedSchema, Header: true})
	assert.ErrorContains(t, err, `testdata/mixed.csv: line 7, column income: "?" is not a finite number`)
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func TestReadCSVWhitespace(t *testing.T) {
	tb, err := ReadCSVFile("testdata/spaces.txt", CSVOptions{
		Schema:    []Column{{Name: "age", Kind: Continuous}, {Name: "sex", Kind: Binary}, {Kind: Skip}, {Name: "bp", Kind: Continuous}},
		SkipLines: 1, Whitespace: true,
	})
	require.NoError(t, err)
	assert.Equal(t, 3, tb.N)
	assert.Equal(t, []string{"age", "sex", "bp"}, []string{tb.Columns[0].Name, tb.Columns[1].Name, tb.Columns[2].Name})
	// Numeric categories sort as numbers.
	assert.Equal(t, []string{"1", "2"}, tb.Columns[1].Categories)
	assert.Equal(t, []float64{59, 1, 101, 48, 0, 87, 72, 1, 93}, tb.X)
	assert.Nil(t, tb.Labels)
}

func TestReadCSVNumericCategories(t *testing.T) {
	tb, err := ReadCSV(strings.NewReader("10\n9\n-1\n9.5\n10\n"), "in", CSVOptions{Schema: []Column{{Kind: Categorical}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"-1", "9", "9.5", "10"}, tb.Columns[0].Categories)
	assert.Equal(t, "c0", tb.Columns[0].Name)
	assert.Equal(t, []float64{3, 1, 0, 2, 3}, tb.X)
}

func TestReadCSVErrors(t *testing.T) {
	two := []Column{{Name: "a", Kind: Continuous}, {Name: "b", Kind: Binary}}
	for _, tc := range []struct {
		in     string
		schema []Column
		header bool
		err    string
	}{
		{in: "1,x\n", schema: nil, err: "in: empty schema"},
		{in: "1,x\n2\n", schema: two, err: "in: line 2 has 1 fields, the schema 2"},
		{in: "1,x\nfoo,y\n", schema: two, err: `in: line 2, column a: "foo" is not a finite number`},
		{in: "1,x\nNaN,y\n", schema: two, err: `in: line 2, column a: "NaN" is not a finite number`},
		{in: "1e999,x\n", schema: two, err: `in: line 1, column a: "1e999" is not a finite number`},
		{in: "1,x\n2,y\n3,z\n", schema: two, err: "in: column b is binary but has 3 values (x, y, z, …)"},
		{in: "a,c\n1,x\n", schema: two, header: true, err: `in: column 2 is "c" in the header, "b" in the schema`},
		{in: "1,x\n2,\n", schema: []Column{{Kind: Continuous}, {Name: "y", Kind: Label}}, err: "in: line 2: the label (column y) is missing"},
		{in: "1,x\n", schema: []Column{{Kind: Label}, {Kind: Label}}, err: "in: schema has 2 label columns, want at most 1"},
		{in: "1\n", schema: []Column{{Kind: ColumnKind(9)}}, err: "in: schema: unknown column kind ColumnKind(9)"},
	} {
		_, err := ReadCSV(strings.NewReader(tc.in), "in", CSVOptions{Schema: tc.schema, Header: tc.header})
		assert.EqualError(t, err, tc.err, "%q", tc.in)
	}
	var many strings.Builder
	for i := range 257 {
		many.WriteString(strings.Repeat("v", 1+i%3) + string(rune('A'+i/3%26)) + string(rune('a'+i/78)) + "\n")
	}
	_, err := ReadCSV(strings.NewReader(many.String()), "in", CSVOptions{Schema: []Column{{Name: "z", Kind: Categorical}}})
	assert.EqualError(t, err, "in: column z has 257 categories, more than 256")
	_, err = ReadCSVFile("testdata/no-such.csv", CSVOptions{Schema: two})
	assert.ErrorContains(t, err, "no-such.csv")
}

// TestTableWriteCSVRoundTrip: WriteCSV writes what ReadCSV reads back with
// the table's own schema.
func TestTableWriteCSVRoundTrip(t *testing.T) {
	tb, err := ReadCSVFile("testdata/mixed.csv", CSVOptions{Schema: mixedSchema, Header: true, Missing: "?"})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, tb.WriteCSV(&b))
	schema := append(slices.Clone(tb.Columns), Column{Name: "label", Kind: Label})
	for i := range schema {
		schema[i].Categories = nil
	}
	back, err := ReadCSV(&b, tb.Name, CSVOptions{Schema: schema, Header: true})
	require.NoError(t, err)
	assert.Equal(t, tb.Columns, back.Columns)
	assert.Equal(t, tb.Labels, back.Labels)
	assert.Equal(t, tb.LabelNames, back.LabelNames)
	assert.Equal(t, tb.Missing(), back.Missing())
	for i, v := range tb.X {
		if !math.IsNaN(v) {
			assert.Equal(t, v, back.X[i], "entry %d", i)
		}
	}
}

func TestSplitTable(t *testing.T) {
	n := 20
	tb := &Table{Name: "t", Columns: []Column{{Name: "x", Kind: Continuous}}, N: n, D: 1, X: make([]float64, n), Labels: make([]int, n), LabelNames: []string{"0", "1"}}
	for i := range n {
		tb.X[i], tb.Labels[i] = float64(i), i%2
	}
	rest, held := SplitTable(tb, 0.25, 7)
	assert.Equal(t, 15, rest.N)
	assert.Equal(t, 5, held.N)
	all := append(slices.Clone(rest.X), held.X...)
	slices.Sort(all)
	assert.Equal(t, tb.X, all, "the two parts partition the samples")
	assert.True(t, slices.IsSorted(rest.X) && slices.IsSorted(held.X), "both keep the original order")
	for i, v := range held.X {
		assert.Equal(t, int(v)%2, held.Labels[i], "labels follow their samples")
	}
	r2, h2 := SplitTable(tb, 0.25, 7)
	assert.Equal(t, rest.X, r2.X)
	assert.Equal(t, held.X, h2.X)
	_, h3 := SplitTable(tb, 0.25, 8)
	assert.NotEqual(t, held.X, h3.X, "another seed, another split")
	assert.Panics(t, func() { SplitTable(tb, 1, 0) })
	assert.Panics(t, func() { tb.Subset([]int{20}) })
}

// FuzzReadCSV: the reader returns a table or an error, never panics, and
// every table it returns holds categories in range and finite numbers.
func FuzzReadCSV(f *testing.F) {
	f.Add("age,color\n1,red\n,blue\n2,\n", "continuous,categorical", true)
	f.Add("1 2\n3 4\n", "binary,continuous", false)
	f.Add("a,b,c\n", "label,skip,binary", false)
	f.Fuzz(func(t *testing.T, in, spec string, header bool) {
		schema, err := ParseSchema(spec)
		if err != nil || len(schema) > 64 {
			return
		}
		tb, err := ReadCSV(strings.NewReader(in), "fuzz", CSVOptions{Schema: schema, Header: header})
		if err != nil {
			return
		}
		for i, v := range tb.X {
			c := tb.Columns[i%tb.D]
			switch {
			case math.IsNaN(v):
			case c.Kind == Continuous:
				if math.IsInf(v, 0) {
					t.Fatalf("entry %d is %v", i, v)
				}
			case v < 0 || int(v) >= len(c.Categories) || float64(int(v)) != v:
				t.Fatalf("entry %d = %v, column %s has %d categories", i, v, c.Name, len(c.Categories))
			}
		}
		for _, y := range tb.Labels {
			if y < 0 || y >= len(tb.LabelNames) {
				t.Fatalf("label %d of %d", y, len(tb.LabelNames))
			}
		}
	})
}
