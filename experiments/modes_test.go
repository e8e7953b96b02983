//go:build unix

package experiments

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// Every file of a run directory (model, checkpoint, config, metrics, curve,
// samples, result) is created as os.WriteFile(path, b, 0o644) creates a
// file: mode 0644 less the umask. The test sets the umask to 022 (so the
// mode is 0644) and compares with os.WriteFile in the same directory.
func TestRunFilesMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	cfg := DefaultTrainConfig()
	cfg.RG, cfg.Units, cfg.Limit, cfg.BatchSize, cfg.Epochs = "qt4", 2, 100, 50, 2
	cfg.Out = t.TempDir()
	if _, err := Train(context.Background(), cfg, quietLogger()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, f := range []string{ConfigFile, MetricsFile, CheckpointFile, ModelFile, CurveFile, SamplesFile, ResultFile} {
		if !slices.Contains(names, f) {
			t.Errorf("the run wrote no %s (files: %v)", f, names)
		}
	}

	ref := filepath.Join(cfg.Out, "reference")
	if err := os.WriteFile(ref, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want := fileInfo(t, ref).Mode()
	if want != 0o644 {
		t.Fatalf("os.WriteFile(0o644) under umask 022 made mode %v", want)
	}
	for _, n := range names {
		if got := fileInfo(t, filepath.Join(cfg.Out, n)).Mode(); got != want {
			t.Errorf("%s has mode %v, want %v", n, got, want)
		}
	}
}

func fileInfo(t *testing.T, path string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
