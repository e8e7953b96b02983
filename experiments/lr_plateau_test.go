package experiments

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
)

// The rate decays after every LRPatience epochs in a row without a better
// validation score; a better epoch or a decay restarts the count.
func TestPlateauLR(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.LR, cfg.LRDecay, cfg.LRPatience = 0.08, 0.5, 2
	best := []bool{true, false, false, false, true, false, false, false, false, false}
	want := []float64{0.08, 0.08, 0.08, 0.04, 0.04, 0.04, 0.04, 0.02, 0.02, 0.01, 0.01}
	var h []EpochMetrics
	for i, b := range best {
		assert.InDelta(t, want[i], PlateauLR(cfg, h), 1e-15, "before epoch %d", i+1)
		h = append(h, EpochMetrics{Epoch: i + 1, Best: b})
	}
	assert.InDelta(t, want[len(best)], PlateauLR(cfg, h), 1e-15, "after the last epoch")
	cfg.LRDecay = 0
	assert.Equal(t, 0.08, PlateauLR(cfg, h), "no decay")
}

// A run whose rate decays records each epoch's rate, and resumed from its
// checkpoint it goes on at the rate it had, ending as the uninterrupted
// run ends.
func TestTrainLRDecayResumes(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.Dataset = "debd:" + filepath.Join("..", "testdata", "debd", "nltcs-small")
	cfg.RG, cfg.Layer, cfg.Units, cfg.Input = "cl", circuit.CPR, 4, circuit.Bernoulli
	cfg.LR, cfg.LRDecay, cfg.LRPatience, cfg.BatchSize, cfg.Patience, cfg.Epochs = 0.5, 0.5, 1, 100, 0, 6
	cfg.Out = filepath.Join(t.TempDir(), "full")
	full, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	decayed := false
	for i, m := range full.History {
		assert.Equal(t, PlateauLR(cfg, full.History[:i]), m.LR, "epoch %d", m.Epoch)
		decayed = decayed || m.LR < cfg.LR
	}
	require.True(t, decayed, "no epoch without improvement at lr 0.5: the test checks nothing")

	split := cfg
	split.Out, split.Epochs = filepath.Join(t.TempDir(), "split"), 4
	_, err = Train(context.Background(), split, quietLogger())
	require.NoError(t, err)
	split.Epochs, split.Resume = 6, true
	got, err := Train(context.Background(), split, quietLogger())
	require.NoError(t, err)
	assert.Equal(t, full.Test.LL, got.Test.LL)
	assert.Equal(t, full.History[5].LR, got.History[5].LR)
}
