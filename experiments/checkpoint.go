package experiments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/internal/atomicfile"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
)

// Crash safety. Every file of a run directory is written through
// internal/atomicfile: to a temporary file in the same directory (named
// "." + the file's name + random digits), synced, and renamed over the
// file, so a process killed at any moment leaves either the old file or
// the new one, never a mix; the rename is the commit point. A resumed (or
// forced) run removes the temporary files a killed process left. metrics.jsonl is rewritten from the checkpoint's
// history when a run starts, so a run killed between its checkpoint and its
// metrics line stays consistent.

// saveCheckpoint writes the parameters, the optimizer's state and the
// progress to path atomically.
func saveCheckpoint(path string, m *Model, opt optim.Optimizer, p progress) error {
	m.Kind = "checkpoint"
	meta, err := m.meta()
	if err != nil {
		return err
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return err
	}
	meta["progress"] = string(pj)
	st := nn.ModuleState(m.Circuit, meta)
	st.Arrays = append(st.Arrays, opt.State()...)
	var b bytes.Buffer
	if err := nn.WriteState(&b, st); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// PauseInCheckpointEnv names the crash-safety tests' hook: when the
// environment variable is set to a file name, the writer of a checkpoint
// that replaces an earlier one writes half of the new checkpoint's
// temporary file, creates that file, and sleeps until the process is
// killed. It lets a test kill a training process in the middle of a
// checkpoint write; unset (always, outside those tests), it does nothing.
const PauseInCheckpointEnv = "TENPC_TEST_PAUSE_IN_CHECKPOINT"

// writeFileAtomic writes b to path atomically (see internal/atomicfile),
// so path never holds a half-written file, even if the process is killed.
func writeFileAtomic(path string, b []byte) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		if marker := os.Getenv(PauseInCheckpointEnv); marker != "" && filepath.Base(path) == CheckpointFile && exists(path) {
			pauseMidWrite(w, b, marker)
		}
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// pauseMidWrite is PauseInCheckpointEnv's hook: half of b into w (the
// temporary file, unbuffered), then the marker file, then sleep until
// killed.
func pauseMidWrite(w io.Writer, b []byte, marker string) {
	_, _ = w.Write(b[:len(b)/2])
	_ = os.WriteFile(marker, nil, 0o644)
	for {
		time.Sleep(time.Hour)
	}
}

// removeTempFiles removes the temporary files that a process killed while
// writing one of the run's files left in dir.
func removeTempFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read output directory: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		for _, f := range runFiles {
			if atomicfile.IsTemp(n, f) {
				if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("remove a killed run's temporary file: %w", err)
				}
			}
		}
	}
	return nil
}

// beforeStep, when set (only by tests), runs before every training step
// with the step's number (counted over the whole run, from 1) and the
// circuit; the tests inject numerical faults through it.
var beforeStep func(step int, c *circuit.Circuit)

// stepError explains a training step that failed: where (epoch, batch and
// step), what (a non-finite loss or gradient, naming the parameter and so
// the layer), and which checkpoint is left. Training stops there; the
// checkpoint of the last completed epoch is not touched.
func stepError(err error, c *circuit.Circuit, epoch, batch, step, lastEpoch int, ckpt string) error {
	var nf *nn.NonFiniteError
	what := err.Error()
	if !errors.As(err, &nf) {
		// A non-finite loss with finite gradients so far: name the first
		// parameter that is no longer finite, if one is.
		if name, i, ok := nonFiniteParam(c); ok {
			what = fmt.Sprintf("%v (parameter %s is not finite at element %d)", err, name, i)
		}
	}
	kept := fmt.Sprintf("the checkpoint of epoch %d (%s) is kept", lastEpoch, ckpt)
	if lastEpoch == 0 {
		kept = "no checkpoint was written"
	}
	return &StepError{Epoch: epoch, Batch: batch, Step: step, Err: err,
		msg: fmt.Sprintf("training stopped at epoch %d batch %d (step %d): %s; %s", epoch, batch, step, what, kept)}
}

// StepError is a training step that failed (a NaN or infinite loss or
// gradient): the epoch, the batch in it and the step over the whole run.
// Err is the cause, an *nn.NonFiniteError naming the parameter when a
// gradient was not finite.
type StepError struct {
	Epoch, Batch, Step int
	Err                error
	msg                string
}

func (e *StepError) Error() string { return e.msg }
func (e *StepError) Unwrap() error { return e.Err }

// nonFiniteParam finds the first parameter of c holding a NaN or ±Inf.
func nonFiniteParam(c *circuit.Circuit) (name string, index int, ok bool) {
	for _, p := range c.Params() {
		for i, v := range p.Value() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return p.Name, i, true
			}
		}
	}
	return "", 0, false
}
