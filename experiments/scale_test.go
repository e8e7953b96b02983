package experiments

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/regiongraph"
)

// smallImages is n random 2×3×2 images (two channels) over 256 values.
func smallImages(n int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	ds := &data.Dataset{Name: "small", Shape: []int{2, 3, 2}, Values: 256, N: n, D: 12, X: make([]uint8, n*12)}
	for i := range ds.X {
		ds.X[i] = uint8(rng.IntN(256))
		if i%12 >= 6 {
			ds.X[i] /= 4 // the second channel has another mean and spread
		}
	}
	return ds
}

func TestFitScaling(t *testing.T) {
	ds := smallImages(50, 1)
	sc, err := fitScaling(ScaleStandard, ds)
	require.NoError(t, err)
	require.NoError(t, sc.check(ds.D))
	// The scaled training set has mean 0 and variance 1 per channel.
	z := sc.forward64(ds.X)
	for c := range 2 {
		var sum, ss float64
		for i := range ds.N {
			for _, v := range z[i*12+c*6 : i*12+c*6+6] {
				sum += v
				ss += v * v
			}
		}
		n := float64(ds.N * 6)
		assert.InDelta(t, 0, sum/n, 1e-12, "channel %d mean", c)
		assert.InDelta(t, 1, ss/n, 1e-12, "channel %d variance", c)
	}
	assert.NotEqual(t, sc.Mean[0], sc.Mean[1])
	// inverse undoes forward.
	back := sc.inverse(z)
	for i, v := range ds.X {
		require.InDelta(t, float64(v), back[i], 1e-9)
	}
	unit, err := fitScaling(ScaleUnit, ds)
	require.NoError(t, err)
	assert.Equal(t, []float64{0, 0}, unit.Mean)
	assert.Equal(t, []float64{1, 1}, unit.Std)
	assert.InDelta(t, -12*math.Log(255), unit.logJacobian(), 1e-12)
	none, err := fitScaling(ScaleNone, ds)
	require.NoError(t, err)
	assert.Nil(t, none)

	flat := smallImages(5, 2)
	for i := range flat.X {
		flat.X[i] = 7
	}
	_, err = fitScaling(ScaleStandard, flat)
	assert.ErrorContains(t, err, "constant")
}

// A circuit on scaled values and the same circuit with its Gaussians
// mapped back to raw units (mean · 255, std · 255) are one density of the
// raw values: the log-likelihoods that evalSplit reports (with the
// scaling's Jacobian) agree.
func TestScalingKeepsRawUnits(t *testing.T) {
	ds := smallImages(40, 3)
	sc, err := fitScaling(ScaleUnit, ds)
	require.NoError(t, err)
	rg, err := regiongraph.RandomBinaryTree(ds.D, -1, 1, 5)
	require.NoError(t, err)
	build := func() *circuit.Circuit {
		c, err := circuit.Build(rg, circuit.Options{Units: 3, Input: circuit.Gaussian, Seed: 9})
		require.NoError(t, err)
		return c
	}
	scaled, raw := build(), build()
	mean := scaled.Input.Mean.Value()
	logStd := scaled.Input.LogStd.Value()
	for i := range mean {
		mean[i] = 0.3 + 0.1*float64(i%5)
		logStd[i] = -1.5 + 0.2*float64(i%3)
	}
	scaled.Input.Mean.SetValue(mean)
	scaled.Input.LogStd.SetValue(logStd)
	for i := range mean {
		mean[i] *= 255
		logStd[i] += math.Log(255)
	}
	raw.Input.Mean.SetValue(mean)
	raw.Input.LogStd.SetValue(logStd)
	eval := func(c *circuit.Circuit, sc *Scaling) SplitResult {
		p, err := c.Compile(8, false)
		require.NoError(t, err)
		r, err := evalSplit(p, ds, "test", newFeeder(circuit.Gaussian, sc), nil)
		require.NoError(t, err)
		return r
	}
	a, b := eval(scaled, sc), eval(raw, nil)
	assert.InDelta(t, b.LL, a.LL, 1e-5*math.Abs(b.LL)) // float32 circuits
}

// A Gaussian model trained with -scale standard records its scaling;
// complete (refused for Gaussian models before) fills masked pixels and
// keeps the observed ones, and its samples are valid pixel values.
func TestGaussianModelQueries(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Epochs = "qt4", 3, 200, 50, 1
	cfg.Input, cfg.Scale = circuit.Gaussian, ScaleStandard
	cfg.Out = t.TempDir()
	res, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	assert.Less(t, res.Test.BPD, 20.0, "standard scaling starts near the data's scale, not at thousands of bpd")
	m, err := LoadModel(res.Model)
	require.NoError(t, err)
	require.NotNil(t, m.Info.Scale)
	assert.Equal(t, "standard", m.Info.Scale.Kind)

	sp, err := loadModelData(m, res.Model, "", 10)
	require.NoError(t, err)
	x := sp.Test.X[:4*sp.Test.D]
	observed := make([]bool, len(x))
	for i := range observed {
		observed[i] = i%28 < 14 // the left half of every row
	}
	sampled, mapped, err := completeRows(m, x, observed, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	for i, o := range observed {
		if o {
			require.Equal(t, x[i], sampled[i], "observed pixel %d changed by sampling", i)
			require.Equal(t, x[i], mapped[i], "observed pixel %d changed by MAP", i)
		}
	}
	out := filepath.Join(cfg.Out, "completions.png")
	require.NoError(t, Complete(CompleteConfig{Model: res.Model, Mask: "left", N: 3, Out: out}))
	assert.FileExists(t, out)
}

func TestScaleConfig(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.Out, cfg.Scale = "x", ScaleUnit
	assert.ErrorContains(t, cfg.Validate(), "-scale unit applies to gaussian inputs")
	cfg.Input = circuit.Gaussian
	require.NoError(t, cfg.Validate())
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	var back TrainConfig
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, cfg, back)
	_, err = ParseScale("log")
	assert.ErrorContains(t, err, `unknown scale "log"`)
}
