package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("tnn", "tensorized neural networks: train, compress, inspect, eval", runTNN)
}

const tnnUsage = `usage:
  tenpc tnn train -arch mlp|cnn -out DIR [-dataset mnist|fashion-mnist] [-format dense|mpo|tucker|cp -rank R] [-epochs N] ...
  tenpc tnn compress -model FILE -format mpo|tucker|cp (-rank R | -tol EPS) [-layers fc1,fc2] [-epochs 5 -out DIR] ...
  tenpc tnn inspect -model FILE -out DIR [-layers fc1,fc2] [-batch N]
  tenpc tnn eval -model FILE [-dataset NAME] [-limit N]

The MLP is 784-1024-1024-10 (layers fc1, fc2, fc3), the CNN conv 5×5 16 →
pool → conv 5×5 32 → pool → 256 → 10 (conv1, conv2, fc1, fc2). Run
'tenpc tnn <subcommand> -h' for its flags; docs/TNN.md describes the layers.
`

func runTNN(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return badInput("missing subcommand: train, compress, inspect or eval (run 'tenpc tnn -h')")
	}
	switch args[0] {
	case "train":
		return runTNNTrain(args[1:], stdout)
	case "compress":
		return runTNNCompress(args[1:], stdout)
	case "inspect":
		return runTNNInspect(args[1:], stdout)
	case "eval":
		return runTNNEval(args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, tnnUsage)
		return errHelp
	}
	return badInput("unknown subcommand %q: want train, compress, inspect or eval", args[0])
}

// tnnTrainFlags are the training flags train and compress share.
type tnnTrainFlags struct {
	epochs, batch    *int
	lr               *float64
	cosine           *bool
	seed             *uint64
	limit, testLimit *int
	out              *string
	resume, force    *bool
	dataset, dataDir *string
	budget           *time.Duration
}

func addTNNTrainFlags(fs *flag.FlagSet, epochs int, lr float64, datasetHelp string) tnnTrainFlags {
	return tnnTrainFlags{
		epochs:    fs.Int("epochs", epochs, "epochs of training"),
		batch:     fs.Int("batch", experiments.TNNDefaultBatch, "batch size"),
		lr:        fs.Float64("lr", lr, "Adam's learning rate"),
		cosine:    fs.Bool("cosine", true, "anneal the learning rate to 0 along a cosine over the epochs (-cosine=false: constant)"),
		seed:      fs.Uint64("seed", 1, "seed of the initialisation and the shuffles"),
		limit:     fs.Int("limit", 0, "use only the first N training images (0: all)"),
		testLimit: fs.Int("test-limit", 0, "use only the first N test images (0: all)"),
		out:       fs.String("out", "", "run directory (config, metrics, checkpoint, model, curve, result)"),
		resume:    fs.Bool("resume", false, "continue the run in -out from its checkpoint"),
		force:     fs.Bool("force", false, "replace the run in -out"),
		dataset:   fs.String("dataset", "mnist", datasetHelp),
		dataDir:   fs.String("data-dir", "", "directory of the dataset's IDX files (default: its standard location)"),
		budget:    fs.Duration("time-budget", 0, "bound the time of the epochs (training and test evaluation), a resumed run's earlier ones included: no epoch starts that would end past it, and one still running at it ends there; e.g. 9m (0: none)"),
	}
}

func (f tnnTrainFlags) config() experiments.ClassifierConfig {
	return experiments.ClassifierConfig{Out: *f.out, Epochs: *f.epochs, Batch: *f.batch, LR: *f.lr, Cosine: *f.cosine, Seed: *f.seed, Resume: *f.resume, Force: *f.force, TimeBudget: *f.budget}
}

func runTNNTrain(args []string, stdout io.Writer) error {
	fs := newFlagSet("tnn train", stdout)
	arch := fs.String("arch", "mlp", "network: mlp or cnn")
	format := fs.String("format", "dense", "tensorize -layers from the start: dense, mpo, tucker or cp")
	layers := fs.String("layers", "", "layers to tensorize (default: mlp fc1,fc2; cnn conv2,fc1)")
	rank := fs.Int("rank", 8, "MPO bond dimension (Tucker and CP: ranks of the MPO's parameter count)")
	modes := fs.Int("modes", 4, "MPO and CP modes per side")
	tf := addTNNTrainFlags(fs, 10, 1e-3, "dataset: mnist or fashion-mnist")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *tf.out == "" {
		return badInput("missing -out DIR")
	}
	f, err := experiments.ParseTNFormat(*format)
	if err != nil {
		return inputErr(err)
	}
	ctx, stop := interruptible()
	defer stop()
	res, err := experiments.TrainTNN(ctx, experiments.TNNTrainConfig{Arch: *arch, Dataset: *tf.dataset, DataDir: *tf.dataDir,
		Format: f, Layers: splitList(*layers), Rank: *rank, Modes: *modes, Train: tf.config(), TrainLimit: *tf.limit, TestLimit: *tf.testLimit}, newLogger())
	if err != nil {
		return inputErr(err)
	}
	fmt.Fprintf(stdout, "test accuracy %.4f after %d epochs, %d parameters\n  model: %s\n", res.TestAccuracy, len(res.History), res.Params, res.Model)
	return nil
}

func runTNNCompress(args []string, stdout io.Writer) error {
	fs := newFlagSet("tnn compress", stdout)
	model := fs.String("model", "", "trained model file (required)")
	format := fs.String("format", "", "mpo, tucker or cp (required)")
	layers := fs.String("layers", "", "layers to compress (default: mlp fc1,fc2; cnn conv2,fc1)")
	rank := fs.Int("rank", 0, "MPO bond dimension (Tucker and CP: ranks of the MPO's parameter count); with -tol a cap")
	tol := fs.Float64("tol", 0, "relative error ε: each bond keeps the fewest singular values whose discarded tail has norm ≤ ε/√bonds·‖W‖ (CP: the smallest rank within ε)")
	modes := fs.Int("modes", 4, "MPO and CP modes per side")
	sweeps := fs.Int("sweeps", 50, "CP-ALS sweeps")
	tf := addTNNTrainFlags(fs, 5, 1e-3, "dataset (default: the model's)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *model == "" || *format == "" {
		return badInput("missing -model FILE or -format mpo|tucker|cp")
	}
	f, err := experiments.ParseTNFormat(*format)
	if err != nil {
		return inputErr(err)
	}
	dataset := *tf.dataset
	if !flagSet(fs, "dataset") {
		dataset = ""
	}
	ctx, stop := interruptible()
	defer stop()
	res, err := experiments.CompressTNN(ctx, experiments.TNNCompressConfig{Model: *model, Layers: splitList(*layers), Format: f,
		Rank: *rank, Tol: *tol, Modes: *modes, Sweeps: *sweeps, Dataset: dataset, DataDir: *tf.dataDir,
		TrainLimit: *tf.limit, TestLimit: *tf.testLimit, FineTune: tf.config()}, newLogger())
	if err != nil {
		return inputErr(err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\tformat\tranks\tweights\tdense\trel. error")
	for _, l := range res.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%d\t%.4f\n", l.Name, l.Format, l.Ranks, l.Params, l.DenseParams, l.RelError)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "compression %.1f× (the layers' weights), network %d parameters (was %d)\n", res.Compression, res.Params, res.SourceParams)
	fmt.Fprintf(stdout, "test accuracy: %.4f before compression, %.4f after", res.SourceAccuracy, res.Accuracy)
	if res.FineTunedAccuracy != nil {
		fmt.Fprintf(stdout, ", %.4f after %d epochs of fine-tuning", *res.FineTunedAccuracy, len(res.FineTune.History))
	}
	fmt.Fprintln(stdout)
	if res.Model != "" {
		fmt.Fprintf(stdout, "  model: %s\n", res.Model)
	}
	return nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runTNNInspect(args []string, stdout io.Writer) error {
	fs := newFlagSet("tnn inspect", stdout)
	model := fs.String("model", "", "model file (required)")
	out := fs.String("out", "", "output directory (required)")
	layers := fs.String("layers", "", "layers to inspect (default: mlp fc1,fc2; cnn conv2,fc1)")
	modes := fs.Int("modes", 4, "MPO modes of the TT-SVD spectra of dense layers")
	batch := fs.Int("batch", 256, "test images whose activations are measured")
	dataset := fs.String("dataset", "", "dataset of those images (default: the model's)")
	dataDir := fs.String("data-dir", "", "directory of the dataset's IDX files")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *model == "" || *out == "" {
		return badInput("missing -model FILE or -out DIR")
	}
	res, err := experiments.InspectTNN(experiments.TNNInspectConfig{Model: *model, Out: *out, Layers: splitList(*layers),
		Modes: *modes, Dataset: *dataset, DataDir: *dataDir, Batch: *batch})
	if err != nil {
		return inputErr(err)
	}
	fmt.Fprintf(stdout, "spectra:     %s\nactivations: %s\n", res.Spectra, res.Activations)
	for _, p := range res.Plots {
		fmt.Fprintf(stdout, "plot:        %s\n", p)
	}
	return nil
}

func runTNNEval(args []string, stdout io.Writer) error {
	fs := newFlagSet("tnn eval", stdout)
	model := fs.String("model", "", "model file (required)")
	dataset := fs.String("dataset", "", "dataset (default: the model's)")
	dataDir := fs.String("data-dir", "", "directory of the dataset's IDX files")
	limit := fs.Int("limit", 0, "use only the first N test images (0: all)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *model == "" {
		return badInput("missing -model FILE")
	}
	res, err := experiments.EvalTNN(experiments.TNNEvalConfig{Model: *model, Dataset: *dataset, DataDir: *dataDir, TestLimit: *limit})
	if err != nil {
		return inputErr(err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\tformat\tparams\tFLOPs/image\tshape")
	for _, l := range res.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", l.Name, l.Format, l.Params, l.FLOPs, l.Describe)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%s test: %d images, accuracy %.4f; %d parameters, %d FLOPs per image\n", res.Dataset, res.N, res.Accuracy, res.Params, res.FLOPs)
	return nil
}
