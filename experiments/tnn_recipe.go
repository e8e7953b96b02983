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
// cosine schedule, batch TNNDefaultBatch and seed Seed.
type TNNRecipe struct {
	Datasets []string
	Archs    []string
	Formats  []TNFormat
	// Ranks are the MPO bond dimensions; Tucker and CP match each one's
	// parameter count.
	Ranks []int
	Modes int
	// Epochs trains the dense networks and the tensorized ones from
	// scratch (LR 1e-3); FineTuneEpochs fine-tunes the compressed ones
	// (FineTuneLR).
	Epochs, FineTuneEpochs int
	FineTuneLR             float64
	Sweeps                 int // CP-ALS
	TrainLimit, TestLimit  int
	Seed                   uint64
}

// TNNMNISTRecipe returns the protocol of the tnn-mnist recipe, or its
// smoke test when quick (2,000 training and 500 test images, one epoch,
// ranks 2 and 8).
func TNNMNISTRecipe(quick bool) TNNRecipe {
	r := TNNRecipe{
		Datasets: []string{"mnist", "fashion-mnist"},
		Archs:    []string{"mlp", "cnn"},
		Formats:  []TNFormat{MPOFormat, TuckerFormat, CPFormat},
		Ranks:    []int{2, 4, 8, 16, 32},
		Modes:    4,
		Epochs:   10, FineTuneEpochs: 5, FineTuneLR: 1e-3,
		Sweeps: 50,
		Seed:   1,
	}
	if quick {
		r.Ranks, r.Epochs, r.FineTuneEpochs, r.Sweeps = []int{2, 8}, 1, 1, 5
		r.TrainLimit, r.TestLimit = 2000, 500
	}
	return r
}

// tnnHeader is the recipe table's header.
var tnnHeader = []string{"dataset", "arch", "format", "rank", "layer_ranks", "params", "layer_weights", "compression",
	"acc_dense", "acc_compressed", "acc_finetuned", "acc_scratch"}

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
	train := func(out string, epochs int) ClassifierConfig {
		return ClassifierConfig{Out: out, Epochs: epochs, Batch: TNNDefaultBatch, LR: 1e-3, Cosine: true, Seed: r.Seed}
	}
	dense := TNNTrainConfig{Arch: arch, Dataset: ds, DataDir: dataDir, Train: train(prefix+"-dense", r.Epochs),
		TrainLimit: r.TrainLimit, TestLimit: r.TestLimit, Modes: r.Modes}
	dres, err := r.trainOrResume(ctx, o, dense)
	if err != nil {
		return nil, fmt.Errorf("%s %s dense: %w", ds, arch, err)
	}
	accDense := fmtAcc(dres.TestAccuracy)
	rows := [][]string{{ds, arch, "dense", "", "", strconv.Itoa(dres.Params), "", "1", accDense, "", "", ""}}
	fmt.Fprintf(o.Stdout, "%s %s dense: %d parameters, test accuracy %s\n", ds, arch, dres.Params, accDense)
	plot := LinePlot{Title: ds + " " + arch, XLabel: "parameters", YLabel: "test accuracy", LogX: true}
	fewest := float64(dres.Params)
	for _, f := range r.Formats {
		ft, sc := Series{Name: f.String() + " fine-tuned"}, Series{Name: f.String() + " from scratch"}
		for _, rank := range r.Ranks {
			name := fmt.Sprintf("%s-%s-r%d", prefix, f, rank)
			cres, err := CompressTNN(ctx, TNNCompressConfig{Model: dres.Model, Format: f, Rank: rank, Modes: r.Modes, Sweeps: r.Sweeps,
				DataDir: dataDir, TrainLimit: r.TrainLimit, TestLimit: r.TestLimit,
				FineTune: ClassifierConfig{Out: name + "-ft", Epochs: r.FineTuneEpochs, Batch: TNNDefaultBatch, LR: r.FineTuneLR, Cosine: true, Seed: r.Seed, Force: o.Force}}, o.Log)
			if err != nil {
				return rows, fmt.Errorf("%s: %w", name, err)
			}
			scratch := dense
			scratch.Format, scratch.Rank, scratch.Train = f, rank, train(name+"-scratch", r.Epochs)
			sres, err := r.trainOrResume(ctx, o, scratch)
			if err != nil {
				return rows, fmt.Errorf("%s scratch: %w", name, err)
			}
			var ranks []string
			for _, l := range cres.Layers {
				ranks = append(ranks, fmt.Sprintf("%s:%v", l.Name, l.Ranks))
			}
			fine := *cres.FineTunedAccuracy
			rows = append(rows, []string{ds, arch, f.String(), strconv.Itoa(rank), strings.Join(ranks, " "), strconv.Itoa(cres.Params),
				strconv.Itoa(cres.WeightsAfter), strconv.FormatFloat(cres.Compression, 'f', 1, 64),
				accDense, fmtAcc(cres.Accuracy), fmtAcc(fine), fmtAcc(sres.TestAccuracy)})
			fmt.Fprintf(o.Stdout, "%s %s %s r=%d: %d parameters (layers %.1f× smaller), accuracy %s compressed, %s fine-tuned, %s from scratch\n",
				ds, arch, f, rank, cres.Params, cres.Compression, fmtAcc(cres.Accuracy), fmtAcc(fine), fmtAcc(sres.TestAccuracy))
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
