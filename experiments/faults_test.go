package experiments

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if err != nil {
		t.Fatal(err)
	}
	if want.History[0].Steps != 6 {
		t.Fatalf("%d steps an epoch, the test assumes 6", want.History[0].Steps)
	}

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
					if p.Name() == tc.param {
						p.Float32s()[5] = tc.value
					}
				}
				var err error
				if atFault, err = os.ReadFile(ckpt); err != nil {
					t.Errorf("no checkpoint before the fault: %v", err)
				}
			}
			defer func() { beforeStep = nil }()
			_, err := Train(context.Background(), run, quietLogger())
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *StepError", err)
			}
			if se.Epoch != 2 || se.Batch != 3 || se.Step != 9 {
				t.Errorf("stopped at epoch %d batch %d step %d, want 2, 3, 9", se.Epoch, se.Batch, se.Step)
			}
			msg := err.Error()
			t.Log(msg)
			for _, w := range []string{"epoch 2 batch 3 (step 9)", tc.param, "not finite", "checkpoint of epoch 1", ckpt} {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if IsInputError(err) {
				t.Error("a numerical failure is reported as bad input")
			}
			after, err := os.ReadFile(ckpt)
			if err != nil || atFault == nil || !bytes.Equal(after, atFault) {
				t.Fatalf("the checkpoint of epoch 1 changed after the fault (err %v)", err)
			}
			m, err := LoadModel(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Circuit.Params() {
				for _, v := range p.Value() {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("the kept checkpoint holds a non-finite %s", p.Name())
					}
				}
			}

			beforeStep = nil
			run.Resume = true
			got, err := Train(context.Background(), run, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			if got.Test.LL != want.Test.LL || len(got.History) != 2 || got.History[1].TrainNLL != want.History[1].TrainNLL {
				t.Errorf("resumed after the fault: test LL %v, want %v (history %+v)", got.Test.LL, want.Test.LL, got.History)
			}
			a, errA := nn.LoadState(ckpt)
			b, errB := nn.LoadState(filepath.Join(clean.Out, CheckpointFile))
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			for i := range a.Arrays {
				if x, y := a.Arrays[i].F32, b.Arrays[i].F32; len(x) != len(y) || !bitsEqual(x, y) {
					t.Errorf("array %s differs from the run without the fault", a.Arrays[i].Name)
				}
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
	if err == nil || !strings.Contains(err.Error(), "epoch 1 batch 1 (step 1)") || !strings.Contains(err.Error(), "no checkpoint was written") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, CheckpointFile)); err == nil {
		t.Error("a checkpoint was written")
	}
}

func bitsEqual(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
