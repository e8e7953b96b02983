package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tnn train, compress, eval and inspect chained on a small CNN run.
func TestTNNCommands(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "dense")
	out := mustRun(t, "tnn", "train", "-arch", "cnn", "-limit", "256", "-test-limit", "100", "-epochs", "1", "-batch", "64", "-time-budget", "10m", "-out", run)
	if !strings.Contains(out, "test accuracy") || !strings.Contains(out, "model.tenpc") {
		t.Errorf("train printed %q", out)
	}
	if cfg, err := os.ReadFile(filepath.Join(run, "config.json")); err != nil || !strings.Contains(string(cfg), `"time_budget": 600000000000`) {
		t.Errorf("the run's config does not record -time-budget 10m (%v):\n%s", err, cfg)
	}
	model := filepath.Join(run, "model.tenpc")
	out = mustRun(t, "tnn", "compress", "-model", model, "-format", "tucker", "-rank", "4", "-epochs", "0", "-test-limit", "100")
	for _, want := range []string{"conv2", "fc1", "tucker", "compression", "before compression"} {
		if !strings.Contains(out, want) {
			t.Errorf("compress output lacks %q:\n%s", want, out)
		}
	}
	ft := filepath.Join(base, "mpo")
	out = mustRun(t, "tnn", "compress", "-model", model, "-format", "mpo", "-tol", "0.5", "-epochs", "1", "-batch", "64",
		"-limit", "256", "-test-limit", "100", "-out", ft)
	if !strings.Contains(out, "after 1 epochs of fine-tuning") {
		t.Errorf("compress output:\n%s", out)
	}
	out = mustRun(t, "tnn", "eval", "-model", filepath.Join(ft, "model.tenpc"), "-limit", "100")
	if !strings.Contains(out, "mnist test: 100 images") || !strings.Contains(out, "MPO") {
		t.Errorf("eval output:\n%s", out)
	}
	out = mustRun(t, "tnn", "inspect", "-model", filepath.Join(ft, "model.tenpc"), "-out", filepath.Join(base, "inspect"), "-batch", "10")
	if !strings.Contains(out, "spectra.csv") || strings.Count(out, "plot:") != 4 {
		t.Errorf("inspect output:\n%s", out)
	}
}

func TestTNNBadInput(t *testing.T) {
	base := t.TempDir()
	model := filepath.Join(base, "none.tenpc")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no subcommand", []string{"tnn"}, []string{"train, compress, inspect or eval"}},
		{"unknown subcommand", []string{"tnn", "fit"}, []string{`"fit"`}},
		{"train no out", []string{"tnn", "train"}, []string{"-out"}},
		{"train unknown arch", []string{"tnn", "train", "-arch", "resnet", "-out", filepath.Join(base, "x")}, []string{`"resnet"`, "mlp or cnn"}},
		{"train unknown format", []string{"tnn", "train", "-format", "tt", "-out", filepath.Join(base, "x")}, []string{`"tt"`, "mpo"}},
		{"train unknown layer", []string{"tnn", "train", "-format", "mpo", "-layers", "fc7", "-out", filepath.Join(base, "x")}, []string{`"fc7"`, "fc1, fc2, fc3"}},
		{"train negative budget", []string{"tnn", "train", "-time-budget", "-1s", "-out", filepath.Join(base, "x")}, []string{"time budget -1s is negative"}},
		{"train unknown dataset", []string{"tnn", "train", "-dataset", "cifar", "-out", filepath.Join(base, "x")}, []string{`"cifar"`}},
		{"compress no format", []string{"tnn", "compress", "-model", model}, []string{"-format"}},
		{"compress no rank", []string{"tnn", "compress", "-model", model, "-format", "mpo"}, []string{"rank or a tolerance"}},
		{"compress dense", []string{"tnn", "compress", "-model", model, "-format", "dense", "-rank", "2"}, []string{"dense compresses nothing"}},
		{"compress bad tolerance", []string{"tnn", "compress", "-model", model, "-format", "mpo", "-tol", "2"}, []string{"tolerance 2"}},
		{"compress missing model", []string{"tnn", "compress", "-model", model, "-format", "mpo", "-rank", "2"}, []string{"none.tenpc"}},
		{"eval missing model", []string{"tnn", "eval", "-model", model}, []string{"none.tenpc"}},
		{"inspect no out", []string{"tnn", "inspect", "-model", model}, []string{"-out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := listFiles(t, base)
			status, stdout, stderr := tenpc(t, tc.args...)
			if status != 2 {
				t.Fatalf("status %d, want 2; stdout %q stderr %q", status, stdout, stderr)
			}
			msg := strings.TrimSuffix(stderr, "\n")
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "tenpc tnn: ") {
				t.Errorf("want one line starting with 'tenpc tnn: ', got %q", stderr)
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
}
