package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
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

// TestDamagedRunFiles damages the files of a finished one-epoch run (a
// flipped byte and a truncation in the checkpoint, a garbled config.json, a
// NaN in the model) and checks that -resume, eval and -init refuse each with
// status 2 and one line naming the file and the damage, changing nothing.
func TestDamagedRunFiles(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	train := []string{"train", "-rg", "qt4", "-k", "4", "-limit", "300", "-batch-size", "50", "-epochs", "1", "-out", run}
	mustRun(t, train...)
	ckpt, config, model := filepath.Join(run, "checkpoint.tenpc"), filepath.Join(run, "config.json"), filepath.Join(run, "model.tenpc")
	resume := append(append([]string{}, train...), "-resume", "-epochs", "2")
	good := map[string][]byte{}
	for _, f := range []string{ckpt, config, model} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		good[f] = b
	}
	for _, tc := range []struct {
		name string
		file string
		edit func([]byte) []byte
		args []string
		want []string
	}{
		{"flipped checkpoint byte", ckpt, func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b }, resume, []string{ckpt, "checksum mismatch"}},
		{"truncated checkpoint", ckpt, func(b []byte) []byte { return b[:len(b)*2/3] }, resume, []string{ckpt, "truncated"}},
		{"empty checkpoint", ckpt, func(b []byte) []byte { return nil }, resume, []string{ckpt, "truncated header"}},
		{"garbled config.json", config, func(b []byte) []byte { return b[:len(b)/2] }, resume, []string{config}},
		{"NaN in the model, eval", model, nanInModel(t), []string{"eval", "-model", model, "-limit", "300"}, []string{model, "is not finite", "NaN"}},
		{"NaN in the model, -init", model, nanInModel(t), []string{"train", "-rg", "qt4", "-k", "4", "-limit", "300", "-init", model, "-out", filepath.Join(base, "fresh")}, []string{model, "is not finite"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			damaged := tc.edit(append([]byte(nil), good[tc.file]...))
			if err := os.WriteFile(tc.file, damaged, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(tc.file, good[tc.file], 0o644)
			before := listFiles(t, base)
			status, _, stderr := tenpc(t, tc.args...)
			if status != 2 {
				t.Fatalf("status %d, want 2; stderr %q", status, stderr)
			}
			msg := strings.TrimSuffix(stderr, "\n")
			if strings.Contains(msg, "\n") {
				t.Errorf("want one line, got %q", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if after := listFiles(t, base); after != before {
				t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// Undamaged, the run resumes.
	mustRun(t, resume...)
}

// nanInModel returns an edit that puts a NaN into the first parameter of a
// model file's bytes (re-encoded, so the checksum is valid).
func nanInModel(t *testing.T) func([]byte) []byte {
	return func(b []byte) []byte {
		st, err := nn.ReadState(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		st.Arrays[0].F32[7] = float32(math.NaN())
		var out bytes.Buffer
		if err := nn.WriteState(&out, st); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
}
