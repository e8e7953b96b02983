package experiments

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// RecipeOptions are what a recipe run takes from the command line.
type RecipeOptions struct {
	// Out is the recipe's output directory ("" = runs/NAME).
	Out string
	// Quick shrinks the recipe to a smoke test (few samples, one epoch,
	// small K) that finishes in seconds to a minute.
	Quick bool
	// Force replaces earlier runs in Out; otherwise a run that is there
	// with the same configuration is resumed (a finished one just reports).
	Force bool
	// DataDir is the directory of the datasets the recipe reads ("" = the
	// recipe's default).
	DataDir string
	// Only, Plan and BudgetScale apply to the recipes made of named runs
	// (Recipe.Runs). Only, when not empty, keeps the runs whose names match
	// one of its path.Match patterns ("mnist/qg-*"); Plan lists the runs,
	// their budgets and the total and trains nothing; BudgetScale
	// multiplies every run's time budget (0 means 1). A run finished with a
	// smaller budget is resumed (see trainOrResume).
	Only        []string
	Plan        bool
	BudgetScale float64
	// Log receives the training logs; Stdout the summary.
	Log    *logrus.Logger
	Stdout io.Writer
}

// Recipe is a named, reproducible experiment.
type Recipe struct {
	Name        string
	Description string
	Run         func(ctx context.Context, o RecipeOptions) error
	// Runs says the recipe is made of named runs and honours
	// RecipeOptions.Only, Plan and BudgetScale; it describes the names.
	Runs string
}

// Recipes lists the recipes `tenpc recipe list` shows, in that order.
var Recipes = []Recipe{
	{Name: "mnist-default", Description: "QG-CP K=16, categorical inputs, Adam lr 0.01, batch 256 on MNIST (what `make train` runs; ≤ 10 minutes on 2 cores)", Run: runMNISTDefault},
	{Name: "paper-grid", Description: "the reference paper's grid on MNIST and Fashion-MNIST: QG, QT-4, PD × CP, CP-S, CP-XS, Tucker (binarized on QT-4) × K = 16, 32, 64, three seeds for QG-CP K=16, 32; each run within a time budget, about 7 hours on 2 cores (-plan lists them); the paper's test bpd beside each cell, plots", Run: runPaperGrid,
		Runs: "DATASET/RG-LAYER-kK[-seedS], e.g. mnist/qg-cp-k16, fashion-mnist/pd-tucker-k64"},
	{Name: "lenet", Description: "a LeNet-style CNN built from nn modules on MNIST classification (Adam lr 1e-3, batch 64, 3 epochs): test accuracy; about a minute on 2 cores", Run: runLeNet},
	{Name: "mnist-classifier", Description: "a class-conditional circuit on MNIST (QG-CP K=16, binomial inputs, 10 root units, mostly discriminative; ≤ 25 min) beside an MLP 784-256-256-10 (5 epochs): test accuracy against the fraction of missing pixels, integrated out by the circuit, mean-imputed for the MLP", Run: runMNISTClassifier},
	{Name: "tnn-mnist", Description: "tensorized networks (docs/TNN.md): an MLP 784-1024-1024-10 and a small CNN on MNIST and Fashion-MNIST, compressed to MPO (bond 2–32), Tucker and CP of matching size, fine-tuned and beside the same networks from scratch; each run within a time budget, at most 4 hours on 2 cores", Run: runTNNMNIST},
	{Name: "debd", Description: "every DEBD-format set in -data-dir DIR (DIR/NAME/NAME.{train,valid,test}.data): HCLT (Chow-Liu tree, K latent states a variable; two candidates, the better on validation kept), test LL beside a Chow-Liu tree and the published RAT-SPN and HCLT results", Run: runDEBD,
		Runs: "SET/CANDIDATE, e.g. nltcs/k32-b256, or nltcs/* for a set"},
	{Name: "em-adam", Description: "EM against Adam by training time to a validation bpd: QG-CP K=16 on MNIST (10 min each) and, with -data-dir, the debd recipe's HCLT on every DEBD set (Adam, online and full-batch EM, 5 min each); a table and plots", Run: runEMAdam,
		Runs: "DATASET/OPTIMIZER, e.g. mnist/em, nltcs/em-full"},
	{Name: "squared", Description: "monotonic against squared circuits (real weights, p = c²/Z) and squared times monotonic ones (p = m·c²/Z) at equal parameter counts on the DEBD sets of at most 2000 variables in -data-dir DIR (Chow-Liu tree, CP-R K=16; 3, 4 and 15 min) and MNIST (QT-4, CP K=8; 7, 25 and 25 min): test LL and bpd, every parameter count; the DEBD monotonic circuits and products at seeds 1, 2, 3 too, their means compared; at most 7 h 17 min of training budgets on 2 cores with nltcs, plants, jester, dna and bbc, early stopping ending most DEBD runs in minutes", Run: runSquared,
		Runs: "DATASET/MODEL[-seedS], e.g. nltcs/squared, mnist/monotonic, dna/mono-squared-seed2"},
	{Name: "tabular", Description: "circuits with mixed inputs (Bernoulli, Gaussian, categorical columns) on scikit-learn's diabetes and wine tables from Debian's python3-sklearn (-data-dir to override): Chow-Liu tree, random trees and a fully factorized baseline, and a class-conditional circuit on wine's label; train/valid/test LL (and accuracy), also with 20% of the test values missing; each run capped at 25 s, under a minute in all on 2 cores", Run: runTabular},
	{Name: "compression", Description: "the paper's compression experiment on MNIST and Fashion-MNIST: QG-Tucker K=32 (≤ 5 hours) compressed to CP-R at ranks 1–32, each fine-tuned and beside a CP-R of that rank from scratch (≤ 8 min each); about 14 hours on 2 cores (resumable)", Run: runCompression},
}

// FindRecipe returns the recipe called name.
func FindRecipe(name string) (Recipe, error) {
	for _, r := range Recipes {
		if r.Name == name {
			return r, nil
		}
	}
	names := make([]string, len(Recipes))
	for i, r := range Recipes {
		names[i] = r.Name
	}
	return Recipe{}, inputErrorf("unknown recipe %q (want %s)", name, strings.Join(names, ", "))
}

func (o *RecipeOptions) defaults(name string) {
	if o.Out == "" {
		o.Out = filepath.Join("runs", name)
	}
	if o.Log == nil {
		o.Log = logrus.New()
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
}

// trainOrResume trains cfg; a run already in cfg.Out is resumed unless
// force is set. A finished run is reported as it is, unless cfg asks for
// more epochs or time than it had and it did not stop for good (early
// stopping): then it goes on, its budget counting the time it already had.
func trainOrResume(ctx context.Context, cfg TrainConfig, force bool, log *logrus.Logger) (*Result, error) {
	if !force && exists(filepath.Join(cfg.Out, ResultFile)) {
		// A finished run with this configuration: report it as it is.
		var old TrainConfig
		if err := readJSON(filepath.Join(cfg.Out, ConfigFile), &old); err != nil {
			return nil, inputErrorf("%s: %v (pass -force to start over)", cfg.Out, err)
		}
		if diff := cfg.sameRun(old); diff != "" {
			return nil, inputErrorf("%s holds another run (%s); pass -force to replace it", cfg.Out, diff)
		}
		var res Result
		if err := readJSON(filepath.Join(cfg.Out, ResultFile), &res); err != nil {
			return nil, inputErrorf("%s: %v (pass -force to start over)", cfg.Out, err)
		}
		same := old.Epochs == cfg.Epochs && old.TimeBudget == cfg.TimeBudget
		switch {
		case same || res.Final:
			log.WithField("dir", cfg.Out).Info("finished run found; not retraining (pass -force to start over)")
			return &res, nil
		case !cfg.extends(old):
			return nil, inputErrorf("%s holds a run with more epochs or time (%d epochs, budget %v); pass -force to replace it", cfg.Out, old.Epochs, old.TimeBudget)
		}
		// More epochs or time than the run had: it goes on.
	}
	started, ckpt := exists(filepath.Join(cfg.Out, ConfigFile)), exists(filepath.Join(cfg.Out, CheckpointFile))
	if started && !ckpt && !force {
		// A process ended before its run's first epoch did: nothing of it
		// was saved but its configuration, so the run starts over, if it
		// is the same run.
		var old TrainConfig
		if err := readJSON(filepath.Join(cfg.Out, ConfigFile), &old); err != nil {
			return nil, inputErrorf("%s: %v (pass -force to start over)", cfg.Out, err)
		}
		if diff := cfg.sameRun(old); diff != "" {
			return nil, inputErrorf("%s holds another run (%s); pass -force to replace it", cfg.Out, diff)
		}
		force = true
	}
	cfg.Force = force && (started || ckpt)
	cfg.Resume = !force && ckpt
	return Train(ctx, cfg, log)
}

// MNISTDefaultConfig is the configuration of the mnist-default recipe:
// the reference protocol for QG-CP K=16 with at most MNISTDefaultEpochs
// epochs and a training time budget, so that it finishes in at most 10
// minutes on the 2-core development machine.
func MNISTDefaultConfig(out string, quick bool) TrainConfig {
	cfg := DefaultTrainConfig()
	cfg.Out = out
	cfg.Epochs = MNISTDefaultEpochs
	cfg.TimeBudget = MNISTDefaultBudget
	if quick {
		cfg.Units, cfg.Limit, cfg.Epochs, cfg.TimeBudget = 4, 1000, 1, 0
	}
	return cfg
}

// MNISTDefaultEpochs and MNISTDefaultBudget bound the mnist-default
// recipe (see MNISTDefaultConfig). Measured on the 2-core machine
// (2026-11-23), an epoch takes 90–110 s and the validation bpd runs 2.06,
// 1.58, 1.46 over the first three epochs; 9 minutes of training (no epoch
// is started that would end past them) leave room for loading, compiling
// and the final test evaluation (≈ 5 s) within 10 minutes.
const (
	MNISTDefaultEpochs = 200
	MNISTDefaultBudget = 9 * time.Minute
)

func runMNISTDefault(ctx context.Context, o RecipeOptions) error {
	o.defaults("mnist-default")
	cfg := MNISTDefaultConfig(o.Out, o.Quick)
	if o.DataDir != "" {
		cfg.DataDir = o.DataDir
	}
	t0 := time.Now()
	res, err := trainOrResume(ctx, cfg, o.Force, o.Log)
	if err != nil {
		return err
	}
	grid, err := PaperGrid("mnist")
	if err != nil {
		return err
	}
	row := resultRow("mnist", cfg, res)
	row[len(row)-1] = paperValue(grid, cfg)
	rows := [][]string{row}
	if err := writeTable(o.Out, resultHeader, rows); err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "mnist-default: test bpd %.4f (best epoch %d of %d, %s) in %s\n", res.Test.BPD, res.BestEpoch, res.Epochs, res.Stopped, time.Since(t0).Round(time.Second))
	fmt.Fprintf(o.Stdout, "  model:   %s\n", res.Model)
	if res.Samples != "" {
		fmt.Fprintf(o.Stdout, "  samples: %s\n", res.Samples)
	}
	fmt.Fprintf(o.Stdout, "  curve:   %s\n", res.Curve)
	fmt.Fprintf(o.Stdout, "  metrics: %s\n", res.Metrics)
	fmt.Fprintf(o.Stdout, "  results: %s, %s\n", filepath.Join(o.Out, "results.csv"), filepath.Join(o.Out, "results.md"))
	return nil
}

var resultHeader = []string{"dataset", "rg", "layer", "k", "epochs", "best_epoch", "valid_bpd", "test_bpd", "seconds", "paper_test_bpd"}

func resultRow(dataset string, cfg TrainConfig, res *Result) []string {
	valid := ""
	if res.Valid != nil {
		valid = strconv.FormatFloat(res.Valid.BPD, 'f', 4, 64)
	}
	var secs float64
	for _, h := range res.History {
		secs += h.Seconds
	}
	return []string{dataset, cfg.RG, cfg.Layer.String(), strconv.Itoa(cfg.Units), strconv.Itoa(res.Epochs), strconv.Itoa(res.BestEpoch),
		valid, strconv.FormatFloat(res.Test.BPD, 'f', 4, 64), strconv.FormatFloat(secs, 'f', 1, 64), ""}
}

// writeTable writes rows as dir/results.csv and dir/results.md (a markdown
// table), both atomically.
func writeTable(dir string, header []string, rows [][]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var cb strings.Builder
	w := csv.NewWriter(&cb)
	if err := w.Write(header); err != nil {
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "results.csv"), []byte(cb.String())); err != nil {
		return err
	}
	var mb strings.Builder
	mb.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		mb.WriteString(" --- |")
	}
	mb.WriteString("\n")
	for _, r := range rows {
		mb.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return writeFileAtomic(filepath.Join(dir, "results.md"), []byte(mb.String()))
}

// extends reports whether c asks for more of the run old (same
// configuration otherwise): at least its epochs and time budget (0: none)
// and more of one.
func (c TrainConfig) extends(old TrainConfig) bool {
	atLeast := func(a, b time.Duration) bool { return a == 0 || (b != 0 && a >= b) }
	return c.Epochs >= old.Epochs && atLeast(c.TimeBudget, old.TimeBudget) &&
		(c.Epochs > old.Epochs || c.TimeBudget != old.TimeBudget)
}
