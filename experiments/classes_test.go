package experiments

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
)

// A class-conditional circuit trains on MNIST's labels: the run's test
// accuracy and joint log-likelihood are those of its saved model by the
// reference evaluator, and the history records validation accuracies.
func TestTrainClasses(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Input, cfg.Param = "qt4", 3, circuit.Binomial, circuit.Softmax
	cfg.Classes, cfg.Discriminative = 10, 0.5
	cfg.Limit, cfg.BatchSize, cfg.Epochs, cfg.LR = 300, 64, 2, 0.05
	cfg.Out = t.TempDir()
	res, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	require.NotNil(t, res.Test.Accuracy)
	for _, h := range res.History {
		require.NotNil(t, h.ValidAccuracy, "epoch %d", h.Epoch)
	}
	m, err := LoadModel(res.Model)
	require.NoError(t, err)
	sp, err := LoadData(&cfg)
	require.NoError(t, err)
	post, err := m.Circuit.LogPosterior(sp.Test.X, nil)
	require.NoError(t, err)
	lp, err := m.Circuit.LogProb(sp.Test.X, nil)
	require.NoError(t, err)
	right, ll := 0, 0.0
	for i, y := range sp.Test.Labels {
		row := post[i*10 : (i+1)*10]
		best := 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		if best == y {
			right++
		}
		ll += lp[i*10+y] - math.Log(10)
	}
	assert.InDelta(t, float64(right)/float64(sp.Test.N), *res.Test.Accuracy, 1.5/float64(sp.Test.N), "accuracy against the reference evaluator")
	assert.InDelta(t, ll/float64(sp.Test.N), res.Test.LL, 1e-3*math.Abs(res.Test.LL), "log p(x, y) against the reference evaluator")
	// The accuracy with missing pixels, through the fused program's masks,
	// matches the reference evaluator too.
	miss := MissingMask(sp.Test.N, sp.Test.D, 0.5, 3)
	acc, err := CircuitAccuracy(m.Circuit, sp.Test, miss, 64)
	require.NoError(t, err)
	post, err = m.Circuit.LogPosterior(sp.Test.X, miss)
	require.NoError(t, err)
	right = 0
	for i, y := range sp.Test.Labels {
		best := 0
		for c := range 10 {
			if post[i*10+c] > post[i*10+best] {
				best = c
			}
		}
		if best == y {
			right++
		}
	}
	assert.InDelta(t, float64(right)/float64(sp.Test.N), acc, 1.5/float64(sp.Test.N))
}

// Configurations a classifier cannot train are refused before anything
// is written.
func TestTrainClassesRejects(t *testing.T) {
	debd := filepath.Join("..", "testdata", "debd", "nltcs-small")
	for _, tc := range []struct {
		name string
		set  func(*TrainConfig)
		want string
	}{
		{"no labels", func(c *TrainConfig) { c.Dataset, c.RG, c.Classes = "debd:"+debd, "cl", 2 }, "has no labels"},
		{"too few classes", func(c *TrainConfig) { c.Classes = 5 }, "has label"},
		{"em", func(c *TrainConfig) { c.Classes, c.Optimizer = 10, EM }, "-optimizer em"},
		{"lambda without classes", func(c *TrainConfig) { c.Discriminative = 0.5 }, "needs -classes"},
		{"lambda out of range", func(c *TrainConfig) { c.Classes, c.Discriminative = 10, 1.5 }, "[0, 1]"},
		{"accuracy without classes", func(c *TrainConfig) { c.Monitor = MonitorAccuracy }, "needs a classifier"},
		{"unknown monitor", func(c *TrainConfig) { c.Classes, c.Monitor = 10, "loss" }, `unknown -monitor "loss"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultTrainConfig()
			cfg.Units, cfg.Limit, cfg.Epochs, cfg.RG = 2, 100, 1, "qt4"
			cfg.Out = t.TempDir()
			tc.set(&cfg)
			_, err := Train(context.Background(), cfg, quietLogger())
			require.Error(t, err)
			assert.True(t, IsInputError(err), "%v", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// The best epoch is the one of best validation objective, or under
// MonitorAccuracy of best accuracy with ties broken by the objective.
func TestProgressMonitor(t *testing.T) {
	type epoch struct{ score, acc float64 }
	epochs := []epoch{{-3, 0.90}, {-2, 0.89}, {-2.5, 0.93}, {-2.4, 0.93}, {-2.6, 0.93}, {-1.9, 0.92}}
	for _, tc := range []struct {
		monitor string
		best    []bool
	}{
		{MonitorObjective, []bool{true, true, false, false, false, true}},
		{MonitorAccuracy, []bool{true, false, true, true, false, false}},
	} {
		var p progress
		cfg := TrainConfig{Classes: 10, Monitor: tc.monitor}
		for i, e := range epochs {
			acc := e.acc
			assert.Equal(t, tc.best[i], p.validated(cfg, e.score, &acc), "%s, epoch %d", tc.monitor, i+1)
		}
	}
}

// A squared circuit trains with Adam through Train from weights of both
// signs: its model file keeps them, its test log-likelihood is the
// reference evaluator's (on c·c), and it is normalized, by enumeration.
func TestTrainSquared(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.Dataset = "debd:" + filepath.Join("..", "testdata", "debd", "nltcs-small")
	cfg.RG, cfg.Layer, cfg.Units, cfg.Param, cfg.WeightInit = "cl", circuit.CPR, 3, circuit.Real, circuit.Normal
	cfg.BatchSize, cfg.Epochs, cfg.LR = 100, 3, 0.05
	cfg.Out = t.TempDir()
	res, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	m, err := LoadModel(res.Model)
	require.NoError(t, err)
	neg := false
	for _, p := range m.Circuit.Params() {
		if strings.Contains(p.Name, "weight") || strings.Contains(p.Name, "out") {
			for _, v := range p.Value() {
				neg = neg || v < 0
			}
		}
	}
	assert.True(t, neg, "the saved model holds negative weights")
	sp, err := LoadData(&cfg)
	require.NoError(t, err)
	lp, err := m.Circuit.LogProb(sp.Test.X, nil)
	require.NoError(t, err)
	s := 0.0
	for _, v := range lp {
		s += v
	}
	assert.InDelta(t, s/float64(sp.Test.N), res.Test.LL, 1e-4)
	// Σ_x p(x) = 1 over all 2^16 states.
	x := make([]uint8, 0, 16<<16)
	for i := range 1 << 16 {
		for v := 15; v >= 0; v-- {
			x = append(x, uint8(i>>v&1))
		}
	}
	all, err := m.Circuit.LogProb(x, nil)
	require.NoError(t, err)
	total := 0.0
	for _, v := range all {
		total += math.Exp(v)
	}
	assert.InDelta(t, 1, total, 1e-9)
}

// The quick mnist-classifier recipe trains both models and writes the
// table of accuracies against the fraction of missing pixels.
func TestMNISTClassifierQuick(t *testing.T) {
	var out bytes.Buffer
	o := RecipeOptions{Out: t.TempDir(), Quick: true, Log: quietLogger(), Stdout: &out}
	require.NoError(t, runMNISTClassifier(context.Background(), o))
	recs := readCSVFile(t, filepath.Join(o.Out, "results.csv"))
	require.Len(t, recs, 1+len(MissingFractions), out.String())
	assert.Equal(t, classifierHeader, recs[0])
	assert.Equal(t, "0.00", recs[1][3], "no drop without missing pixels")
	assert.Contains(t, out.String(), "missing 50%")
}

// MissingMask marks round(f·d) entries of every row, the same for a seed.
func TestMissingMask(t *testing.T) {
	m := MissingMask(20, 10, 0.25, 1)
	for i := range 20 {
		n := 0
		for _, v := range m[i*10 : (i+1)*10] {
			if v {
				n++
			}
		}
		assert.Equal(t, 3, n, "row %d", i) // round(2.5) = 3
	}
	assert.Equal(t, m, MissingMask(20, 10, 0.25, 1))
	assert.NotEqual(t, m, MissingMask(20, 10, 0.25, 2))
}
