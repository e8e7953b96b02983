package experiments

import (
	"context"
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/nn"
)

// The parameter counts the specs compute are those of the built layers,
// and Tucker and CP come within a fifth of the MPO's count they match
// (within the coarse steps of a two-mode Tucker at the smallest ranks).
func TestTNNSpecParams(t *testing.T) {
	for _, arch := range []string{"mlp", "cnn"} {
		defs, err := archDefs(arch)
		require.NoError(t, err)
		for _, f := range []TNFormat{DenseFormat, MPOFormat, TuckerFormat, CPFormat} {
			for _, rank := range []int{2, 8, 32} {
				spec, err := TensorizedTNNSpec(arch, nil, f, rank, 4)
				require.NoError(t, err)
				net, err := BuildTNN(spec, nn.Float32, rand.New(rand.NewPCG(1, 1)), nil)
				require.NoError(t, err)
				for i, def := range defs {
					got := nn.ParamCount(net.Layers[def.name])
					assert.Equal(t, specParams(def, spec.Layers[i]), got, "%s %s %v r=%d", arch, def.name, f, rank)
					if f == TuckerFormat || f == CPFormat {
						if spec.Layers[i].Format == DenseFormat {
							continue
						}
						mpo := specParams(def, tensorizedSpec(def, MPOFormat, rank, 4))
						if rank > 2 {
							assert.InDelta(t, 1, float64(got)/float64(mpo), 0.2, "%s %s %v r=%d: %d parameters, the MPO %d", arch, def.name, f, rank, got, mpo)
						}
					}
				}
			}
		}
	}
}

func TestTNNSpecDetails(t *testing.T) {
	spec, err := TensorizedTNNSpec("mlp", nil, MPOFormat, 8, 4)
	require.NoError(t, err)
	assert.Equal(t, TNLayerSpec{Name: "fc1", Format: MPOFormat, OutModes: []int{4, 8, 8, 4}, InModes: []int{4, 7, 7, 4}, Ranks: []int{8, 8, 8}}, spec.Layers[0])
	assert.Equal(t, DenseFormat, spec.Layers[2].Format, "fc3 stays dense")
	spec, err = TensorizedTNNSpec("cnn", []string{"conv2"}, MPOFormat, 64, 3)
	require.NoError(t, err)
	// The TT-convolution's modes: channels, then the 5×5 kernel paired with
	// an out mode of 1; bonds capped at their largest useful size.
	assert.Equal(t, TNLayerSpec{Name: "conv2", Format: MPOFormat, OutModes: []int{4, 8, 1}, InModes: []int{4, 4, 25}, Ranks: []int{16, 25}}, spec.Layers[1])
	for _, bad := range []func() error{
		func() error { _, err := TensorizedTNNSpec("resnet", nil, MPOFormat, 8, 4); return err },
		func() error { _, err := TensorizedTNNSpec("mlp", []string{"fc9"}, MPOFormat, 8, 4); return err },
		func() error { _, err := TensorizedTNNSpec("mlp", []string{"fc1", "fc1"}, MPOFormat, 8, 4); return err },
		func() error { _, err := TensorizedTNNSpec("mlp", nil, MPOFormat, 0, 4); return err },
		func() error { _, err := ParseTNFormat("tt"); return err },
	} {
		err := bad()
		assert.True(t, IsInputError(err), "%v", err)
	}
}

// A dense CNN compressed without truncation keeps its predictions; at bond
// dimension 2 it is fine-tuned in a run directory that a second call
// reuses; eval and inspect read the result.
func TestCompressTNN(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "dense")
	_, err := TrainTNN(context.Background(), TNNTrainConfig{Arch: "cnn", Dataset: "mnist", TrainLimit: 256, TestLimit: 100,
		Train: ClassifierConfig{Out: src, Epochs: 1, Batch: 64, Seed: 1}}, quietLogger())
	require.NoError(t, err)
	model := filepath.Join(src, ModelFile)

	exact, err := CompressTNN(context.Background(), TNNCompressConfig{Model: model, Format: MPOFormat, Tol: 1e-6, TrainLimit: 256, TestLimit: 100}, quietLogger())
	require.NoError(t, err)
	assert.Equal(t, exact.SourceAccuracy, exact.Accuracy, "a compression within 1e-6 changed the predictions")
	for _, l := range exact.Layers {
		assert.Less(t, l.RelError, 1e-6, l.Name)
		require.NotNil(t, l.RelBound)
		assert.InDelta(t, l.RelError, *l.RelBound, 1e-6, l.Name)
	}
	assert.Nil(t, exact.FineTunedAccuracy)

	out := filepath.Join(dir, "mpo2")
	cfg := TNNCompressConfig{Model: model, Format: MPOFormat, Rank: 2, TrainLimit: 256, TestLimit: 100,
		FineTune: ClassifierConfig{Out: out, Epochs: 1, Batch: 64, Seed: 1}}
	res, err := CompressTNN(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	require.NotNil(t, res.FineTunedAccuracy)
	assert.Equal(t, []string{"conv2", "fc1"}, []string{res.Layers[0].Name, res.Layers[1].Name})
	assert.Equal(t, []int{2, 2, 2}, res.Layers[0].Ranks, "conv2: three channel modes and the kernel's")
	assert.Equal(t, res.WeightsBefore, 32*16*25+256*512)
	assert.InDelta(t, float64(res.WeightsBefore)/float64(res.WeightsAfter), res.Compression, 1e-9)
	for _, f := range []string{CompressedModelFile, CompressReportFile, ModelFile, ResultFile, CurveFile} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	again, err := CompressTNN(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	assert.Equal(t, *res.FineTunedAccuracy, *again.FineTunedAccuracy, "the second call reuses both runs")
	other := cfg
	other.Rank = 3
	_, err = CompressTNN(context.Background(), other, quietLogger())
	assert.True(t, IsInputError(err), "another rank into the same directory: %v", err)

	ev, err := EvalTNN(TNNEvalConfig{Model: res.Model, TestLimit: 100})
	require.NoError(t, err)
	assert.Equal(t, *res.FineTunedAccuracy, ev.Accuracy, "eval reproduces the run's accuracy")
	assert.Equal(t, res.Params, ev.Params)
	assert.Equal(t, MPOFormat, ev.Layers[1].Format)

	insp := filepath.Join(dir, "inspect")
	ir, err := InspectTNN(TNNInspectConfig{Model: res.Model, Out: insp, Batch: 20})
	require.NoError(t, err)
	spectra := readCSV(t, ir.Spectra)
	acts := readCSV(t, ir.Activations)
	// conv2 and fc1 have three bonds of 2 each: 12 values in all.
	assert.Len(t, spectra, 1+12)
	assert.Len(t, acts, 1+12)
	assert.Equal(t, []string{"conv2", "bond 1", "1"}, spectra[1][:3])
	assert.Equal(t, "1", spectra[2][5], "the last value of bond 1 keeps all its energy")
	assert.Len(t, ir.Plots, 4)
	for _, p := range ir.Plots {
		assert.FileExists(t, p)
	}
	// A dense layer shows the TT-SVD spectra of its weight.
	dr, err := InspectTNN(TNNInspectConfig{Model: model, Out: filepath.Join(dir, "inspect-dense"), Layers: []string{"fc1"}})
	require.NoError(t, err)
	dspec := readCSV(t, dr.Spectra)
	assert.Contains(t, dspec[1][1], "TT-SVD of W")
	assert.Len(t, readCSV(t, dr.Activations), 1, "no activations for a dense layer")
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestCompressTNNBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, cfg := range []TNNCompressConfig{
		{Format: MPOFormat, Rank: 2},                                   // no model
		{Model: "m", Format: DenseFormat, Rank: 2},                     // nothing to compress
		{Model: "m", Format: MPOFormat},                                // no rank, no tolerance
		{Model: "m", Format: MPOFormat, Tol: 1.5},                      // tolerance out of range
		{Model: filepath.Join(dir, "none"), Format: CPFormat, Rank: 2}, // no such file
	} {
		_, err := CompressTNN(context.Background(), cfg, quietLogger())
		assert.True(t, IsInputError(err), "%+v: %v", cfg, err)
	}
	garbage := filepath.Join(dir, "garbage")
	require.NoError(t, SaveClassifier(garbage, smallClassifier(1)))
	_, err := LoadTNN(garbage)
	assert.True(t, IsInputError(err))
	assert.Contains(t, err.Error(), "not a tnn model file")
}

// One arch, format and rank of the recipe, twice: the second pass finds
// every run finished and reports the same row.
func TestTNNRecipeArch(t *testing.T) {
	r := TNNMNISTRecipe(true)
	r.Formats, r.Ranks, r.TrainLimit, r.TestLimit = []TNFormat{CPFormat}, []int{2}, 300, 100
	o := RecipeOptions{Out: t.TempDir(), Log: quietLogger(), Stdout: &strings.Builder{}}
	rows, err := r.runArch(context.Background(), o, "fashion-mnist", "cnn")
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Len(t, rows[1], len(tnnHeader))
	assert.Equal(t, []string{"fashion-mnist", "cnn", "cp", "2", "conv2:8×2×2×1←4×2×2×25 fc1:4×4×4×4←4×4×8×4"}, rows[1][:5])
	assert.FileExists(t, filepath.Join(o.Out, "fashion-mnist-cnn.png"))
	for _, col := range rows[1][9:13] {
		v, err := strconv.ParseFloat(col, 64)
		require.NoError(t, err)
		assert.True(t, v >= 0 && v <= 1, "accuracy %v", v)
	}
	assert.Equal(t, []string{"1", "1"}, rows[1][13:], "epochs fine-tuned and from scratch, within the budget")
	assert.Equal(t, "1", rows[0][13], "the dense run's epochs")
	again, err := r.runArch(context.Background(), o, "fashion-mnist", "cnn")
	require.NoError(t, err)
	assert.Equal(t, rows, again)
}

// A one-epoch budget too small for any epoch: every run stops after its
// first batch, the table says so, and a rerun with a larger budget goes on
// from there.
func TestTNNRecipeBudget(t *testing.T) {
	r := TNNMNISTRecipe(true)
	r.Formats, r.Ranks, r.TrainLimit, r.TestLimit = []TNFormat{MPOFormat}, []int{2}, 640, 100
	r.TuneEpochs = map[string]int{"mlp": 2}
	r.DenseBudget, r.TuneBudget = time.Nanosecond, time.Nanosecond
	o := RecipeOptions{Out: t.TempDir(), Log: quietLogger(), Stdout: &strings.Builder{}}
	rows, err := r.runArch(context.Background(), o, "mnist", "mlp")
	require.NoError(t, err)
	// 640 images, batch 128: 5 batches an epoch, one trained.
	assert.Equal(t, "0.2 (time)", rows[0][13], "dense")
	assert.Equal(t, []string{"0.2 (time)", "0.2 (time)"}, rows[1][13:], "fine-tuned, from scratch")

	r.TuneBudget = time.Hour
	more, err := r.runArch(context.Background(), o, "mnist", "mlp")
	require.NoError(t, err)
	assert.Equal(t, rows[0], more[0], "the dense run, its budget unchanged, is reported as it was")
	// The cut first epoch stays cut: the second is the one left.
	assert.Equal(t, []string{"1.2", "1.2"}, more[1][13:], "the tuning runs go on with the larger budget")

	r.TuneEpochs = map[string]int{"cnn": 1}
	_, err = r.runArch(context.Background(), o, "mnist", "mlp")
	assert.True(t, IsInputError(err), "no tuning epochs for the MLP: %v", err)
}

// CP takes the layout of the least leftover unless that leaves it a single
// term; cpMACs is the layer's own count.
func TestTNNCPLayout(t *testing.T) {
	assert.Equal(t, [][]int{{6, 2}, {4, 3}, {3, 4}, {2, 6}}, factorizations(12, 2))
	assert.Equal(t, [][]int{{2, 2, 2}}, factorizations(8, 3))
	assert.Empty(t, factorizations(7, 2))
	assert.Empty(t, factorizations(4, 3))

	for _, arch := range []string{"mlp", "cnn"} {
		defs, err := archDefs(arch)
		require.NoError(t, err)
		for _, rank := range []int{2, 4, 8, 16, 32} {
			spec, err := TensorizedTNNSpec(arch, nil, CPFormat, rank, 4)
			require.NoError(t, err)
			net, err := BuildTNN(spec, nn.Float32, rand.New(rand.NewPCG(1, 1)), nil)
			require.NoError(t, err)
			for i, l := range spec.Layers {
				if l.Format != CPFormat {
					continue
				}
				def := defs[i]
				var m nn.TNLinear
				if c, ok := net.Layers[def.name].(*nn.TNConv2d); ok {
					m = c.Map
				} else {
					m = net.Layers[def.name].(nn.TNLinear)
				}
				macs := cpMACs(l.OutModes, l.InModes, l.Ranks[0])
				assert.Equal(t, 2*int64(macs), m.FLOPs(1), "%s %s r=%d", arch, def.name, rank)
				fo, fi, ok := cpFastModes(def, 4)
				require.True(t, ok)
				mpo := tensorizedSpec(def, MPOFormat, rank, 4)
				if slices.Equal(l.OutModes, mpo.OutModes) && slices.Equal(l.InModes, mpo.InModes) {
					assert.Equal(t, 1, cpRank(def, fo, fi, specParams(def, mpo)), "%s %s r=%d keeps the MPO's modes", arch, def.name, rank)
					continue
				}
				assert.Equal(t, [][]int{fo, fi}, [][]int{l.OutModes, l.InModes})
				assert.GreaterOrEqual(t, l.Ranks[0], 2)
				if !def.conv {
					// Every factor's leftover is 2³, the least there is.
					size := 0
					for k := range fo {
						size += fo[k] * fi[k]
					}
					assert.Equal(t, 8*size, cpMACs(fo, fi, 1), "%s %s", arch, def.name)
				}
			}
		}
	}
	spec, err := TensorizedTNNSpec("mlp", nil, CPFormat, 32, 4)
	require.NoError(t, err)
	assert.Equal(t, TNLayerSpec{Name: "fc2", Format: CPFormat, OutModes: []int{128, 2, 2, 2}, InModes: []int{2, 2, 2, 128}, Ranks: []int{127}}, spec.Layers[1])
	spec, err = TensorizedTNNSpec("mlp", nil, CPFormat, 2, 4)
	require.NoError(t, err)
	assert.Equal(t, TNLayerSpec{Name: "fc2", Format: CPFormat, OutModes: []int{4, 8, 8, 4}, InModes: []int{4, 8, 8, 4}, Ranks: []int{4}}, spec.Layers[1],
		"r=2: one term of 128×2×2×2 ← 2×2×2×128 would have about the MPO's size")
	// A layer that cannot be split into modes of at least 2 keeps its modes.
	_, _, ok := cpFastModes(tnnLayerDef{name: "fc3", in: 1024, out: 10}, 4)
	assert.False(t, ok)
}
