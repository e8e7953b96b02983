package experiments

// The tnn-mnist recipe: dense networks, their compressions to MPO, Tucker
// and CP layers with fine-tuning, and the same tensorized networks trained
// from scratch, on MNIST and Fashion-MNIST.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TNNRecipe is the tnn-mnist protocol. Every training uses Adam with a
// cosine schedule, batch TNNDefaultBatch and seed Seed, and stops at its
// epochs or its time budget, whichever comes first.
type TNNRecipe struct {
	Datasets []string
	Archs    []string
	Formats  []TNFormat
	// Ranks are the MPO bond dimensions; Tucker and CP match each one's
	// parameter count.
	Ranks []int
	Modes int
	// DenseEpochs and DenseBudget train the dense networks (LR 1e-3).
	DenseEpochs int
	DenseBudget time.Duration
	// TuneEpochs (by architecture), TuneBudget and TuneLR train every
	// tensorized network: a compressed one fine-tuned, and the same
	// network from scratch, so that the two differ only in their start.
	TuneEpochs            map[string]int
	TuneBudget            time.Duration
	TuneLR                float64
	Sweeps                int // CP-ALS
	TrainLimit, TestLimit int
	Seed                  uint64
}

// TNNMNISTRecipe returns the protocol of the tnn-mnist recipe, or its
// smoke test when quick (2,000 training and 500 test images, one epoch,
// ranks 2 and 8, 5 CP-ALS sweeps).
//
// Its wall time is at most 4 hours on 2 cores by construction: 4 dense
// runs of at most 12 minutes, 120 tensorized runs (2 datasets × 2
// architectures × 3 formats × 5 ranks, fine-tuned and from scratch) of at
// most 70 s, 48 + 140 = 188 minutes, and at most 45 minutes for the rest,
// measured on the shared machine at load 7–9 (docs/TNN.md): the 60
// compressions (CP-ALS, the compressed network's test accuracy), loading
// data and compiling each run, checkpoints, and what a run overruns its
// budget by (a batch, an evaluation slower than foreseen). The epochs (10
// dense; 3 for a tensorized MLP, 1 for a tensorized CNN) fit the budgets
// for the dense networks and the small tensorized ones at load 3–4; the
// large ranks train less, and the table says how much.
func TNNMNISTRecipe(quick bool) TNNRecipe {
	r := TNNRecipe{
		Datasets:    []string{"mnist", "fashion-mnist"},
		Archs:       []string{"mlp", "cnn"},
		Formats:     []TNFormat{MPOFormat, TuckerFormat, CPFormat},
		Ranks:       []int{2, 4, 8, 16, 32},
		Modes:       4,
		DenseEpochs: 10, DenseBudget: 12 * time.Minute,
		TuneEpochs: map[string]int{"mlp": 3, "cnn": 1}, TuneBudget: 70 * time.Second, TuneLR: 1e-3,
		Sweeps: 50,
		Seed:   1,
	}
	if quick {
		r.Ranks, r.DenseEpochs, r.TuneEpochs, r.Sweeps = []int{2, 8}, 1, map[string]int{"mlp": 1, "cnn": 1}, 5
		r.DenseBudget, r.TuneBudget = time.Minute, 20*time.Second
		r.TrainLimit, r.TestLimit = 2000, 500
	}
	return r
}

// tnnHeader is the recipe table's header. epochs counts the row's training
// (the dense run's, or the fine-tuning's), epochs_scratch the network's
// from scratch; "(time)" marks a run its time budget stopped.
var tnnHeader = []string{"dataset", "arch", "format", "rank", "layer_modes", "layer_ranks", "params", "layer_weights", "compression",
	"acc_dense", "acc_compressed", "acc_finetuned", "acc_scratch", "epochs", "epochs_scratch"}

func runTNNMNIST(ctx context.Context, o RecipeOptions) error {
	o.defaults("tnn-mnist")
	r := TNNMNISTRecipe(o.Quick)
	t0 := time.Now()
	var rows [][]string
	for _, ds := range r.Datasets {
		for _, arch := range r.Archs {
			more, err := r.runArch(ctx, o, ds, arch)
			rows = append(rows, more...)
			if werr := writeTable(o.Out, tnnHeader, rows); werr != nil {
				return werr
			}
			if err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(o.Stdout, "tnn-mnist: %d rows in %s\n", len(rows), time.Since(t0).Round(time.Second))
	fmt.Fprintf(o.Stdout, "  results: %s, %s\n", filepath.Join(o.Out, "results.csv"), filepath.Join(o.Out, "results.md"))
	return nil
}

// runArch trains the dense network, then every format and rank, and plots
// accuracy against parameters.
func (r TNNRecipe) runArch(ctx context.Context, o RecipeOptions, ds, arch string) ([][]string, error) {
	prefix := filepath.Join(o.Out, ds+"-"+arch)
	dataDir := "" // -data-dir names MNIST's folder; Fashion-MNIST is read from its default one
	if ds == "mnist" {
		dataDir = o.DataDir
	}
	if r.TuneEpochs[arch] < 1 {
		return nil, inputErrorf("tnn-mnist: no tuning epochs for architecture %q", arch)
	}
	tune := func(out string) ClassifierConfig {
		return ClassifierConfig{Out: out, Epochs: r.TuneEpochs[arch], Batch: TNNDefaultBatch, LR: r.TuneLR, Cosine: true, Seed: r.Seed, TimeBudget: r.TuneBudget}
	}
	dense := TNNTrainConfig{Arch: arch, Dataset: ds, DataDir: dataDir, TrainLimit: r.TrainLimit, TestLimit: r.TestLimit, Modes: r.Modes,
		Train: ClassifierConfig{Out: prefix + "-dense", Epochs: r.DenseEpochs, Batch: TNNDefaultBatch, LR: 1e-3, Cosine: true, Seed: r.Seed, TimeBudget: r.DenseBudget}}
	dres, err := r.trainOrResume(ctx, o, dense)
	if err != nil {
		return nil, fmt.Errorf("%s %s dense: %w", ds, arch, err)
	}
	accDense := fmtAcc(dres.TestAccuracy)
	rows := [][]string{{ds, arch, "dense", "", "", "", strconv.Itoa(dres.Params), "", "1", accDense, "", "", "", fmtEpochs(dres), ""}}
	fmt.Fprintf(o.Stdout, "%s %s dense: %d parameters, test accuracy %s, epochs %s\n", ds, arch, dres.Params, accDense, fmtEpochs(dres))
	plot := LinePlot{Title: ds + " " + arch, XLabel: "parameters", YLabel: "test accuracy", LogX: true}
	fewest := float64(dres.Params)
	for _, f := range r.Formats {
		ft, sc := Series{Name: f.String() + " fine-tuned"}, Series{Name: f.String() + " from scratch"}
		for _, rank := range r.Ranks {
			name := fmt.Sprintf("%s-%s-r%d", prefix, f, rank)
			fineTune := tune(name + "-ft")
			fineTune.Force = o.Force
			cres, err := CompressTNN(ctx, TNNCompressConfig{Model: dres.Model, Format: f, Rank: rank, Modes: r.Modes, Sweeps: r.Sweeps,
				DataDir: dataDir, TrainLimit: r.TrainLimit, TestLimit: r.TestLimit, SourceAccuracy: dres.TestAccuracy, FineTune: fineTune}, o.Log)
			if err != nil {
				return rows, fmt.Errorf("%s: %w", name, err)
			}
			scratch := dense
			scratch.Format, scratch.Rank, scratch.Train = f, rank, tune(name+"-scratch")
			sres, err := r.trainOrResume(ctx, o, scratch)
			if err != nil {
				return rows, fmt.Errorf("%s scratch: %w", name, err)
			}
			var modes, ranks []string
			for _, l := range cres.Spec.Layers {
				if l.Format != DenseFormat {
					modes = append(modes, l.Name+":"+l.modes())
				}
			}
			for _, l := range cres.Layers {
				ranks = append(ranks, fmt.Sprintf("%s:%v", l.Name, l.Ranks))
			}
			fine := *cres.FineTunedAccuracy
			rows = append(rows, []string{ds, arch, f.String(), strconv.Itoa(rank), strings.Join(modes, " "), strings.Join(ranks, " "), strconv.Itoa(cres.Params),
				strconv.Itoa(cres.WeightsAfter), strconv.FormatFloat(cres.Compression, 'f', 1, 64),
				accDense, fmtAcc(cres.Accuracy), fmtAcc(fine), fmtAcc(sres.TestAccuracy), fmtEpochs(cres.FineTune), fmtEpochs(sres)})
			fmt.Fprintf(o.Stdout, "%s %s %s r=%d: %d parameters (layers %.1f× smaller), accuracy %s compressed, %s fine-tuned (epochs %s), %s from scratch (epochs %s)\n",
				ds, arch, f, rank, cres.Params, cres.Compression, fmtAcc(cres.Accuracy), fmtAcc(fine), fmtEpochs(cres.FineTune), fmtAcc(sres.TestAccuracy), fmtEpochs(sres))
			ft.X, ft.Y = append(ft.X, float64(cres.Params)), append(ft.Y, fine)
			sc.X, sc.Y = append(sc.X, float64(sres.Params)), append(sc.Y, sres.TestAccuracy)
		}
		plot.Series = append(plot.Series, ft, sc)
		fewest = min(fewest, slices.Min(ft.X), slices.Min(sc.X))
	}
	// The dense network's accuracy as a level line across the plot, its
	// size at the right end.
	plot.Series = append([]Series{{Name: "dense", X: []float64{fewest, float64(dres.Params)}, Y: []float64{dres.TestAccuracy, dres.TestAccuracy}}}, plot.Series...)
	if err := plot.WritePNG(filepath.Join(o.Out, ds+"-"+arch+".png"), 720*Pixel, 480*Pixel); err != nil {
		return rows, err
	}
	return rows, nil
}

// trainOrResume runs a training step of the recipe (see classifierOrResume).
func (r TNNRecipe) trainOrResume(ctx context.Context, o RecipeOptions, cfg TNNTrainConfig) (*ClassifierResult, error) {
	m, d, err := cfg.prepare()
	if err != nil {
		return nil, err
	}
	return classifierOrResume(ctx, cfg.Train, m, d, o.Force, o.Log)
}

func fmtAcc(a float64) string { return strconv.FormatFloat(a, 'f', 4, 64) }

// fmtEpochs writes the epochs a run trained, "5", or "1.4 (time)" when its
// time budget stopped it.
func fmtEpochs(res *ClassifierResult) string {
	n := res.Epochs
	if n == 0 {
		n = float64(len(res.History)) // a result written before Epochs was
	}
	if res.TimeUp {
		return strconv.FormatFloat(n, 'f', 1, 64) + " (time)"
	}
	return strconv.FormatFloat(n, 'f', -1, 64)
}
