package experiments

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
)

// The grid is 2 datasets × 3 graphs × 4 layers × 3 K, with two more seeds
// for QG-CP at K = 16 and 32; its budgets total the wall time that
// docs/RESULTS.md states.
func TestPaperGridRuns(t *testing.T) {
	runs := PaperGridRuns(false)
	require.Len(t, runs, 2*3*4*3+2*2*2)
	names := map[string]bool{}
	var total time.Duration
	for _, r := range runs {
		assert.False(t, names[r.Name()], "run %s twice", r.Name())
		names[r.Name()] = true
		assert.Positive(t, r.Budget, r.Name())
		total += r.Budget
		if r.Seed != gridSeed {
			assert.True(t, r.RG == "qg" && r.Layer == circuit.CP && r.K <= 32, "extra seed on %s", r.Name())
		}
	}
	for _, n := range []string{"mnist/qg-cp-k16", "mnist/qg-cp-k32-seed44", "fashion-mnist/qt4-tucker-k64", "fashion-mnist/pd-cp-xs-k16"} {
		assert.True(t, names[n], "no run %s", n)
	}
	assert.Equal(t, 6*time.Hour+16*time.Minute, total)
	for _, r := range PaperGridRuns(true) {
		assert.Zero(t, r.Budget, r.Name())
		assert.Contains(t, gridQuickKs, r.K)
	}
}

func TestSelectRuns(t *testing.T) {
	runs := PaperGridRuns(false)
	got, err := selectRuns(runs, []string{"mnist/qg-cp-k*", "fashion-mnist/pd-tucker-k64"}, GridRun.Name)
	require.NoError(t, err)
	var names []string
	for _, r := range got {
		names = append(names, r.Name())
	}
	assert.Equal(t, []string{"mnist/qg-cp-k16", "mnist/qg-cp-k16-seed43", "mnist/qg-cp-k16-seed44", "mnist/qg-cp-k32",
		"mnist/qg-cp-k32-seed43", "mnist/qg-cp-k32-seed44", "mnist/qg-cp-k64", "fashion-mnist/pd-tucker-k64"}, names)
	all, err := selectRuns(runs, nil, GridRun.Name)
	require.NoError(t, err)
	assert.Len(t, all, len(runs))
	for _, bad := range []string{"cifar/*", "mnist/[qg"} {
		_, err := selectRuns(runs, []string{bad}, GridRun.Name)
		assert.True(t, IsInputError(err), "%q: %v", bad, err)
	}
}

// fakeGridRun writes the files of a finished grid run with the given test
// bpd and history.
func fakeGridRun(t *testing.T, o RecipeOptions, r GridRun, testBPD float64, hist []EpochMetrics) {
	t.Helper()
	cfg := r.config(o)
	require.NoError(t, os.MkdirAll(cfg.Out, 0o755))
	require.NoError(t, writeJSON(filepath.Join(cfg.Out, ConfigFile), cfg))
	res := Result{Dir: cfg.Out, Epochs: len(hist), BestEpoch: len(hist), Stopped: "time budget 9m0s: no time for another epoch",
		Test: SplitResult{Split: "test", BPD: testBPD}, Valid: &SplitResult{Split: "valid", BPD: testBPD + 0.01}, History: hist}
	require.NoError(t, writeJSON(filepath.Join(cfg.Out, ResultFile), res))
}

// The report puts the paper's mean ± std beside tenpc's mean ± std over
// seeds, and draws the plots of the cells with results.
func TestGridReport(t *testing.T) {
	o := RecipeOptions{Out: t.TempDir()}
	hist := []EpochMetrics{{Epoch: 1, ValidBPD: 1.5, Seconds: 60}, {Epoch: 2, ValidBPD: 1.3, Seconds: 60}}
	all := PaperGridRuns(false)
	bpds := map[string]float64{"mnist/qg-cp-k16": 1.25, "mnist/qg-cp-k16-seed43": 1.26, "mnist/qg-cp-k16-seed44": 1.27, "mnist/qg-cp-k32": 1.21}
	for _, r := range all {
		if v, ok := bpds[r.Name()]; ok {
			fakeGridRun(t, o, r, v, hist)
		}
	}
	// Another configuration's files in a run's place are not its result.
	last := all[len(all)-1]
	other := last.config(o)
	other.Units = 7
	require.NoError(t, os.MkdirAll(other.Out, 0o755))
	require.NoError(t, writeJSON(filepath.Join(other.Out, ConfigFile), other))

	require.NoError(t, writeGridReport(o, all, map[string]string{"mnist/pd-tucker-k64": "needs 19.3 GiB"}))

	recs := readCSVFile(t, filepath.Join(o.Out, "results.csv"))
	require.Equal(t, gridHeader, recs[0])
	require.Len(t, recs, 1+2*3*4*3, "one row per cell")
	row := recs[1]
	assert.Equal(t, []string{"mnist", "qg", "cp", "16", "3", "1.2600", "0.0100", "1.2489", "0.0014", "5"}, row[:10])
	assert.Equal(t, "0.0111", row[10], "delta = 1.26 − 1.24887")
	assert.Equal(t, "2/2/2", row[11])
	assert.Equal(t, "360.0", row[12], "3 runs × 120 s")
	assert.Equal(t, "540", row[13])

	md, err := os.ReadFile(filepath.Join(o.Out, "results.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| mnist | QG | cp | 16 | 1.2600 ± 0.0100 (3) | 1.2489 ± 0.0014 (5) | +0.0111 | 2/2/2 | 2m0s | budget |")
	assert.Contains(t, string(md), "| mnist | QG | cp | 32 | 1.2100 | 1.2131 ± 0.0011 (5) | -0.0031 | 2 | 2m0s | budget; not run |")
	assert.Contains(t, string(md), "failed: needs 19.3 GiB")
	assert.Contains(t, string(md), "another run: k is 64 here, 7 in the run")

	runs := readCSVFile(t, filepath.Join(o.Out, "runs.csv"))
	assert.Len(t, runs, 1+len(all))
	for _, f := range []string{"mnist-qg-cp.png", "mnist-qg-cp-time.png"} {
		assert.FileExists(t, filepath.Join(o.Out, "plots", f))
	}
	assert.NoFileExists(t, filepath.Join(o.Out, "plots", "mnist-qt4-cp.png"), "a plot without results")
}

// The quick grid trains the runs -only selects, writes the report, and
// reports finished runs without training them again.
func TestPaperGridQuick(t *testing.T) {
	var out bytes.Buffer
	o := RecipeOptions{Out: t.TempDir(), Quick: true, Only: []string{"mnist/qt4-cp-k*", "mnist/qg-tucker-k2"}, Log: quietLogger(), Stdout: &out}
	require.NoError(t, runPaperGrid(context.Background(), o))
	assert.Contains(t, out.String(), "paper-grid: 3 runs")
	assert.Contains(t, out.String(), "mnist/qg-tucker-k2: test bpd")
	recs := readCSVFile(t, filepath.Join(o.Out, "runs.csv"))
	done := 0
	for _, r := range recs[1:] {
		if r[8] != "" {
			done++
		}
	}
	assert.Equal(t, 3, done, "finished runs in runs.csv")
	ckpt := filepath.Join(o.Out, "mnist", "qt4-cp-k2", CheckpointFile)
	st, err := os.Stat(ckpt)
	require.NoError(t, err)

	out.Reset()
	o.Only = []string{"mnist/qt4-cp-k2"}
	require.NoError(t, runPaperGrid(context.Background(), o))
	st2, err := os.Stat(ckpt)
	require.NoError(t, err)
	assert.Equal(t, st.ModTime(), st2.ModTime(), "a finished run was trained again")

	out.Reset()
	o.Plan, o.Only = true, []string{"mnist/pd-*"}
	require.NoError(t, runPaperGrid(context.Background(), o))
	assert.Contains(t, out.String(), "mnist/pd-tucker-k4")
	assert.NoDirExists(t, filepath.Join(o.Out, "mnist", "pd-cp-k2"), "-plan trained")
}

// A finished run asked for more time goes on, counting the time it had;
// asked for less it is refused; stopped early it is reported as it is.
func TestTrainOrResumeExtends(t *testing.T) {
	defer fakeStepTime(10 * time.Second)()
	ctx := context.Background()
	cfg := budgetConfig(t, 60*time.Second, 100) // 1 epoch of 50 s
	res, err := trainOrResume(ctx, cfg, false, quietLogger())
	require.NoError(t, err)
	require.Len(t, res.History, 1)
	assert.False(t, res.Final)

	cfg.TimeBudget = 120 * time.Second // epochs end at 50 s and 100 s
	res, err = trainOrResume(ctx, cfg, false, quietLogger())
	require.NoError(t, err)
	assert.Len(t, res.History, 2)

	cfg.TimeBudget = 60 * time.Second
	_, err = trainOrResume(ctx, cfg, false, quietLogger())
	assert.True(t, IsInputError(err), "a smaller budget: %v", err)

	early := budgetConfig(t, 0, 20)
	early.Patience, early.LR = 1, 1
	res, err = trainOrResume(ctx, early, false, quietLogger())
	require.NoError(t, err)
	require.True(t, res.Final, res.Stopped)
	early.Epochs = 40
	again, err := trainOrResume(ctx, early, false, quietLogger())
	require.NoError(t, err)
	assert.Equal(t, res.Epochs, again.Epochs)
}

// A finished run given more time whose process ends during the extension
// is resumed by the next call, not reported as the run it was.
func TestTrainOrResumeExtensionCut(t *testing.T) {
	defer fakeStepTime(10 * time.Second)()
	cfg := budgetConfig(t, 60*time.Second, 100) // 1 epoch of 50 s
	_, err := trainOrResume(context.Background(), cfg, false, quietLogger())
	require.NoError(t, err)

	// The extension's process ends after its first epoch, as a kill would.
	cfg.TimeBudget = 160 * time.Second // epochs end at 50, 100 and 150 s
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := quietLogger()
	log.AddHook(cancelOnEpoch{cancel})
	_, err = trainOrResume(ctx, cfg, false, log)
	require.Error(t, err)
	require.NoFileExists(t, filepath.Join(cfg.Out, ResultFile), "the extended run looks finished")

	res, err := trainOrResume(context.Background(), cfg, false, quietLogger())
	require.NoError(t, err)
	assert.Len(t, res.History, 3)
}

// cancelOnEpoch cancels a context when a run logs an epoch.
type cancelOnEpoch struct{ cancel context.CancelFunc }

func (cancelOnEpoch) Levels() []logrus.Level { return []logrus.Level{logrus.InfoLevel} }
func (h cancelOnEpoch) Fire(e *logrus.Entry) error {
	if e.Message == "epoch" {
		h.cancel()
	}
	return nil
}

// A run whose process ended before its first epoch did (a configuration,
// no checkpoint) starts over; one of another configuration is refused.
func TestTrainOrResumeBeforeFirstEpoch(t *testing.T) {
	cfg := budgetConfig(t, 0, 1)
	require.NoError(t, prepareRunDir(cfg.Out, cfg, nil))
	res, err := trainOrResume(context.Background(), cfg, false, quietLogger())
	require.NoError(t, err)
	assert.Len(t, res.History, 1)

	other := budgetConfig(t, 0, 1)
	require.NoError(t, prepareRunDir(other.Out, other, nil))
	other.Units++
	_, err = trainOrResume(context.Background(), other, false, quietLogger())
	assert.True(t, IsInputError(err), "another run's directory: %v", err)
}

func TestMeanStd(t *testing.T) {
	m, s := meanStd([]float64{1, 2, 3, 4})
	assert.Equal(t, 2.5, m)
	assert.InDelta(t, math.Sqrt(5.0/3), s, 1e-15)
	m, s = meanStd([]float64{7})
	assert.Equal(t, 7.0, m)
	assert.Zero(t, s)
}

// readCSVFile reads a CSV file's records.
func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	return recs
}
