package experiments

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/nn"
)

// smallClassifier is a 784-32-10 MLP drawn from seed.
func smallClassifier(seed uint64) Classifier {
	rng := rand.New(rand.NewPCG(seed, 0))
	net := nn.NewSequential(nn.Func(nn.Flatten), nn.NewLinear(784, 32, nn.Float32, true, rng), nn.Func(nn.ReLU), nn.NewLinear(32, 10, nn.Float32, true, rng))
	return Classifier{Net: net, InShape: []int{1, 28, 28}, DType: nn.Float32, Meta: map[string]string{"arch": "test 784-32-10"}}
}

func smallData(t *testing.T) ImageData {
	t.Helper()
	d, err := LoadImageData("mnist", "", 512, 200)
	require.NoError(t, err)
	return d
}

// A run keeps its directory's files; a run stopped after epoch 1 and
// resumed ends bit-identical to an uninterrupted one.
func TestTrainClassifierResumesBitIdentical(t *testing.T) {
	d := smallData(t)
	cfg := ClassifierConfig{Epochs: 2, Batch: 64, Seed: 3}
	full := smallClassifier(1)
	cfg.Out = filepath.Join(t.TempDir(), "full")
	want, err := TrainClassifier(context.Background(), cfg, full, d, quietLogger())
	require.NoError(t, err)
	for _, f := range []string{ConfigFile, MetricsFile, CheckpointFile, ModelFile, CurveFile, ResultFile} {
		assert.FileExists(t, filepath.Join(cfg.Out, f))
	}
	metrics, err := os.ReadFile(filepath.Join(cfg.Out, MetricsFile))
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(metrics), "\n"), "one metrics line per epoch")
	var onDisk ClassifierResult
	require.NoError(t, readJSON(filepath.Join(cfg.Out, ResultFile), &onDisk))
	assert.Equal(t, want.TestAccuracy, onDisk.TestAccuracy)

	half := smallClassifier(1)
	cfg.Out, cfg.Epochs = filepath.Join(t.TempDir(), "half"), 1
	_, err = TrainClassifier(context.Background(), cfg, half, d, quietLogger())
	require.NoError(t, err)
	cfg.Epochs = 2
	_, err = TrainClassifier(context.Background(), cfg, half, d, quietLogger())
	assert.True(t, IsInputError(err), "a second run into the directory without -resume: %v", err)
	cfg.Resume = true
	other := cfg
	other.LR = 0.01
	_, err = TrainClassifier(context.Background(), other, smallClassifier(1), d, quietLogger())
	assert.True(t, IsInputError(err), "resuming with another learning rate: %v", err)
	resumed := smallClassifier(99) // the checkpoint overrides the initialisation
	got, err := TrainClassifier(context.Background(), cfg, resumed, d, quietLogger())
	require.NoError(t, err)
	require.Len(t, got.History, 2)
	for i := range got.History {
		assert.Equal(t, want.History[i].Loss, got.History[i].Loss, "epoch %d loss", i+1)
		assert.Equal(t, want.History[i].TestAccuracy, got.History[i].TestAccuracy, "epoch %d accuracy", i+1)
	}
	a, b := nn.Params(full.Net), nn.Params(resumed.Net)
	for i := range a {
		assert.Equal(t, a[i].Float32s(), b[i].Float32s(), "parameter %d", i)
	}
	// The model file holds the final parameters.
	st, err := nn.LoadState(filepath.Join(cfg.Out, ModelFile))
	require.NoError(t, err)
	fresh := smallClassifier(5)
	require.NoError(t, nn.LoadModuleState(fresh.Net, st))
	assert.Equal(t, b[0].Float32s(), nn.Params(fresh.Net)[0].Float32s())
	assert.Equal(t, ClassifierModelFormat, st.Meta["format"])
}

func TestTrainClassifierBadInput(t *testing.T) {
	d := smallData(t)
	for _, cfg := range []ClassifierConfig{
		{Epochs: -1},
		{Batch: -1},
		{LR: -1},
		{Batch: 1024}, // more than the 512 images
		{Resume: true},
		{Out: "x", Resume: true, Force: true},
	} {
		_, err := TrainClassifier(context.Background(), cfg, smallClassifier(1), d, quietLogger())
		assert.True(t, IsInputError(err), "%+v: %v", cfg, err)
	}
}

func TestTrainClassifierStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := TrainClassifier(ctx, ClassifierConfig{}, smallClassifier(1), smallData(t), quietLogger())
	assert.True(t, errors.Is(err, context.Canceled), "err = %v", err)
}

func TestLoadImageDataBadName(t *testing.T) {
	_, err := LoadImageData("cifar", "", 0, 0)
	assert.True(t, IsInputError(err))
	assert.Contains(t, err.Error(), "want mnist or fashion-mnist")
}
