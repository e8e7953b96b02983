package experiments

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
)

// fakeStepTime makes every training step take d on Train's clock (and
// nothing else take any time) until the returned function restores it.
func fakeStepTime(d time.Duration) (restore func()) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock = func() time.Time { return now }
	beforeStep = func(int, *circuit.Circuit) { now = now.Add(d) }
	return func() { clock, beforeStep = time.Now, nil }
}

// budgetConfig is a run of 5 steps an epoch (300 samples, batch 64) that
// never stops early.
func budgetConfig(t *testing.T, budget time.Duration, epochs int) TrainConfig {
	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Patience = "qt4", 3, 300, 64, 0
	cfg.Epochs, cfg.TimeBudget = epochs, budget
	cfg.Out = filepath.Join(t.TempDir(), "run")
	return cfg
}

// TestTimeBudget checks the budget on a clock where every step takes 10 s
// (an epoch 50 s): no epoch starts that would end past the budget, an epoch
// longer than the budget ends at it, and a resumed run counts the time of
// the earlier processes' epochs.
func TestTimeBudget(t *testing.T) {
	defer fakeStepTime(10 * time.Second)()
	ctx := context.Background()

	// 120 s: after 2 epochs (100 s) a third would end at 150 s.
	cfg := budgetConfig(t, 120*time.Second, 100)
	want, err := Train(ctx, cfg, quietLogger())
	require.NoError(t, err)
	require.Equal(t, 5, want.History[0].Steps, "steps an epoch (the test assumes 5)")
	assert.Len(t, want.History, 2)
	assert.Equal(t, 50.0, want.History[1].Seconds)
	assert.Equal(t, "time budget 2m0s: no time for another epoch", want.Stopped)

	// The same budget over two processes: the first stops after one epoch
	// (its epoch count), the resumed one has 70 s left, one more epoch.
	split := budgetConfig(t, 120*time.Second, 1)
	_, err = Train(ctx, split, quietLogger())
	require.NoError(t, err)
	split.Epochs, split.Resume = 100, true
	got, err := Train(ctx, split, quietLogger())
	require.NoError(t, err)
	assert.Len(t, got.History, 2, "the resumed run restarted its budget from zero")
	assert.Equal(t, want.Stopped, got.Stopped)
	assert.Equal(t, want.Test.LL, got.Test.LL, "resumed run differs from the uninterrupted one")

	// Resumed again with the same budget, it trains no further; with more
	// budget it goes on.
	again, err := Train(ctx, split, quietLogger())
	require.NoError(t, err)
	assert.Len(t, again.History, 2)
	split.TimeBudget = 200 * time.Second
	more, err := Train(ctx, split, quietLogger())
	require.NoError(t, err)
	assert.Len(t, more.History, 4, "200 s: epochs end at 150 s and 200 s")

	// 25 s: the first epoch is cut before its fourth batch (30 s ≥ 25 s).
	cut := budgetConfig(t, 25*time.Second, 100)
	res, err := Train(ctx, cut, quietLogger())
	require.NoError(t, err)
	require.Len(t, res.History, 1)
	assert.Equal(t, 3, res.History[0].Steps)
	assert.Equal(t, 30.0, res.History[0].Seconds)
	assert.Equal(t, "time budget 25s: ended during epoch 1, after 3 of 5 batches", res.Stopped)
}
