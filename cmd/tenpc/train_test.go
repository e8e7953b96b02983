package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/experiments"
	"github.com/tenpc/tenpc/nn"
)

// tenpc runs the command line in-process and returns its status and output.
func tenpc(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	prev := logOut
	logOut = &errb
	defer func() { logOut = prev }()
	status = run(args, &out, &errb)
	return status, out.String(), errb.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	status, stdout, stderr := tenpc(t, args...)
	if status != 0 {
		t.Fatalf("tenpc %s: status %d\nstderr: %s", strings.Join(args, " "), status, stderr)
	}
	return stdout
}

// quickTrain is a one-epoch QG-CP K=4 run on the first 500 MNIST images of
// every split.
func quickTrain(out string, extra ...string) []string {
	return append([]string{"train", "-dataset", "mnist", "-rg", "qg", "-layer", "cp", "-k", "4", "-limit", "500", "-epochs", "1", "-out", out}, extra...)
}

func readResult(t *testing.T, dir string) experiments.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, experiments.ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	var r experiments.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTrainEvalEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	stdout := mustRun(t, quickTrain(dir)...)
	if !strings.Contains(stdout, "model:   "+filepath.Join(dir, "model.tenpc")) {
		t.Errorf("train output does not say where the model is:\n%s", stdout)
	}
	res := readResult(t, dir)
	if res.Test.N != 500 || res.Epochs != 1 || res.BestEpoch != 1 {
		t.Errorf("result: %d test samples, %d epochs, best %d; want 500, 1, 1", res.Test.N, res.Epochs, res.BestEpoch)
	}
	// A categorical model over 784 pixels starts near 8 bpd (uniform); one
	// epoch must not make it worse than that or non-finite.
	if !(res.Test.BPD > 0 && res.Test.BPD < 8.5) || math.Abs(res.Test.BPD+res.Test.LL/(math.Ln2*784)) > 1e-12 {
		t.Errorf("test bpd %v, LL %v: not a plausible or consistent pair", res.Test.BPD, res.Test.LL)
	}

	// The run's files.
	for _, f := range []string{"config.json", "metrics.jsonl", "checkpoint.tenpc", "model.tenpc", "curve.png", "samples.png", "result.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run file missing: %v", err)
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(metrics)), "\n")
	var m experiments.EpochMetrics
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &m) != nil || m.Epoch != 1 || m.Steps != 2 || m.ValidBPD <= 0 || m.TrainBPD <= 0 {
		t.Errorf("metrics.jsonl = %q, want one epoch of 2 steps with train and valid bpd", metrics)
	}
	var cfg experiments.TrainConfig
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.RG != "qg" || cfg.Units != 4 || cfg.Limit != 500 || cfg.LR != 0.01 {
		t.Errorf("config.json = %s (err %v)", b, err)
	}
	f, _ := os.Open(filepath.Join(dir, "samples.png"))
	img, err := png.Decode(f)
	f.Close()
	// 64 samples in 8 columns of 28+2 pixels plus the outer gap.
	if err != nil || img.Bounds().Dx() != 8*30+2 || img.Bounds().Dy() != 8*30+2 {
		t.Errorf("samples.png: %v, err %v", img, err)
	}

	// eval gets the run's test LL back exactly, and writes per-sample rows
	// whose mean is that LL.
	csvPath := filepath.Join(t.TempDir(), "ll.csv")
	stdout = mustRun(t, "eval", "-model", res.Model, "-limit", "500", "-per-sample", csvPath)
	if !strings.Contains(stdout, "500 samples") {
		t.Errorf("eval output %q", stdout)
	}
	cf, _ := os.Open(csvPath)
	recs, err := csv.NewReader(cf).ReadAll()
	cf.Close()
	if err != nil || len(recs) != 501 || !slices.Equal(recs[0], []string{"index", "loglik"}) {
		t.Fatalf("per-sample CSV: %d records, header %v, err %v", len(recs), recs[0], err)
	}
	var sum float64
	for i, r := range recs[1:] {
		if r[0] != strconv.Itoa(i) {
			t.Fatalf("row %d has index %s", i, r[0])
		}
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil || v >= 0 {
			t.Fatalf("row %d: log-likelihood %q", i, r[1])
		}
		sum += v
	}
	if mean := sum / 500; mean != res.Test.LL {
		t.Errorf("eval mean LL %v, training run's test LL %v: want them equal", mean, res.Test.LL)
	}
	ev, err := experiments.Evaluate(experiments.EvalConfig{Model: res.Model, Limit: 500})
	if err != nil || ev.LL != res.Test.LL {
		t.Errorf("Evaluate: LL %v (err %v), want %v", ev.LL, err, res.Test.LL)
	}

	// info shows the architecture, the parameter count and the history.
	info := mustRun(t, "info", "-model", res.Model)
	for _, want := range []string{"cp K=4", "parameters:", "history (best epoch 1)", "test:"} {
		if !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
}

// TestResumeIsBitIdentical stops a run after epoch 1, resumes it to epoch
// 2, and compares everything the checkpoint holds (parameters, Adam's
// moments and step count) with an uninterrupted two-epoch run.
func TestResumeIsBitIdentical(t *testing.T) {
	base := t.TempDir()
	full, split := filepath.Join(base, "full"), filepath.Join(base, "split")
	args := func(out, epochs string) []string {
		return []string{"train", "-rg", "qt4", "-k", "4", "-limit", "500", "-batch-size", "100", "-epochs", epochs, "-out", out}
	}
	mustRun(t, args(full, "2")...)
	mustRun(t, args(split, "1")...)
	// A second run in the same directory needs -resume or -force.
	if status, _, stderr := tenpc(t, args(split, "2")...); status != 2 || !strings.Contains(stderr, "already holds a run") {
		t.Fatalf("rerun without -resume: status %d, stderr %q", status, stderr)
	}
	// Resuming with another setting than the run's is refused.
	if status, _, stderr := tenpc(t, append(args(split, "2"), "-resume", "-seed", "7")...); status != 2 || !strings.Contains(stderr, "seed") {
		t.Fatalf("resume with another seed: status %d, stderr %q", status, stderr)
	}
	mustRun(t, append(args(split, "2"), "-resume")...)

	a, err := nn.LoadState(filepath.Join(full, "checkpoint.tenpc"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := nn.LoadState(filepath.Join(split, "checkpoint.tenpc"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Arrays) != len(b.Arrays) {
		t.Fatalf("%d arrays vs %d", len(a.Arrays), len(b.Arrays))
	}
	names := 0
	for i := range a.Arrays {
		x, y := a.Arrays[i], b.Arrays[i]
		if x.Name != y.Name || !slices.Equal(x.Shape, y.Shape) || !bitsEqual32(x.F32, y.F32) || !slices.Equal(x.I64, y.I64) || !bitsEqual64(x.F64, y.F64) {
			t.Errorf("array %q differs between the uninterrupted and the resumed run", x.Name)
		}
		if strings.HasPrefix(x.Name, "adam.") {
			names++
		}
	}
	if names == 0 {
		t.Error("the checkpoint holds no Adam state")
	}
	if s := b.Array("adam.step"); s == nil || s.I64[0] != 10 {
		t.Errorf("adam.step = %v, want 10 (2 epochs of 5 batches)", s)
	}
	ra, rb := readResult(t, full), readResult(t, split)
	if ra.Test.LL != rb.Test.LL || len(rb.History) != 2 {
		t.Fatalf("test LL %v vs %v, resumed history %d epochs", ra.Test.LL, rb.Test.LL, len(rb.History))
	}
	for i := range ra.History {
		ha, hb := ra.History[i], rb.History[i]
		if ha.TrainNLL != hb.TrainNLL || ha.ValidNLL != hb.ValidNLL {
			t.Errorf("epoch %d: train/valid NLL %v/%v vs %v/%v", i+1, ha.TrainNLL, ha.ValidNLL, hb.TrainNLL, hb.ValidNLL)
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(split, "metrics.jsonl"))
	if n := strings.Count(string(metrics), "\n"); n != 2 {
		t.Errorf("resumed metrics.jsonl has %d lines, want 2", n)
	}
}

func bitsEqual32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func bitsEqual64(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}
