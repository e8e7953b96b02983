package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMaxMemoryRefusesBeforeWriting checks that train and eval refuse a
// model whose memory estimate exceeds -max-memory: status 2, one line with
// the estimate and the limit, nothing written; a limit above the estimate
// lets them run.
func TestMaxMemoryRefusesBeforeWriting(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	train := []string{"train", "-rg", "qt4", "-k", "4", "-limit", "300", "-batch-size", "50", "-epochs", "1", "-out", run}

	refuse := func(t *testing.T, args []string, want ...string) {
		t.Helper()
		before := listFiles(t, base)
		status, stdout, stderr := tenpc(t, args...)
		if status != 2 {
			t.Fatalf("status %d, want 2; stdout %q stderr %q", status, stdout, stderr)
		}
		msg := strings.TrimSuffix(stderr, "\n")
		if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "tenpc ") {
			t.Errorf("want one line starting with 'tenpc ', got %q", stderr)
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("message %q lacks %q", msg, w)
			}
		}
		if after := listFiles(t, base); after != before {
			t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
		}
	}
	// The training program of this circuit needs about 25 MiB.
	refuse(t, append(train, "-max-memory", "1M"), "needs about", "MiB", "more than -max-memory 1.00 MiB")
	refuse(t, append(train, "-max-memory", "20m"), "needs about", "more than -max-memory 20.0 MiB")
	if _, err := os.Stat(run); err == nil {
		t.Fatal("a refused run created its directory")
	}
	for _, bad := range []string{"2X", "-1G", "0", "G", "1e400"} {
		refuse(t, append(train, "-max-memory", bad), "-max-memory", bad)
	}

	mustRun(t, append(train, "-max-memory", "1G")...)
	model := filepath.Join(run, "model.tenpc")
	refuse(t, []string{"eval", "-model", model, "-max-memory", "100K", "-per-sample", filepath.Join(base, "ll.csv")},
		model, "evaluation program needs about", "more than -max-memory 100.0 KiB")
	refuse(t, []string{"eval", "-model", model, "-max-memory", "lots"}, "-max-memory", `"lots"`)
	if out := mustRun(t, "eval", "-model", model, "-limit", "300", "-max-memory", "2GiB"); !strings.Contains(out, "test: 300 samples") {
		t.Errorf("eval under a large enough limit: %q", out)
	}
}

// TestDivergingRunStops: plain SGD with learning rate 1e5 overflows within
// the first epoch; the run stops with status 1 and a message naming the
// epoch, batch and step and the parameter that went non-finite, and leaves
// no checkpoint (none was complete) and no model.
func TestDivergingRunStops(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	status, _, stderr := tenpc(t, "train", "-rg", "qt4", "-k", "4", "-limit", "300", "-batch-size", "50", "-epochs", "2",
		"-optimizer", "sgd", "-lr", "1e5", "-out", run)
	if status != 1 {
		t.Fatalf("status %d, want 1; stderr %q", status, stderr)
	}
	last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
	re := regexp.MustCompile(`^tenpc train: training stopped at epoch 1 batch \d+ \(step \d+\): .*(gradient of|parameter) (input|layers)\.[a-z0-9.]+ is not finite.*; no checkpoint was written\n$`)
	if !re.MatchString(last) {
		t.Errorf("last line %q does not match %v", last, re)
	}
	for _, f := range []string{"checkpoint.tenpc", "model.tenpc", "result.json"} {
		if _, err := os.Stat(filepath.Join(run, f)); err == nil {
			t.Errorf("the failed run wrote %s", f)
		}
	}
}
