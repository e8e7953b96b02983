package experiments

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
)

// TestNonFiniteStopsTraining puts a NaN or an infinity into one parameter
// before step 9 (epoch 2, batch 3, with 6 batches an epoch) and checks that
// training stops there with a *StepError naming the epoch, the batch, the
// step and the parameter (and so the layer), that the checkpoint of epoch 1
// is left byte for byte, and that resuming from it without the fault ends
// bit-identical to a run that never had one.
func TestNonFiniteStopsTraining(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Epochs, cfg.Patience = "qt4", 3, 300, 50, 2, 0

	clean := cfg
	clean.Out = filepath.Join(t.TempDir(), "clean")
	want, err := Train(context.Background(), clean, quietLogger())
	require.NoError(t, err)
	require.Equal(t, 6, want.History[0].Steps, "steps an epoch (the test assumes 6)")

	for _, tc := range []struct {
		param string
		value float32
	}{
		{"layers.2.weight", float32(math.NaN())},
		{"layers.0.weight", float32(math.Inf(1))},
		{"input.logits", float32(math.NaN())},
	} {
		t.Run(tc.param, func(t *testing.T) {
			run := cfg
			run.Out = filepath.Join(t.TempDir(), "run")
			ckpt := filepath.Join(run.Out, CheckpointFile)
			var atFault []byte
			beforeStep = func(step int, c *circuit.Circuit) {
				if step != 9 {
					return
				}
				for _, p := range c.Params() {
					if p.Name == tc.param {
						p.Float32s()[5] = tc.value
					}
				}
				var err error
				atFault, err = os.ReadFile(ckpt)
				assert.NoError(t, err, "no checkpoint before the fault")
			}
			defer func() { beforeStep = nil }()
			_, err := Train(context.Background(), run, quietLogger())
			var se *StepError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, [3]int{2, 3, 9}, [3]int{se.Epoch, se.Batch, se.Step}, "stopped at epoch, batch, step")
			msg := err.Error()
			t.Log(msg)
			for _, w := range []string{"epoch 2 batch 3 (step 9)", tc.param, "not finite", "checkpoint of epoch 1", ckpt} {
				assert.Contains(t, msg, w, "message")
			}
			assert.False(t, IsInputError(err), "a numerical failure is reported as bad input")
			after, err := os.ReadFile(ckpt)
			require.NoError(t, err)
			require.NotNil(t, atFault, "no checkpoint before the fault")
			require.True(t, bytes.Equal(after, atFault), "the checkpoint of epoch 1 changed after the fault")
			m, err := LoadModel(ckpt)
			require.NoError(t, err)
			for _, p := range m.Circuit.Params() {
				for _, v := range p.Value() {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("the kept checkpoint holds a non-finite %s", p.Name)
					}
				}
			}

			beforeStep = nil
			run.Resume = true
			got, err := Train(context.Background(), run, quietLogger())
			require.NoError(t, err)
			// Bit-identical: exact float equality, not a tolerance.
			assert.Equal(t, want.Test.LL, got.Test.LL, "resumed after the fault: test LL")
			if assert.Len(t, got.History, 2, "resumed after the fault: history") {
				assert.Equal(t, want.History[1].TrainNLL, got.History[1].TrainNLL, "resumed after the fault: epoch 2 train NLL")
			}
			a, err := nn.LoadState(ckpt)
			require.NoError(t, err)
			b, err := nn.LoadState(filepath.Join(clean.Out, CheckpointFile))
			require.NoError(t, err)
			for i := range a.Arrays {
				x, y := a.Arrays[i].F32, b.Arrays[i].F32
				assert.True(t, len(x) == len(y) && bitsEqual(x, y), "array %s differs from the run without the fault", a.Arrays[i].Name)
			}
		})
	}
}

// TestFirstStepFaultWritesNoCheckpoint: a fault before any epoch completed
// says that no checkpoint was written, and none is.
func TestFirstStepFaultWritesNoCheckpoint(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Epochs = "qt4", 3, 300, 50, 1
	cfg.Out = filepath.Join(t.TempDir(), "run")
	beforeStep = func(step int, c *circuit.Circuit) {
		if step == 1 {
			c.Params()[1].Float32s()[0] = float32(math.NaN())
		}
	}
	defer func() { beforeStep = nil }()
	_, err := Train(context.Background(), cfg, quietLogger())
	require.ErrorContains(t, err, "epoch 1 batch 1 (step 1)")
	require.ErrorContains(t, err, "no checkpoint was written")
	_, err = os.Stat(filepath.Join(cfg.Out, CheckpointFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "a checkpoint was written")
}

func bitsEqual(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
