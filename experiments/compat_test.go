package experiments

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenpc/tenpc/circuit"
)

// The files in testdata/v1 were written by tenpc at commit 06e6cdd (model
// format version 1), before circuit layers became modules, with
//
//	tenpc train -dataset debd:testdata/debd/nltcs-small -rg rbt:2 -k 3 -epochs 1 -patience 0 -batch-size 100
//	tenpc train -dataset debd:testdata/debd/nltcs-small -rg rbt:2 -layer cp-r -rank 2 -k 3 -epochs 1 -patience 0 -batch-size 100
//
// (the first one's checkpoint, the second one's model). The same command
// with -epochs 2 ended with test LL -10.0816530047295. These tests hold
// today's code to them: parameter names and shapes, optimizer state names
// and the numbers computed from them must not change.
const v1NLTCS = "debd:../testdata/debd/nltcs-small"

// TestV1ModelEvaluates loads a CP-R model file of format version 1 and
// reproduces the test log-likelihood its training run reported.
func TestV1ModelEvaluates(t *testing.T) {
	path := filepath.Join("testdata", "v1", "cpr-rbt2.model.tenpc")
	m, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Circuit.Options().Layer != circuit.CPR {
		t.Fatalf("layer %v, want cp-r", m.Circuit.Options().Layer)
	}
	res, err := Evaluate(EvalConfig{Model: path, Dataset: v1NLTCS})
	if err != nil {
		t.Fatal(err)
	}
	if want := -11.130101791002478; res.LL != want {
		t.Errorf("test LL %.17g, want %.17g (the training run's)", res.LL, want)
	}
}

// TestV1CheckpointResumes resumes a version-1 checkpoint written after
// epoch 1 of 2 and checks that the run ends as the uninterrupted 2-epoch
// run of that version did, bit for bit: the parameters and Adam's state
// were found under their old names.
func TestV1CheckpointResumes(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "v1", "cp-rbt2-epoch1.checkpoint.tenpc"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultTrainConfig()
	cfg.Dataset, cfg.RG, cfg.Units, cfg.Epochs, cfg.Patience, cfg.BatchSize = v1NLTCS, "rbt:2", 3, 2, 0, 100
	cfg.Out, cfg.Resume = t.TempDir(), true
	if err := os.WriteFile(filepath.Join(cfg.Out, CheckpointFile), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(cfg.Out, ConfigFile), cfg); err != nil {
		t.Fatal(err)
	}
	res, err := Train(context.Background(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs != 2 {
		t.Errorf("%d epochs, want 2", res.Epochs)
	}
	if want := -10.0816530047295; res.Test.LL != want {
		t.Errorf("test LL %.17g, want %.17g (the uninterrupted run's)", res.Test.LL, want)
	}
}
