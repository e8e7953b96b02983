package experiments

import (
	"context"
	"errors"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/nn"
)

// cancelAfterEpoch is a logrus hook that cancels a context once the given
// epoch has been logged (after its checkpoint is written).
type cancelAfterEpoch struct {
	epoch  int
	cancel context.CancelFunc
}

func (h *cancelAfterEpoch) Levels() []logrus.Level { return []logrus.Level{logrus.InfoLevel} }
func (h *cancelAfterEpoch) Fire(e *logrus.Entry) error {
	if e.Message == "epoch" && e.Data["epoch"] == h.epoch {
		h.cancel()
	}
	return nil
}

func quietLogger() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return log
}

// TestInterruptedRunResumes cancels a run in the middle of epoch 2 (as
// Ctrl-C does), resumes it, and checks that it ends bit-identical to an
// uninterrupted run.
func TestInterruptedRunResumes(t *testing.T) {
	base := t.TempDir()
	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Epochs = "qt4", 3, 300, 64, 3

	full := cfg
	full.Out = filepath.Join(base, "full")
	want, err := Train(context.Background(), full, quietLogger())
	if err != nil {
		t.Fatal(err)
	}

	stopped := cfg
	stopped.Out = filepath.Join(base, "stopped")
	ctx, cancel := context.WithCancel(context.Background())
	log := quietLogger()
	log.AddHook(&cancelAfterEpoch{epoch: 1, cancel: cancel})
	if _, err := Train(ctx, stopped, log); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: error %v, want context.Canceled", err)
	}
	stopped.Resume = true
	got, err := Train(context.Background(), stopped, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if got.Test.LL != want.Test.LL || got.BestEpoch != want.BestEpoch || len(got.History) != 3 {
		t.Errorf("resumed: test LL %v, best epoch %d, %d epochs; uninterrupted: %v, %d", got.Test.LL, got.BestEpoch, len(got.History), want.Test.LL, want.BestEpoch)
	}
	a, _ := nn.LoadState(filepath.Join(full.Out, CheckpointFile))
	b, _ := nn.LoadState(filepath.Join(stopped.Out, CheckpointFile))
	for i := range a.Arrays {
		x, y := a.Arrays[i].F32, b.Arrays[i].F32
		for j := range x {
			if math.Float32bits(x[j]) != math.Float32bits(y[j]) {
				t.Fatalf("array %s element %d: %v vs %v", a.Arrays[i].Name, j, x[j], y[j])
			}
		}
	}
}

// TestEarlyStoppingKeepsBest trains on 100 images with a large learning
// rate, so that the validation likelihood gets worse, and checks that training stops after
// Patience epochs without improvement and keeps the best epoch's model.
func TestEarlyStoppingKeepsBest(t *testing.T) {
	cfg := DefaultTrainConfig()
	// With lr 0.3 this run stops after epoch 6, its best being epoch 4.
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Epochs, cfg.Patience, cfg.LR = "qt4", 4, 100, 25, 30, 2, 0.3
	cfg.Out = t.TempDir()
	res, err := Train(context.Background(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	best := 0
	for _, h := range res.History {
		if best == 0 || h.ValidNLL < res.History[best-1].ValidNLL {
			best = h.Epoch
		}
	}
	if res.BestEpoch != best {
		t.Errorf("best epoch %d, but the lowest validation NLL is in epoch %d", res.BestEpoch, best)
	}
	if res.Epochs == cfg.Epochs || res.Epochs != best+cfg.Patience || !strings.HasPrefix(res.Stopped, "early stopping") {
		t.Errorf("stopped after %d epochs, best %d, patience %d (%s)", res.Epochs, best, cfg.Patience, res.Stopped)
	}
	if res.Valid == nil || res.Valid.LL != -res.History[best-1].ValidNLL {
		t.Errorf("the final model's validation LL %v is not the best epoch's %v", res.Valid, -res.History[best-1].ValidNLL)
	}
}

// -optimizer em trains through circuit.EM: the validation NLL falls over
// the epochs and the saved model is normalized (log Z = 0).
func TestTrainEM(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Epochs, cfg.Optimizer, cfg.LR = "qt4", 4, 500, 50, 3, EM, 0.1
	cfg.Out = t.TempDir()
	res, err := Train(context.Background(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	h := res.History
	if len(h) != 3 || !(h[2].ValidNLL < h[0].ValidNLL) {
		t.Fatalf("EM did not lower the validation NLL: %+v", h)
	}
	z, err := func() ([]float64, error) {
		m, err := LoadModel(res.Model)
		if err != nil {
			return nil, err
		}
		p, err := m.Circuit.Compile(1, false)
		if err != nil {
			return nil, err
		}
		return p.LogPartition()
	}()
	if err != nil || math.Abs(z[0]) > 1e-3 {
		t.Errorf("log Z after EM = %v (%v), want 0: EM keeps the circuit normalized", z, err)
	}
}

// -valid-fraction 0 disables validation and early stopping: every epoch is
// kept as the best, the run finishes with its files, and it resumes.
func TestTrainWithoutValidation(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Epochs, cfg.Patience = "qt4", 3, 200, 50, 2, 1
	cfg.ValidFraction = 0
	cfg.Out = t.TempDir()
	res, err := Train(context.Background(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs != 2 || res.BestEpoch != 2 || res.Valid != nil || len(res.History) != 2 {
		t.Errorf("epochs %d, best %d, valid %v, history %+v: want 2 epochs, the last the best, no validation", res.Epochs, res.BestEpoch, res.Valid, res.History)
	}
	for _, f := range []string{ModelFile, CheckpointFile, MetricsFile, CurveFile, ResultFile} {
		if !exists(filepath.Join(cfg.Out, f)) {
			t.Errorf("%s was not written", f)
		}
	}
	cfg.Epochs, cfg.Resume = 3, true
	res, err = Train(context.Background(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs != 3 || res.BestEpoch != 3 {
		t.Errorf("resumed: epochs %d, best %d, want 3 and 3", res.Epochs, res.BestEpoch)
	}
}
