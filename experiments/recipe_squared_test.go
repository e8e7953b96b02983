package experiments

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
)

// The quick recipe trains a monotonic circuit, a squared one and a
// squared one times a monotonic one, of equal parameter counts, on the
// small DEBD sets and MNIST and reports every group, the squared ones'
// weights real.
func TestSquaredQuick(t *testing.T) {
	var out bytes.Buffer
	o := RecipeOptions{Out: t.TempDir(), Quick: true, DataDir: filepath.Join("..", "testdata", "debd"), Log: quietLogger(), Stdout: &out}
	require.NoError(t, runSquared(context.Background(), o))
	recs := readCSVFile(t, filepath.Join(o.Out, "results.csv"))
	require.Equal(t, squaredHeader, recs[0])
	require.Len(t, recs, 4, out.String())
	for i, want := range []struct{ set, rg string }{{"nltcs-small", "cl"}, {"plants-small", "cl"}, {"mnist", "qt4"}} {
		r := recs[i+1]
		assert.Equal(t, want.set, r[0])
		assert.Equal(t, want.rg, r[1])
		mono, err := strconv.Atoi(r[5])
		require.NoError(t, err)
		sq, err := strconv.Atoi(r[7])
		require.NoError(t, err)
		assert.Positive(t, sq)
		assert.LessOrEqual(t, sq, mono, "%s: the squared circuit has more parameters", want.set)
		msq, err := strconv.Atoi(r[21])
		require.NoError(t, err)
		assert.Positive(t, msq)
		assert.LessOrEqual(t, msq, mono, "%s: the product m·c² has more parameters", want.set)
		for _, col := range []int{8, 9, 22} {
			ll, err := strconv.ParseFloat(r[col], 64)
			require.NoError(t, err)
			assert.Less(t, ll, 0.0, "%s: %s", want.set, squaredHeader[col])
		}
	}
	m, err := LoadModel(filepath.Join(o.Out, "nltcs-small", "squared", ModelFile))
	require.NoError(t, err)
	assert.Equal(t, circuit.Real, m.Circuit.Options().Param)
	m, err = LoadModel(filepath.Join(o.Out, "nltcs-small", "mono-squared", ModelFile))
	require.NoError(t, err)
	assert.Equal(t, circuit.Real, m.Circuit.Options().Param)
	assert.Positive(t, m.Circuit.Options().MonoUnits)
	require.NotNil(t, m.Circuit.Mono)
	md, err := os.ReadFile(filepath.Join(o.Out, "results.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| mnist | qt4 cp, clamp vs real |")
	assert.Contains(t, string(md), "Squared at least as good on")
	assert.Contains(t, string(md), "of 3 datasets; m·c² on")

	// The seeded models ran again at the quick recipe's extra seed, with
	// the K of their seed-42 runs; the report compares the means.
	seeds := readCSVFile(t, filepath.Join(o.Out, "seeds.csv"))
	require.Equal(t, squaredSeedsHeader, seeds[0])
	require.Len(t, seeds, 1+2*2*2, "2 sets × 2 models × 2 seeds")
	params := map[string]string{}
	for _, r := range seeds[1:] {
		assert.Contains(t, []string{"42", "1"}, r[2])
		if p, ok := params[r[0]+r[1]]; ok {
			assert.Equal(t, p, r[3], "%s %s: the seeds' parameter counts differ", r[0], r[1])
		}
		params[r[0]+r[1]] = r[3]
	}
	m1, err := LoadModel(filepath.Join(o.Out, "nltcs-small", "mono-squared-seed1", ModelFile))
	require.NoError(t, err)
	m42, err := LoadModel(filepath.Join(o.Out, "nltcs-small", "mono-squared", ModelFile))
	require.NoError(t, err)
	assert.Equal(t, m42.Circuit.Options().MonoUnits, m1.Circuit.Options().MonoUnits)
	assert.Contains(t, string(md), "| nltcs-small | ")
	assert.Contains(t, string(md), "m·c² at least as good on the mean over seeds on")
	assert.Contains(t, string(md), " of 2 datasets.")

	// -plan lists every run with its parameter count and trains nothing;
	// -only keeps runs; without -data-dir the recipe says where to get DEBD.
	plan := o
	plan.Out, plan.Plan, plan.Only = t.TempDir(), true, []string{"*/squared"}
	out.Reset()
	require.NoError(t, runSquared(context.Background(), plan))
	assert.Contains(t, out.String(), "squared: 3 runs")
	assert.Contains(t, out.String(), "mnist/squared")
	assert.NotContains(t, out.String(), "monotonic")
	plan.Only = []string{"nltcs-small/*-seed1"}
	out.Reset()
	require.NoError(t, runSquared(context.Background(), plan))
	assert.Contains(t, out.String(), "squared: 2 runs")
	assert.Regexp(t, `nltcs-small/mono-squared-seed1 +cp-r +K=2 m K=\d+ +real +\d+ params`, out.String())
	_, err = os.Stat(filepath.Join(plan.Out, "results.csv"))
	assert.True(t, os.IsNotExist(err), "-plan wrote results")
	plan.Only = []string{"bbc/*"}
	assert.True(t, IsInputError(runSquared(context.Background(), plan)))
	plan.Only, plan.DataDir = nil, ""
	err = runSquared(context.Background(), plan)
	assert.True(t, IsInputError(err))
	assert.NotContains(t, err.Error(), "\n")
}

// squaredUnits picks the largest K whose count fits the target, whichever
// side of it the starting K is.
func TestSquaredUnits(t *testing.T) {
	cfg := DEBDConfig(filepath.Join("..", "testdata", "debd", "nltcs-small"), "")
	sp, err := LoadData(&cfg)
	require.NoError(t, err)
	count := func(k int) int {
		c := cfg
		c.Units = k
		n, err := paramCount(c, sp)
		require.NoError(t, err)
		return n
	}
	sq := cfg
	sq.Param, sq.WeightInit = circuit.Real, circuit.Normal
	for _, tc := range []struct{ start, target, want int }{
		{8, count(8), 8},      // real weights cost what softmax ones do
		{8, count(5), 5},      // down
		{2, count(6) + 1, 6},  // up, the next K too large
		{3, count(1) - 1, 1},  // nothing fits: K = 1
		{4, count(4) - 1, 3},  // one short of K's count
		{1, count(12), 12},    // far up
		{16, count(3) + 2, 3}, // far down
	} {
		sq.Units = tc.start
		k, n, err := squaredUnits(sq, sp, tc.target)
		require.NoError(t, err)
		assert.Equal(t, tc.want, k, "start %d, target %d", tc.start, tc.target)
		assert.Equal(t, count(k), n)
	}
}

// Sets of more than squaredMaxVars variables are left out and named.
func TestSquaredLeavesOutWideSets(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, vars int) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, name), 0o755))
		row := strings.TrimSuffix(strings.Repeat("0,", vars), ",") + "\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, name, name+".train.data"), []byte(row+row), 0o644))
	}
	write("narrow", squaredMaxVars)
	write("wide", squaredMaxVars+1)
	runs, seeded, skipped, err := squaredRuns(RecipeOptions{Out: t.TempDir(), DataDir: dir})
	require.NoError(t, err)
	var names []string
	for _, r := range runs {
		names = append(names, r.name())
	}
	assert.Equal(t, []string{"narrow/monotonic", "narrow/squared", "narrow/mono-squared", "mnist/monotonic", "mnist/squared", "mnist/mono-squared"}, names)
	names = nil
	for _, r := range seeded {
		names = append(names, r.name())
		assert.Equal(t, r.seed, r.cfg.Seed)
		assert.Equal(t, r.name(), filepath.Join(filepath.Base(filepath.Dir(r.cfg.Out)), filepath.Base(r.cfg.Out)))
	}
	assert.Equal(t, []string{"narrow/monotonic-seed1", "narrow/mono-squared-seed1", "narrow/monotonic-seed2", "narrow/mono-squared-seed2", "narrow/monotonic-seed3", "narrow/mono-squared-seed3"}, names)
	assert.Equal(t, []string{fmt.Sprintf("wide (%d variables)", squaredMaxVars+1)}, skipped)
	n, err := debdVars(filepath.Join(dir, "wide", "wide.train.data"))
	require.NoError(t, err)
	assert.Equal(t, squaredMaxVars+1, n)
	_, err = debdVars(filepath.Join(dir, "none.data"))
	assert.Error(t, err)
}

// On DEBD the monotonic circuit and the product train with one schedule:
// the same Adam rate, halved after the same patience, so that the recipe
// compares models rather than optimizers.
func TestSquaredSameSchedule(t *testing.T) {
	mono, _, msq := squaredPair("nltcs-small", filepath.Join("..", "testdata", "debd"))
	assert.Equal(t, mono.LR, msq.LR)
	assert.Equal(t, mono.LRDecay, msq.LRDecay)
	assert.Equal(t, mono.LRPatience, msq.LRPatience)
	assert.Positive(t, mono.LRDecay)
}
