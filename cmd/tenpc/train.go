package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("train", "train a circuit on a dataset (checkpoints, early stopping, plots)", runTrain)
	register("finetune", "train a model file further (train with -init required; the architecture is the model's)", runFinetune)
}

// logOut receives the logs and progress bars of long-running commands.
var logOut io.Writer = os.Stderr

func newLogger() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(logOut)
	log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05"})
	return log
}

// inputErr turns experiments' input errors into usage errors (status 2).
func inputErr(err error) error {
	if err != nil && experiments.IsInputError(err) {
		return usageError{err}
	}
	return err
}

// interruptible returns a context cancelled by Ctrl-C, so training stops
// between batches with its last checkpoint intact.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func runTrain(args []string, stdout io.Writer) error { return trainCommand("train", args, stdout) }

func runFinetune(args []string, stdout io.Writer) error {
	return trainCommand("finetune", args, stdout)
}

// trainCommand runs train, or finetune: train with -init required.
func trainCommand(name string, args []string, stdout io.Writer) error {
	def := experiments.DefaultTrainConfig()
	fs := newFlagSet(name, stdout)
	dataset := fs.String("dataset", def.Dataset, "dataset: mnist, fashion-mnist, debd:DIR/NAME, images:DIR or csv:DESC.json (a table of mixed types; see docs/TABULAR.md)")
	dataDir := fs.String("data-dir", "", "directory of the MNIST / Fashion-MNIST files (default: the standard location)")
	rg := fs.String("rg", def.RG, "region graph: "+experiments.RGNames+" (see 'tenpc rg -h')")
	layer := fs.String("layer", def.Layer.String(), "sum-product layer: "+experiments.LayerNames()+" (or one a package registers with circuit.RegisterLayer)")
	engine := fs.String("engine", def.Engine.String(), "how programs compute the layers: fused (kernels) or graph (the reference composed of nn ops, several times slower)")
	k := fs.Int("k", def.Units, "units per region (K)")
	rank := fs.Int("rank", 0, "rank R of cp-r layers (default K)")
	monoK := fs.Int("mono-k", 0, "with -param real: multiply the squared circuit by a monotonic circuit of this K on the same region graph, p = m·c²/Z (0: none)")
	input := fs.String("input", def.Input.String(), "input distribution: categorical, bernoulli, binomial, gaussian, or embedding (real values of either sign, squared circuits: -param real)")
	param := fs.String("param", def.Param.String(), "weight parameterization: clamp, softmax, exp, or real (none): weights of either sign, a squared circuit p = c²/Z on a structured-decomposable region graph (qt2, qt4, rbt:1, cl, linear)")
	scale := fs.String("scale", "", "how values become gaussian inputs: none (raw), unit ([0, 1]) or standard ([0, 1], then the training set's mean and std per channel); default standard with -input gaussian, none otherwise")
	weightInit := fs.String("weight-init", def.WeightInit.String(), "inner weights' initializer: uniform (0.01..0.99, the reference protocol's), normal (|N(0,1)|; N(0,1) of either sign with -param real) or dirichlet")
	classes := fs.Int("classes", 0, "train a class-conditional circuit with this many root units, one per class, on the dataset's labels (mnist, fashion-mnist: 10); 0: a density")
	disc := fs.Float64("discriminative", 0, "with -classes: the weight λ in [0, 1] of the cross-entropy of p(y|x) against the joint NLL −log p(x, y) (0: generative, 1: discriminative)")
	optimizer := fs.String("optimizer", def.Optimizer.String(), "optimizer: adam, sgd or em (expectation-maximization: clamp or exp weights, any input)")
	lr := fs.Float64("lr", def.LR, "learning rate; EM's step size in (0, 1] with -optimizer em (with -rg pd and no -lr: 0.1, as in the reference protocol)")
	pseudo := fs.Float64("pseudo-count", 0, "with -optimizer em: pseudo-count added to every expected count (Laplace smoothing at 1)")
	fullBatch := fs.Bool("full-batch", false, "with -optimizer em: one M-step per epoch over all its batches' counts (classic EM with -lr 1); default one per batch (online EM)")
	emDecay := fs.Float64("em-decay", 0, "with -optimizer em: the step size decays as LR·(1 + epochs done)^(−κ) for this κ (0: constant)")
	soften := fs.Float64("soften", 0, "train on softened data: each observed value reads as itself with probability β ∈ (1/C, 1] and as each other value with the rest shared (Liu & Van den Broeck 2021; categorical and bernoulli inputs; 0: off)")
	batch := fs.Int("batch-size", def.BatchSize, "mini-batch size (evaluation too)")
	epochs := fs.Int("epochs", def.Epochs, "largest number of epochs")
	patience := fs.Int("patience", def.Patience, "stop after this many epochs without a better validation log-likelihood (0: never)")
	lrDecay := fs.Float64("lr-decay", 0, "multiply the learning rate by this factor in (0, 1) after every -lr-patience epochs without a better validation score (0: never; Adam and SGD)")
	lrPatience := fs.Int("lr-patience", 3, "epochs without a better validation score before -lr-decay applies")
	monitor := fs.String("monitor", experiments.MonitorObjective, "the validation figure that picks the best model and stops early: objective (the log-likelihood, or a classifier's objective) or accuracy (with -classes)")
	budget := fs.Duration("time-budget", 0, "bound the training time, a resumed run's earlier epochs included: no epoch starts that would end past it (judged by the last epoch), and one still running at it ends there; e.g. 9m (0: none)")
	seed := fs.Uint64("seed", def.Seed, "seed of the initialization and the batch order")
	validFrac := fs.Float64("valid-fraction", def.ValidFraction, "fraction of the training set held out for validation (split seed 42)")
	limit := fs.Int("limit", 0, "use only the first N samples of every split (0: all)")
	out := fs.String("out", "", "run directory (required)")
	resume := fs.Bool("resume", false, "continue the run in -out from its last checkpoint")
	force := fs.Bool("force", false, "replace the run in -out if there is one")
	init := fs.String("init", "", "start from the parameters of this model file, a compressed one included; the architecture flags (-rg, -layer, -k, -rank, -input, -param, -scale) default to the model's and must agree with it (but -param exp -optimizer em may start from a softmax model)")
	maxMem := fs.String("max-memory", "", "refuse a model whose parameters and activations would need more memory than this, e.g. 512M or 2G (default: the memory available)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := def
	cfg.Dataset, cfg.DataDir, cfg.RG, cfg.Units, cfg.Rank, cfg.MonoUnits = *dataset, *dataDir, *rg, *k, *rank, *monoK
	cfg.LR, cfg.BatchSize, cfg.Epochs, cfg.Patience, cfg.TimeBudget = *lr, *batch, *epochs, *patience, *budget
	if *lrDecay != 0 {
		cfg.LRDecay, cfg.LRPatience = *lrDecay, *lrPatience
	}
	cfg.Seed, cfg.ValidFraction, cfg.Limit = *seed, *validFrac, *limit
	cfg.PseudoCount, cfg.FullBatch, cfg.EMDecay, cfg.Soften = *pseudo, *fullBatch, *emDecay, *soften
	cfg.Classes, cfg.Discriminative, cfg.Monitor = *classes, *disc, *monitor
	cfg.Out, cfg.Resume, cfg.Force, cfg.Init = *out, *resume, *force, *init
	if name == "finetune" && cfg.Init == "" {
		return badInput("missing -init MODEL (the model to fine-tune)")
	}
	var err error
	if cfg.MaxMemory, err = parseMaxMemory(*maxMem); err != nil {
		return err
	}
	if cfg.Layer, err = experiments.ParseLayer(*layer); err != nil {
		return badInput("-layer: %v", err)
	}
	if cfg.Engine, err = experiments.ParseEngine(*engine); err != nil {
		return badInput("-engine: %v", err)
	}
	if cfg.Input, err = experiments.ParseInput(*input); err != nil {
		return badInput("-input: %v", err)
	}
	if cfg.Param, err = experiments.ParseParam(*param); err != nil {
		return badInput("-param: %v", err)
	}
	if cfg.WeightInit, err = experiments.ParseInit(*weightInit); err != nil {
		return badInput("-weight-init: %v", err)
	}
	cfg.Scale = experiments.DefaultScale(cfg.Input)
	if *scale != "" {
		if cfg.Scale, err = experiments.ParseScale(*scale); err != nil {
			return badInput("-scale: %v", err)
		}
	}
	if cfg.Optimizer, err = experiments.ParseOptimizer(*optimizer); err != nil {
		return badInput("-optimizer: %v", err)
	}
	if cfg.Out == "" {
		return badInput("missing -out DIR (the run directory)")
	}
	if cfg.Init != "" && !cfg.Resume {
		// The architecture comes from the model file; flags the user set
		// must agree with it.
		if err := cfg.ArchFromInit(set); err != nil {
			return inputErr(err)
		}
	}
	if (cfg.RG == "pd" || strings.HasPrefix(cfg.RG, "pd:")) && !set["lr"] {
		cfg.LR = 0.1
	}
	ctx, stop := interruptible()
	defer stop()
	res, err := experiments.Train(ctx, cfg, newLogger())
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return inputErr(err)
	}
	printResult(stdout, res)
	return nil
}

func printResult(w io.Writer, res *experiments.Result) {
	fmt.Fprintf(w, "test: LL %.4f nats, %.4f bpd (%d samples); best epoch %d of %d (%s)\n",
		res.Test.LL, res.Test.BPD, res.Test.N, res.BestEpoch, res.Epochs, res.Stopped)
	if res.Test.Accuracy != nil {
		fmt.Fprintf(w, "test accuracy: %.4f, cross-entropy %.4f nats\n", *res.Test.Accuracy, *res.Test.CrossEntropy)
	}
	fmt.Fprintf(w, "model:   %s\n", res.Model)
	fmt.Fprintf(w, "curve:   %s\n", res.Curve)
	if res.Samples != "" {
		fmt.Fprintf(w, "samples: %s\n", res.Samples)
	}
	fmt.Fprintf(w, "metrics: %s\n", res.Metrics)
}
