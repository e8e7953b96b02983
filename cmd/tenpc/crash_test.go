package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenpc/tenpc/experiments"
	"github.com/tenpc/tenpc/nn"
)

// These tests run tenpc as a real process (built once into a temporary
// directory), kill it with SIGKILL, and check that -resume continues from the
// last complete checkpoint to parameters bit-identical to an uninterrupted
// run's.

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// tenpcBinary builds the tenpc binary once per test process.
func tenpcBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs tenpc processes; skipped with -short")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "tenpc-crash-test-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "tenpc")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// crashArgs is a small run: QT4-CP K=4 on 300 MNIST images per split, 6
// batches of 50 per epoch, 3 epochs, no early stopping.
func crashArgs(out string, extra ...string) []string {
	return append([]string{"train", "-rg", "qt4", "-k", "4", "-limit", "300", "-batch-size", "50", "-epochs", "3", "-patience", "0", "-out", out}, extra...)
}

// runBinary runs tenpc with args and extra environment entries, and
// returns its exit status and stderr.
func runBinary(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(tenpcBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	}
	t.Fatalf("tenpc %s: %v", strings.Join(args, " "), err)
	return 0, ""
}

// uninterrupted trains crashArgs once per test process and returns the run
// directory; the tests compare against it.
var (
	fullOnce sync.Once
	fullDir  string
	fullTook time.Duration // the uninterrupted run's wall time
)

func uninterrupted(t *testing.T) string {
	t.Helper()
	bin := binDirOf(t) // skips with -short, before the Once is spent
	fullOnce.Do(func() {
		dir, err := os.MkdirTemp(bin, "full-")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if status, stderr := runBinary(t, nil, crashArgs(filepath.Join(dir, "run"))...); status != 0 {
			t.Fatalf("uninterrupted run: status %d\n%s", status, stderr)
		}
		fullDir, fullTook = filepath.Join(dir, "run"), time.Since(start)
	})
	if fullDir == "" {
		t.Fatal("the uninterrupted run failed in an earlier test")
	}
	return fullDir
}

func binDirOf(t *testing.T) string {
	tenpcBinary(t)
	return binDir
}

// sameCheckpoint fails t unless the checkpoints in dirs a and b hold the
// same arrays bit for bit (parameters, Adam's moments and step count).
func sameCheckpoint(t *testing.T, a, b string) {
	t.Helper()
	sa, err := nn.LoadState(filepath.Join(a, experiments.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := nn.LoadState(filepath.Join(b, experiments.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(sa.Arrays) != len(sb.Arrays) || len(sa.Arrays) == 0 {
		t.Fatalf("%d arrays vs %d", len(sa.Arrays), len(sb.Arrays))
	}
	for i := range sa.Arrays {
		x, y := sa.Arrays[i], sb.Arrays[i]
		if x.Name != y.Name || !slices.Equal(x.Shape, y.Shape) || !bitsEqual32(x.F32, y.F32) || !slices.Equal(x.I64, y.I64) || !bitsEqual64(x.F64, y.F64) {
			t.Errorf("array %q differs between %s and %s", x.Name, a, b)
		}
	}
	if s := sb.Array("adam.step"); s == nil || s.I64[0] != 18 {
		t.Errorf("adam.step = %v, want 18 (3 epochs of 6 batches)", s)
	}
}

// checkpointEpoch is the number of epochs the checkpoint in dir records.
func checkpointEpoch(t *testing.T, dir string) int {
	t.Helper()
	st, err := nn.LoadState(filepath.Join(dir, experiments.CheckpointFile))
	if err != nil {
		t.Fatalf("the checkpoint left by the killed run does not load: %v", err)
	}
	var p struct {
		Epoch int `json:"epoch"`
	}
	if err := json.Unmarshal([]byte(st.Meta["progress"]), &p); err != nil {
		t.Fatal(err)
	}
	return p.Epoch
}

// tempFiles lists the temporary files in dir: a run writes no other dot
// files (internal/atomicfile names them "." + the file's name + digits).
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKillDuringCheckpointWrite kills a training process with SIGKILL while
// it has written half of epoch 2's checkpoint (through the
// TENPC_TEST_PAUSE_IN_CHECKPOINT hook), checks that the checkpoint on disk
// is still epoch 1's, byte for byte, resumes, and compares the result with
// an uninterrupted run.
func TestKillDuringCheckpointWrite(t *testing.T) {
	full := uninterrupted(t)
	dir := filepath.Join(t.TempDir(), "run")
	marker := filepath.Join(t.TempDir(), "paused")
	ckpt := filepath.Join(dir, experiments.CheckpointFile)

	cmd := exec.Command(tenpcBinary(t), crashArgs(dir)...)
	cmd.Env = append(os.Environ(), experiments.PauseInCheckpointEnv+"="+marker)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the run never paused in a checkpoint write\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	before, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the run was not killed by SIGKILL: %v", err)
	}

	// The kill left a half-written temporary file beside an intact
	// checkpoint of epoch 1.
	tmps := tempFiles(t, dir)
	if len(tmps) != 1 || !strings.Contains(filepath.Base(tmps[0]), experiments.CheckpointFile) {
		t.Fatalf("temporary files after the kill: %v, want one half-written checkpoint", tmps)
	}
	if info, err := os.Stat(tmps[0]); err != nil || info.Size() == 0 || info.Size() >= int64(len(before)) {
		t.Fatalf("the temporary checkpoint is not half-written: %v, %v (complete: %d bytes)", info, err, len(before))
	}
	after, err := os.ReadFile(ckpt)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the checkpoint changed under the killed write (err %v)", err)
	}
	if e := checkpointEpoch(t, dir); e != 1 {
		t.Fatalf("checkpoint after the kill is of epoch %d, want 1", e)
	}

	if status, stderr := runBinary(t, nil, crashArgs(dir, "-resume")...); status != 0 {
		t.Fatalf("resume: status %d\n%s", status, stderr)
	}
	if tmps := tempFiles(t, dir); len(tmps) != 0 {
		t.Errorf("the resumed run left the killed run's temporary files: %v", tmps)
	}
	sameCheckpoint(t, full, dir)
	ra, rb := readResult(t, full), readResult(t, dir)
	if ra.Test.LL != rb.Test.LL || len(rb.History) != 3 {
		t.Errorf("test LL %v vs %v; resumed history has %d epochs, want 3", ra.Test.LL, rb.Test.LL, len(rb.History))
	}
	metrics, err := os.ReadFile(filepath.Join(dir, experiments.MetricsFile))
	if err != nil || strings.Count(string(metrics), "\n") != 3 {
		t.Errorf("metrics.jsonl after the resume: %d lines (err %v), want 3", strings.Count(string(metrics), "\n"), err)
	}
}

// TestKillAtRandomMoments kills a training process with SIGKILL after
// random delays (seeded) and restarts it (-resume once a checkpoint
// exists, -force before), until a run completes; every checkpoint a kill
// leaves must load, and the end result must equal the uninterrupted run's.
func TestKillAtRandomMoments(t *testing.T) {
	full := uninterrupted(t)
	rng := rand.New(rand.NewPCG(7, 7))
	// A machine that got faster since the uninterrupted run was timed can
	// finish an early attempt before its kill: then the whole sequence
	// starts again in a new folder with delays half as long.
	for scale := 1.0; scale > 1.0/16; scale /= 2 {
		dir := filepath.Join(t.TempDir(), "run")
		kills := killUntilDone(t, dir, rng, scale)
		if kills < 2 {
			t.Logf("only %d runs were killed at delay scale %v; again with shorter delays", kills, scale)
			continue
		}
		sameCheckpoint(t, full, dir)
		if ra, rb := readResult(t, full), readResult(t, dir); ra.Test.LL != rb.Test.LL {
			t.Errorf("test LL %v after %d kills, %v uninterrupted", rb.Test.LL, kills, ra.Test.LL)
		}
		return
	}
	t.Fatal("fewer than 2 runs were killed even with delays scaled to 1/8 of the uninterrupted run's time")
}

// killUntilDone runs the crash test's training in dir, killing it after
// random delays (scale times 10–90% of the uninterrupted run's wall time)
// and restarting it, until a run completes; it returns how many were
// killed.
func killUntilDone(t *testing.T, dir string, rng *rand.Rand, scale float64) int {
	t.Helper()
	kills := 0
	for attempt := 0; ; attempt++ {
		if attempt > 16 {
			t.Fatalf("no run completed after %d kills", kills)
		}
		args := crashArgs(dir)
		switch {
		case fileExists(filepath.Join(dir, experiments.CheckpointFile)):
			args = append(args, "-resume")
		case fileExists(dir):
			args = append(args, "-force")
		}
		// Early attempts die after scale × 10–90% of the uninterrupted run's wall
		// time (data loading included), so on any machine they are killed
		// in loading, in an epoch or in a checkpoint write; from the eighth
		// on the process is left to finish.
		limit := time.Hour
		if attempt < 8 {
			limit = time.Duration(scale * float64(fullTook) * (0.1 + 0.8*rng.Float64()))
		}
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		cmd := exec.CommandContext(ctx, tenpcBinary(t), args...)
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		if err == nil || (cmd.ProcessState != nil && cmd.ProcessState.Success()) {
			// Completed: a deadline that fired as the process exited makes
			// Run return the context's error for a run that finished.
			break
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("attempt %d (%s): %v\n%s", attempt, strings.Join(args, " "), err, stderr.String())
		}
		kills++
		if fileExists(filepath.Join(dir, experiments.CheckpointFile)) {
			e := checkpointEpoch(t, dir)
			t.Logf("attempt %d killed after %v; checkpoint of epoch %d", attempt, limit, e)
		} else {
			t.Logf("attempt %d killed after %v; no checkpoint yet", attempt, limit)
		}
	}
	return kills
}

// TestGOMAXPROCSDoesNotChangeTraining trains with GOMAXPROCS=1 and 3 (the
// kernels' default worker count follows it) and compares with the
// uninterrupted run under the default.
func TestGOMAXPROCSDoesNotChangeTraining(t *testing.T) {
	full := uninterrupted(t)
	for _, procs := range []string{"1", "3"} {
		dir := filepath.Join(t.TempDir(), "run")
		if status, stderr := runBinary(t, []string{"GOMAXPROCS=" + procs}, crashArgs(dir)...); status != 0 {
			t.Fatalf("GOMAXPROCS=%s: status %d\n%s", procs, status, stderr)
		}
		sameCheckpoint(t, full, dir)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
