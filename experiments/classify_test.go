package experiments

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// fakeClassifierSteps makes every training step of TrainClassifier take d
// on its clock (and nothing else take any time) until the returned
// function restores it.
func fakeClassifierSteps(d time.Duration) (restore func()) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock = func() time.Time { return now }
	beforeClassifierStep = func() { now = now.Add(d) }
	return func() { clock, beforeClassifierStep = time.Now, nil }
}

// TestClassifierTimeBudget checks the budget on a clock where every step
// takes 10 s (an epoch of 8 batches 80 s): no epoch starts that would end
// past the budget, an epoch longer than the budget ends at it, a resumed
// run counts the earlier processes' epochs, and a recipe step stopped by
// its budget goes on when given more.
func TestClassifierTimeBudget(t *testing.T) {
	defer fakeClassifierSteps(10 * time.Second)()
	ctx := context.Background()
	d := smallData(t)
	cfg := func(budget time.Duration, epochs int) ClassifierConfig {
		return ClassifierConfig{Out: filepath.Join(t.TempDir(), "run"), Epochs: epochs, Batch: 64, Seed: 3, TimeBudget: budget}
	}

	// 200 s: after 2 epochs (160 s) a third would end at 240 s.
	want, err := TrainClassifier(ctx, cfg(200*time.Second, 100), smallClassifier(1), d, quietLogger())
	require.NoError(t, err)
	require.Len(t, want.History, 2)
	assert.Equal(t, 8, want.History[1].Steps)
	assert.Equal(t, 80.0, want.History[1].Seconds)
	assert.True(t, want.TimeUp)
	assert.Equal(t, "time budget 3m20s: no time for another epoch", want.Stopped)

	// The same budget over two processes: the first stops after its one
	// epoch, the resumed one has 120 s left, one more epoch.
	split := cfg(200*time.Second, 1)
	first, err := TrainClassifier(ctx, split, smallClassifier(1), d, quietLogger())
	require.NoError(t, err)
	assert.False(t, first.TimeUp)
	assert.Equal(t, "epochs done: 1", first.Stopped)
	split.Epochs, split.Resume = 100, true
	got, err := TrainClassifier(ctx, split, smallClassifier(1), d, quietLogger())
	require.NoError(t, err)
	require.Len(t, got.History, 2, "the resumed run restarted its budget from zero")
	assert.Equal(t, want.Stopped, got.Stopped)
	assert.Equal(t, want.History[1].Loss, got.History[1].Loss, "resumed run differs from the uninterrupted one")

	// Resumed again with the same budget it trains no further; with 400 s
	// epochs end at 240, 320 and 400 s.
	again, err := TrainClassifier(ctx, split, smallClassifier(1), d, quietLogger())
	require.NoError(t, err)
	assert.Len(t, again.History, 2)
	split.TimeBudget = 400 * time.Second
	more, err := TrainClassifier(ctx, split, smallClassifier(1), d, quietLogger())
	require.NoError(t, err)
	assert.Len(t, more.History, 5)
	var onDisk ClassifierResult
	require.NoError(t, readJSON(filepath.Join(split.Out, ResultFile), &onDisk))
	assert.True(t, onDisk.TimeUp)
	assert.Equal(t, more.Stopped, onDisk.Stopped)

	// 25 s: the first epoch is cut before its fourth batch (30 s ≥ 25 s).
	cut := cfg(25*time.Second, 100)
	res, err := TrainClassifier(ctx, cut, smallClassifier(1), d, quietLogger())
	require.NoError(t, err)
	require.Len(t, res.History, 1)
	assert.Equal(t, 3, res.History[0].Steps)
	assert.Equal(t, 30.0, res.History[0].Seconds)
	assert.Equal(t, "time budget 25s: ended during epoch 1, after 3 of 8 batches", res.Stopped)

	// As a recipe step (cut.Out finished, 30 s spent): the same budget
	// reports the run, a smaller one is refused, a larger one goes on.
	step := cut
	same, err := classifierOrResume(ctx, step, smallClassifier(1), d, false, quietLogger())
	require.NoError(t, err)
	assert.Equal(t, res.History, same.History)
	step.TimeBudget = 20 * time.Second
	_, err = classifierOrResume(ctx, step, smallClassifier(1), d, false, quietLogger())
	assert.True(t, IsInputError(err), "a smaller budget: %v", err)
	step.TimeBudget = 120 * time.Second
	longer, err := classifierOrResume(ctx, step, smallClassifier(1), d, false, quietLogger())
	require.NoError(t, err)
	require.Len(t, longer.History, 2, "30 s spent, an epoch of 80 s fits in 120 s")
	assert.Equal(t, 8, longer.History[1].Steps)
	assert.True(t, longer.TimeUp)

	_, err = TrainClassifier(ctx, cfg(-time.Second, 1), smallClassifier(1), d, quietLogger())
	assert.True(t, IsInputError(err), "a negative budget: %v", err)
}

// Before a run's first evaluation, its time is predicted from one batch:
// on a clock that advances 1 s a reading, 200 images in batches of 64 are
// four batches of 1 s.
func TestClassifierEvalDuration(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock = func() time.Time { now = now.Add(time.Second); return now }
	defer func() { clock = time.Now }()
	d := smallData(t)
	m := smallClassifier(1)
	ev := newClassifierEval(m.Net, m.InShape, m.DType, 64, d.Mean, d.Std)
	got, err := ev.duration(d.Test)
	require.NoError(t, err)
	assert.Equal(t, 4*time.Second, got)
	acc, err := ev.accuracy(d.Test)
	require.NoError(t, err)
	assert.InDelta(t, 0.1, acc, 0.1, "an untrained network's accuracy")
}

// A recipe step cancelled in its first epoch (config.json written, no
// checkpoint) starts over when run again; one cancelled later resumes.
func TestClassifierStepInterruptedInFirstEpoch(t *testing.T) {
	d := smallData(t)
	cfg := ClassifierConfig{Out: filepath.Join(t.TempDir(), "step"), Epochs: 2, Batch: 64, Seed: 3}
	ctx, cancel := context.WithCancel(context.Background())
	beforeClassifierStep = cancel
	_, err := classifierOrResume(ctx, cfg, smallClassifier(1), d, false, quietLogger())
	beforeClassifierStep = nil
	require.ErrorIs(t, err, context.Canceled)
	assert.FileExists(t, filepath.Join(cfg.Out, ConfigFile))
	assert.NoFileExists(t, filepath.Join(cfg.Out, CheckpointFile))

	got, err := classifierOrResume(context.Background(), cfg, smallClassifier(1), d, false, quietLogger())
	require.NoError(t, err)
	want, err := TrainClassifier(context.Background(), ClassifierConfig{Epochs: 2, Batch: 64, Seed: 3}, smallClassifier(1), d, quietLogger())
	require.NoError(t, err)
	require.Len(t, got.History, 2)
	assert.Equal(t, want.History[1].Loss, got.History[1].Loss, "the restarted step differs from an uninterrupted run")
}
