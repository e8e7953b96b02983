package experiments

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
)

// sklearnTestdata holds 60-row subsets of scikit-learn's diabetes and
// wine files (see testdata/sklearn/README.md).
var sklearnTestdata = filepath.Join("testdata", "sklearn")

// writeDiabetesDesc writes a description of the test subset of diabetes
// into dir and returns its path.
func writeDiabetesDesc(t *testing.T, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(sklearnTestdata)
	require.NoError(t, err)
	d := tabularSets[0].desc
	d.File = filepath.Join(abs, d.File)
	p := filepath.Join(dir, "diabetes.json")
	require.NoError(t, writeJSON(p, d))
	return p
}

func TestReadTableDesc(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "d.json")
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	d, err := ReadTableDesc(write(`{"file": "x.csv", "columns": "continuous,label"}`))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "x.csv"), d.File, "relative to the description")
	assert.Equal(t, defaultTestFraction, d.TestFraction)
	for _, tc := range []struct{ in, err string }{
		{`{"columns": "continuous"}`, `no "file"`},
		{`{"file": "x.csv"}`, `no "columns"`},
		{`{"file": "x.csv", "columns": "binary", "test_fraction": 1}`, "test_fraction 1, want [0, 1)"},
		{`{"file": "x.csv", "columns": "binary", "skip_lines": -1}`, "skip_lines -1"},
		{`{"file": "x.csv", "columns": "binary", "colums": 2}`, `unknown field "colums"`},
		{`{"file": `, "unexpected EOF"},
	} {
		_, err := ReadTableDesc(write(tc.in))
		assert.ErrorContains(t, err, tc.err, tc.in)
		var ie *InputError
		assert.ErrorAs(t, err, &ie)
	}
	_, err = ReadTableDesc(filepath.Join(dir, "none.json"))
	assert.ErrorContains(t, err, "none.json")
	d, err = ReadTableDesc(write(`{"file": "x.csv", "columns": "binary,bogus"}`))
	require.NoError(t, err)
	_, err = d.Read()
	assert.ErrorContains(t, err, `unknown column kind "bogus"`)
}

// TestDiscretizeTable: continuous columns fall into balanced quantile
// bins, categories keep their index and a missing value takes the
// column's most frequent code.
func TestDiscretizeTable(t *testing.T) {
	n := 64
	tb := &data.Table{Name: "t", N: n, D: 2, X: make([]float64, 2*n),
		Columns: []data.Column{{Name: "x", Kind: data.Continuous}, {Name: "c", Kind: data.Categorical, Categories: []string{"a", "b", "c"}}}}
	for i := range n {
		tb.X[2*i] = float64((i * 37) % n) // a permutation of 0..63
		tb.X[2*i+1] = float64(i % 3)
		if i%3 == 2 && i < 30 {
			tb.X[2*i+1] = 1
		}
	}
	tb.X[2*5+1] = math.NaN()
	ds := discretizeTable(tb, 8)
	assert.Equal(t, 8, ds.Values)
	counts := make([]int, 8)
	for i := range n {
		counts[ds.X[2*i]]++
		want := int(tb.X[2*i]) / 8 // 8 equal bins of the values 0..63
		assert.Equal(t, want, int(ds.X[2*i]), "value %v", tb.X[2*i])
	}
	assert.Equal(t, []int{8, 8, 8, 8, 8, 8, 8, 8}, counts)
	assert.Equal(t, uint8(1), ds.X[2*5+1], "missing: the most frequent category")
	assert.Equal(t, uint8(0), ds.X[2*3+1])

	tab, err := data.ReadCSVFile(filepath.Join(sklearnTestdata, "diabetes_data_raw.csv.gz"),
		data.CSVOptions{Schema: mustSchema(t, tabularSets[0].desc.Columns), Whitespace: true})
	require.NoError(t, err)
	for _, spec := range []string{"cl", "rbt:3", "linear", "ff"} {
		g, err := TableRegionGraph(spec, tab, 1)
		require.NoError(t, err, spec)
		assert.Equal(t, 10, g.NumVars, spec)
		require.NoError(t, g.Validate(), spec)
	}
	_, err = TableRegionGraph("qg", tab, 1)
	assert.ErrorContains(t, err, "needs image data")
}

func mustSchema(t *testing.T, s string) []data.Column {
	t.Helper()
	cols, err := data.ParseSchema(s)
	require.NoError(t, err)
	return cols
}

// TestTrainTable trains a mixed circuit on the diabetes subset through
// Train, evaluates it as `tenpc eval` does, and checks the likelihood in
// the data's units against the closed form of a fully factorized model:
// Σ_j log p_j(x_j) with each Gaussian mapped back from standardized
// units.
func TestTrainTable(t *testing.T) {
	dir := t.TempDir()
	desc := writeDiabetesDesc(t, dir)
	for _, m := range tabularModels {
		if m.classifier {
			continue
		}
		cfg := TabularConfig(desc, filepath.Join(dir, m.name), m, 0)
		cfg.Epochs, cfg.Units = 3, min(m.units, 3)
		res, err := Train(context.Background(), cfg, quietLogger())
		require.NoError(t, err, m.name)
		assert.Equal(t, 3, res.Epochs)
		assert.Equal(t, 12, res.Test.N)
		assert.False(t, math.IsNaN(res.Test.LL))
		ev, err := Evaluate(EvalConfig{Model: res.Model})
		require.NoError(t, err)
		assert.Equal(t, res.Test.LL, ev.LL, "%s: eval reproduces the run's test LL", m.name)

		mod, err := LoadModel(res.Model)
		require.NoError(t, err)
		o := mod.Circuit.Options()
		require.Len(t, o.Columns, 10)
		assert.Equal(t, circuit.Column{Kind: circuit.Bernoulli, Values: 2}, o.Columns[1])
		assert.Equal(t, circuit.Gaussian, o.Columns[0].Kind)
		assert.Contains(t, mod.Arch.Describe(), "mixed inputs gaussian,bernoulli(2),gaussian")
		if m.rg != "ff" {
			continue
		}
		// A fully factorized circuit of one unit per region: p(x) = Π_j p_j(x_j).
		sp, _, err := LoadTable(mod.Info.Config)
		require.NoError(t, err)
		want := 0.0
		for i := range sp.Test.N {
			for j, c := range mod.Info.Table.Columns {
				x := sp.Test.X[i*sp.Test.D+j]
				if c.Kind == data.Binary.String() {
					want += mod.Circuit.InputLogProb(j, 0, int(x))
					continue
				}
				z := (x - c.Mean) / c.Std
				want += mod.Circuit.InputLogDensity(j, 0, z) - math.Log(c.Std)
			}
		}
		assert.InDelta(t, want/float64(sp.Test.N), ev.LL, 1e-4, "closed form of the factorized model")
	}
}

func TestTrainTableRefusals(t *testing.T) {
	dir := t.TempDir()
	desc := writeDiabetesDesc(t, dir)
	base := TabularConfig(desc, filepath.Join(dir, "run"), tabularModels[0], 0)
	for _, tc := range []struct {
		mod func(*TrainConfig)
		err string
	}{
		{func(c *TrainConfig) { c.Classes = 3 }, "-classes 3: dataset csv:" + desc + " has no label column"},
		{func(c *TrainConfig) { c.Optimizer = EM }, "EM needs clamp- or exp-parameterized weights"},
		{func(c *TrainConfig) { c.Input = circuit.Gaussian }, "schema gives each column its input family"},
		{func(c *TrainConfig) { c.Dataset = "csv:" + filepath.Join(dir, "none.json") }, "none.json"},
		{func(c *TrainConfig) { c.RG = "qt4" }, "needs image data"},
	} {
		cfg := base
		tc.mod(&cfg)
		_, err := Train(context.Background(), cfg, quietLogger())
		assert.ErrorContains(t, err, tc.err)
		var ie *InputError
		assert.ErrorAs(t, err, &ie)
	}
	// EM trains a table's circuit too (clamp weights).
	cfg := base
	cfg.Optimizer, cfg.Param, cfg.WeightInit, cfg.LR, cfg.Epochs, cfg.Out = EM, circuit.Clamp, circuit.Uniform, 0.5, 4, filepath.Join(dir, "em")
	res, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	for i := 1; i < len(res.History); i++ {
		assert.Less(t, res.History[i].TrainNLL, res.History[0].TrainNLL, "EM epoch %d", i+1)
	}
	_, err = LoadData(&TrainConfig{Dataset: "csv:" + desc})
	assert.ErrorContains(t, err, "is a table of mixed types")
}

func TestTabularQuick(t *testing.T) {
	var out bytes.Buffer
	o := RecipeOptions{Out: t.TempDir(), Quick: true, DataDir: sklearnTestdata, Log: quietLogger(), Stdout: &out}
	require.NoError(t, runTabular(context.Background(), o))
	f, err := os.Open(filepath.Join(o.Out, "results.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 1+len(tabularSets)*len(tabularModels)-1, "the classifier on wine only")
	assert.Equal(t, "test_ll_20%_missing", recs[0][9])
	assert.Equal(t, []string{"wine", "factorized", "ff", "1"}, recs[6][:4])
	assert.Equal(t, "-", recs[6][10], "no accuracy for a density")
	assert.Equal(t, "chow-liu-classifier", recs[7][1])
	assert.NotEqual(t, "-", recs[7][10])
	readme, err := os.ReadFile(filepath.Join(o.Out, "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "Least Angle Regression")
	assert.Contains(t, string(readme), "UCI Machine Learning Repository")
	assert.Contains(t, out.String(), "Least Angle Regression")

	o.DataDir = t.TempDir()
	err = runTabular(context.Background(), o)
	assert.ErrorContains(t, err, "install Debian's python3-sklearn")
	assert.False(t, strings.Contains(err.Error(), "\n"))
}

// TestTrainTableClassifier trains a class-conditional circuit on the wine
// subset's label column: eval reproduces the run's log p(x, y) and
// accuracy, and the log-likelihood is the log-sum over classes of the
// per-class likelihoods with the uniform prior, the posterior summing to
// 1.
func TestTrainTableClassifier(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs(sklearnTestdata)
	require.NoError(t, err)
	d := tabularSets[1].desc
	d.File = filepath.Join(abs, d.File)
	desc := filepath.Join(dir, "wine.json")
	require.NoError(t, writeJSON(desc, d))
	cfg := TabularConfig(desc, filepath.Join(dir, "clf"), tabularModels[3], 0)
	cfg.Classes, cfg.Epochs, cfg.Units = 3, 4, 3
	res, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	require.NotNil(t, res.Test.Accuracy)
	ev, err := Evaluate(EvalConfig{Model: res.Model})
	require.NoError(t, err)
	assert.Equal(t, res.Test.LL, ev.LL)
	assert.Equal(t, *res.Test.Accuracy, *ev.Accuracy)

	m, err := LoadModel(res.Model)
	require.NoError(t, err)
	sp, _, err := LoadTable(m.Info.Config)
	require.NoError(t, err)
	x, _ := m.Info.Table.inputs(sp.Test)
	p, err := m.Circuit.Compile(8, false)
	require.NoError(t, err)
	post := make([]float64, sp.Test.N*3)
	require.NoError(t, p.LogPosterior(x, nil, post))
	right := 0
	for i := range sp.Test.N {
		row := post[3*i : 3*i+3]
		s, best := 0.0, 0
		for c, v := range row {
			s += math.Exp(v)
			if v > row[best] {
				best = c
			}
		}
		assert.InDelta(t, 1, s, 1e-9, "p(y | x) of row %d sums to 1", i)
		if best == sp.Test.Labels[i] {
			right++
		}
	}
	assert.Equal(t, float64(right)/float64(sp.Test.N), *ev.Accuracy)

	cfg.Classes, cfg.Out = 2, filepath.Join(dir, "two")
	_, err = Train(context.Background(), cfg, quietLogger())
	assert.ErrorContains(t, err, "-classes 2: dataset csv:"+desc+" has 3 classes (0, 1, 2)")
}
