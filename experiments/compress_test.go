package experiments

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// compressGraphs are the small graphs the compression tests run on: QG
// over a 2×2 image (binary partitions) and QT-4 over it (a 4-input
// partition, which Tucker binarizes).
func compressGraphs(t *testing.T) map[string]*regiongraph.Graph {
	t.Helper()
	s := regiongraph.Shape{C: 1, H: 2, W: 2}
	qg, err := regiongraph.QuadGraph(s)
	require.NoError(t, err)
	qt4, err := regiongraph.QuadTree(s, 4)
	require.NoError(t, err)
	require.True(t, hasWidePartition(qt4))
	return map[string]*regiongraph.Graph{"qg": qg, "qt4": qt4}
}

var compressParams = []circuit.Param{circuit.Clamp, circuit.Exp, circuit.Softmax}

// tuckerModel builds a float64 Tucker model over rg with k units and
// categorical inputs of values values.
func tuckerModel(t *testing.T, rg *regiongraph.Graph, param circuit.Param, k, values int) *Model {
	t.Helper()
	c, err := circuit.Build(rg, circuit.Options{Layer: circuit.Tucker, Units: k, Values: values, Param: param, DType: nn.Float64, Seed: 7})
	require.NoError(t, err)
	arch, err := archOf(rg, c)
	require.NoError(t, err)
	return &Model{Circuit: c, RG: rg, Arch: arch, Info: ModelInfo{Dataset: "test", Values: values, NumVars: rg.NumVars, BatchSize: 16}}
}

// plantLowRank sets every Tucker fold's effective weights to a random
// non-negative tensor of CP rank r (rows normalized under softmax), stored
// in the model's parameterization.
func plantLowRank(m *Model, r int, rng *rand.Rand) {
	c := m.Circuit
	param := c.Options().Param
	for i, l := range c.Plan().Layers {
		if l.Kind == circuit.Mixing {
			continue
		}
		weight := paramsByName(c)[fmt.Sprintf("layers.%d.weight", i)]
		w := make([]float64, weight.Len()) // (F, Kout, Kin·Kin)
		Kout, Kin := l.Kout, l.Kin
		for f := range l.F() {
			fold := w[f*Kout*Kin*Kin:][:Kout*Kin*Kin]
			for range r {
				a, b, cc := randPos(rng, Kout), randPos(rng, Kin), randPos(rng, Kin)
				for k := range Kout {
					for x := range Kin {
						for y := range Kin {
							fold[(k*Kin+x)*Kin+y] += a[k] * b[x] * cc[y]
						}
					}
				}
			}
			for k := range Kout {
				row := fold[k*Kin*Kin:][:Kin*Kin]
				s := 0.0
				for _, v := range row {
					s += v
				}
				for j, v := range row {
					switch param {
					case circuit.Softmax:
						row[j] = math.Log(v / s)
					case circuit.Exp:
						row[j] = math.Log(v)
					}
				}
			}
		}
		weight.SetValue(w)
	}
}

func randPos(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 0.1 + 0.9*rng.Float64()
	}
	return v
}

// allValues enumerates every assignment of v variables of c values.
func allValues(v, c int) []uint8 {
	n := int(math.Pow(float64(c), float64(v)))
	x := make([]uint8, n*v)
	for i := range n {
		r := i
		for j := v - 1; j >= 0; j-- {
			x[i*v+j] = uint8(r % c)
			r /= c
		}
	}
	return x
}

// enumerate returns the compiled program's log p of every assignment (as
// `tenpc eval` computes it) and checks that they sum to 1.
func enumerate(t *testing.T, c *circuit.Circuit, values int) []float64 {
	t.Helper()
	v := c.Plan().NumVars
	x := allValues(v, values)
	n := len(x) / v
	p, err := c.Compile(n, false)
	require.NoError(t, err)
	ll := make([]float64, n)
	require.NoError(t, p.LogLikelihood(x, nil, ll))
	s := 0.0
	for _, l := range ll {
		s += math.Exp(l)
	}
	assert.InDelta(t, 1, s, 1e-9, "Σ p over all %d assignments", n)
	return ll
}

// At R ≥ Kin² every fold is written exactly, so the compressed circuit
// computes the Tucker circuit's distribution, under every
// parameterization and on a binarized graph too.
func TestCompressFullRankExact(t *testing.T) {
	const k, values = 2, 3
	for name, rg := range compressGraphs(t) {
		for _, param := range compressParams {
			t.Run(name+"/"+param.String(), func(t *testing.T) {
				m := tuckerModel(t, rg, param, k, values)
				cm, layers, err := compressModel(m, foldFit{rank: k * k, seed: 1}, 2, nil)
				require.NoError(t, err)
				assert.Equal(t, "cp-r", cm.Arch.Layer)
				assert.Equal(t, k*k, cm.Arch.Rank)
				assert.Equal(t, param.String(), cm.Arch.Param)
				assert.True(t, cm.RG.IsSmooth() && cm.RG.IsDecomposable())
				assert.False(t, hasWidePartition(cm.RG), "the compressed model's graph is binarized")
				for _, l := range layers {
					assert.Equal(t, l.Folds, l.Exact, "layer %d", l.Layer)
					assert.LessOrEqual(t, l.MaxError, 1e-12, "layer %d", l.Layer)
				}
				want := enumerate(t, m.Circuit, values)
				got := enumerate(t, cm.Circuit, values)
				assert.InDeltaSlice(t, want, got, 1e-9)
			})
		}
	}
}

// On Tucker folds of non-negative CP rank 2, rank-2 HALS finds the
// factors, and the compressed circuit's log-likelihoods equal the Tucker
// model's within the fit's error: the factors land on the right axes
// (first input, second input, output).
func TestCompressPlantedRank(t *testing.T) {
	const k, values, r = 3, 3, 2
	for name, rg := range compressGraphs(t) {
		for _, param := range compressParams {
			t.Run(name+"/"+param.String(), func(t *testing.T) {
				m := tuckerModel(t, rg, param, k, values)
				plantLowRank(m, r, rand.New(rand.NewPCG(3, 4)))
				cm, layers, err := compressModel(m, foldFit{rank: r, maxIter: 3000, tol: 1e-15, seed: 1}, 2, nil)
				require.NoError(t, err)
				worst := 0.0
				for _, l := range layers {
					assert.Zero(t, l.Exact, "layer %d: rank 2 < 3 is fitted", l.Layer)
					worst = max(worst, l.MaxError)
				}
				require.LessOrEqual(t, worst, 1e-6)
				want := enumerate(t, m.Circuit, values)
				got := enumerate(t, cm.Circuit, values)
				assert.InDeltaSlice(t, want, got, 1e-4)
			})
		}
	}
}

// At a rank far below the Tucker tensors' the compressed circuit is still
// a distribution: Σ p = 1 over every assignment, Z = 1 by construction
// under softmax (the program computes no partition function then).
func TestCompressLowRankNormalized(t *testing.T) {
	const k, values = 3, 3
	for name, rg := range compressGraphs(t) {
		for _, param := range compressParams {
			t.Run(name+"/"+param.String(), func(t *testing.T) {
				m := tuckerModel(t, rg, param, k, values)
				cm, layers, err := compressModel(m, foldFit{rank: 1, seed: 1}, 2, nil)
				require.NoError(t, err)
				for _, l := range layers {
					assert.Greater(t, l.MeanError, 0.0, "layer %d", l.Layer)
					assert.Equal(t, l.Folds*(2*l.Kin+l.Kout), l.ParamsAfter, "layer %d", l.Layer)
					assert.Equal(t, l.Folds*l.Kout*l.Kin*l.Kin, l.ParamsBefore, "layer %d", l.Layer)
				}
				enumerate(t, cm.Circuit, values)
				assert.Equal(t, param == circuit.Softmax, cm.Circuit.Normalized())
			})
		}
	}
}

// The factorization of a fold depends on its seed alone, not on the
// number of workers.
func TestCompressWorkersDeterministic(t *testing.T) {
	rg := compressGraphs(t)["qt4"]
	m := tuckerModel(t, rg, circuit.Clamp, 3, 3)
	fit := foldFit{rank: 2, random: true, seed: 9}
	a, _, err := compressModel(m, fit, 1, nil)
	require.NoError(t, err)
	b, _, err := compressModel(m, fit, 3, nil)
	require.NoError(t, err)
	pa, pb := paramsByName(a.Circuit), paramsByName(b.Circuit)
	require.Len(t, pb, len(pa))
	for name, p := range pa {
		assert.Equal(t, p.Value(), pb[name].Value(), name)
	}
}

// trainTucker trains a small Tucker model on the NLTCS sample (16 binary
// variables) and returns its model file.
func trainTucker(t *testing.T, dir string) string {
	t.Helper()
	cfg := DefaultTrainConfig()
	cfg.Dataset, cfg.RG, cfg.Layer, cfg.Units = "debd:../testdata/debd/nltcs-small", "rbt", circuit.Tucker, 3
	cfg.Epochs, cfg.BatchSize, cfg.Out = 1, 100, filepath.Join(dir, "tucker")
	res, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	return res.Model
}

// Compress on a file: the result reports the layers, the parameters and
// the test results before and after; the output is an ordinary model
// that evaluates to the reported result, samples, and fine-tunes with
// its architecture taken from the file.
func TestCompressFile(t *testing.T) {
	dir := t.TempDir()
	tucker := trainTucker(t, dir)
	out := filepath.Join(dir, "sub", "cpr.tenpc")
	res, err := Compress(CompressConfig{Model: tucker, Rank: 2, Out: out, Seed: 1})
	require.NoError(t, err)
	require.NotEmpty(t, res.Layers)
	require.NotNil(t, res.Before)
	require.NotNil(t, res.After)
	assert.Less(t, res.ParamsAfter, res.ParamsBefore)
	assert.Positive(t, res.Workers)
	assert.Equal(t, CompressResult{Model: tucker, Out: out, Rank: 2}, CompressResult{Model: res.Model, Out: res.Out, Rank: res.Rank})

	ev, err := Evaluate(EvalConfig{Model: out})
	require.NoError(t, err)
	assert.Equal(t, res.After.LL, ev.LL, "tenpc eval reproduces the reported result")
	before, err := Evaluate(EvalConfig{Model: tucker})
	require.NoError(t, err)
	assert.Equal(t, res.Before.LL, before.LL)

	m, err := LoadModel(out)
	require.NoError(t, err)
	assert.Equal(t, "cp-r", m.Arch.Layer)
	assert.Equal(t, 2, m.Arch.Rank)
	require.NotNil(t, m.Info.Test)
	assert.Equal(t, res.After.LL, m.Info.Test.LL)
	require.NoError(t, Sample(SampleConfig{Model: out, N: 3, Seed: 1, Out: filepath.Join(dir, "s.csv")}))

	// Fine-tuning: the architecture comes from the file.
	cfg := DefaultTrainConfig()
	cfg.Dataset, cfg.Epochs, cfg.BatchSize, cfg.Init, cfg.Out = "debd:../testdata/debd/nltcs-small", 1, 100, out, filepath.Join(dir, "ft")
	require.NoError(t, cfg.ArchFromInit(nil))
	assert.Equal(t, circuit.CPR, cfg.Layer)
	assert.Equal(t, 2, cfg.Rank)
	assert.Equal(t, 3, cfg.Units)
	assert.Equal(t, "rbt", cfg.RG)
	ft, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	assert.Greater(t, ft.Test.LL, res.After.LL-1, "fine-tuning starts from the compressed model")

	// Rerunning without Force leaves the file as it is.
	st, err := os.Stat(out)
	require.NoError(t, err)
	_, err = Compress(CompressConfig{Model: tucker, Rank: 2, Out: out})
	require.Error(t, err)
	assert.True(t, IsInputError(err))
	assert.Contains(t, err.Error(), "-force")
	st2, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, st.ModTime(), st2.ModTime())
}

// Bad input is an *InputError naming the input, and nothing is written.
func TestCompressBadInput(t *testing.T) {
	dir := t.TempDir()
	tucker := trainTucker(t, dir)
	cfg := DefaultTrainConfig()
	cfg.Dataset, cfg.RG, cfg.Units = "debd:../testdata/debd/nltcs-small", "rbt", 3
	cfg.Epochs, cfg.BatchSize, cfg.Out = 1, 100, filepath.Join(dir, "cp")
	cp, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	garbage := filepath.Join(dir, "garbage.tenpc")
	require.NoError(t, os.WriteFile(garbage, []byte("not a model"), 0o644))
	out := filepath.Join(dir, "out.tenpc")
	for _, tc := range []struct {
		name string
		cfg  CompressConfig
		want []string
	}{
		{"rank 0", CompressConfig{Model: tucker, Rank: 0, Out: out}, []string{"rank", "0"}},
		{"not tucker", CompressConfig{Model: cp.Model, Rank: 2, Out: out}, []string{cp.Model, "cp layers", "Tucker"}},
		{"missing model", CompressConfig{Model: filepath.Join(dir, "none.tenpc"), Rank: 2, Out: out}, []string{"none.tenpc", "no such file"}},
		{"unreadable model", CompressConfig{Model: garbage, Rank: 2, Out: out}, []string{garbage}},
		{"no output", CompressConfig{Model: tucker, Rank: 2}, []string{"output"}},
		{"existing output", CompressConfig{Model: tucker, Rank: 2, Out: garbage}, []string{garbage, "exists", "-force"}},
		{"negative workers", CompressConfig{Model: tucker, Rank: 2, Out: out, Workers: -1}, []string{"workers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compress(tc.cfg)
			require.Error(t, err)
			assert.True(t, IsInputError(err), "%v is not an input error", err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NoFileExists(t, out)
		})
	}
}

// ArchFromInit takes every architecture setting the user did not set from
// the model, and refuses one the user set that contradicts it, naming the
// flag and both values.
func TestArchFromInit(t *testing.T) {
	dir := t.TempDir()
	tucker := trainTucker(t, dir)
	out := filepath.Join(dir, "cpr.tenpc")
	_, err := Compress(CompressConfig{Model: tucker, Rank: 2, Out: out, SkipEval: true})
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		edit     func(c *TrainConfig)
		explicit []string
		want     []string // substrings of the error; none: accepted
	}{
		{"nothing set", func(c *TrainConfig) {}, nil, nil},
		{"agreeing flags", func(c *TrainConfig) { c.Layer, c.Units, c.Rank, c.RG = circuit.CPR, 3, 2, "rbt" }, []string{"layer", "k", "rank", "rg"}, nil},
		{"layer", func(c *TrainConfig) { c.Layer = circuit.Tucker }, []string{"layer"}, []string{"-layer tucker", "cp-r"}},
		{"k", func(c *TrainConfig) { c.Units = 8 }, []string{"k"}, []string{"-k 8", "k is 3"}},
		{"rank", func(c *TrainConfig) { c.Rank = 4 }, []string{"rank"}, []string{"-rank 4", "rank is 2"}},
		{"mono-k", func(c *TrainConfig) { c.MonoUnits = 2 }, []string{"mono-k"}, []string{"-mono-k 2", "mono-k is 0"}},
		{"rank 0 is K", func(c *TrainConfig) { c.Rank = 0 }, []string{"rank"}, []string{"-rank 0 (K = 3)", "rank is 2"}},
		{"rg", func(c *TrainConfig) { c.RG = "linear" }, []string{"rg"}, []string{"-rg linear", "rg is rbt"}},
		{"input", func(c *TrainConfig) { c.Input = circuit.Bernoulli }, []string{"input"}, []string{"-input bernoulli", "categorical"}},
		{"param", func(c *TrainConfig) { c.Param = circuit.Softmax }, []string{"param"}, []string{"-param softmax", "clamp"}},
		{"scale", func(c *TrainConfig) { c.Scale = ScaleUnit }, []string{"scale"}, []string{"-scale unit", "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultTrainConfig()
			cfg.Init = out
			tc.edit(&cfg)
			explicit := map[string]bool{}
			for _, s := range tc.explicit {
				explicit[s] = true
			}
			err := cfg.ArchFromInit(explicit)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, circuit.CPR, cfg.Layer)
				assert.Equal(t, 3, cfg.Units)
				assert.Equal(t, 2, cfg.Rank)
				assert.Equal(t, "rbt", cfg.RG)
				assert.Zero(t, cfg.MonoUnits)
				return
			}
			require.Error(t, err)
			assert.True(t, IsInputError(err))
			assert.Contains(t, err.Error(), out)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
