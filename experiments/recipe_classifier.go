package experiments

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/nn"
)

// The mnist-classifier recipe trains a class-conditional circuit on MNIST
// (MNISTClassifierConfig, with Train) and an MLP built from nn
// (NewMLP, with TrainClassifier), then classifies the test set with a
// fraction of every image's pixels missing, at random: the circuit
// integrates the missing pixels out exactly (p(y | x_o) ∝ p(x_o | y)),
// the MLP receives them mean-imputed (each missing pixel set to its mean
// over the training images). Its table shows the two accuracies against
// the fraction missing.

// MNISTClassifierConfig is the recipe's class-conditional circuit: QG,
// CP, K = 16, binomial inputs (one parameter a unit: a pixel's intensity
// as a count of 255 trials), softmax weights, ten root units, the
// discriminative objective with a share of the joint likelihood (λ, the
// weight of the cross-entropy, MNISTClassifierLambda), Adam lr 0.05,
// within MNISTClassifierBudget; the model of the best validation accuracy
// is kept, and training stops after 10 epochs without a better one. Quick
// shrinks it to a smoke test.
func MNISTClassifierConfig(out string, quick bool) TrainConfig {
	cfg := DefaultTrainConfig()
	cfg.Out = out
	cfg.RG, cfg.Layer, cfg.Units, cfg.Input, cfg.Param = "qg", circuit.CP, 16, circuit.Binomial, circuit.Softmax
	cfg.Classes, cfg.Discriminative = 10, MNISTClassifierLambda
	cfg.LR, cfg.Epochs, cfg.Patience, cfg.TimeBudget = 0.05, 200, 10, MNISTClassifierBudget
	cfg.Monitor = MonitorAccuracy
	if quick {
		cfg.Units, cfg.Limit, cfg.Epochs, cfg.TimeBudget = 4, 1000, 1, 0
	}
	return cfg
}

// MNISTClassifierLambda is the recipe's λ and MNISTClassifierBudget its
// circuit's training budget (docs/RESULTS.md, "mnist-classifier", has the
// recipe's runs).
const (
	MNISTClassifierLambda = 0.9
	MNISTClassifierBudget = 25 * time.Minute
)

// mnistMLPWidths are the recipe's MLP: 784 pixels, two hidden layers of
// 256 ReLU units, 10 logits.
var mnistMLPWidths = []int{784, 256, 256, 10}

// MissingFractions are the fractions of missing pixels the recipe
// evaluates.
var MissingFractions = []float64{0, 0.1, 0.25, 0.5, 0.75, 0.9}

// NewMLP returns a multilayer perceptron over images of widths[0] pixels
// (flattened) with ReLU between its linear layers, initialised from rng.
func NewMLP(widths []int, dt nn.DType, rng *rand.Rand) *nn.Sequential {
	layers := []nn.Module{nn.Func(nn.Flatten)}
	for i := 1; i < len(widths); i++ {
		layers = append(layers, nn.NewLinear(widths[i-1], widths[i], dt, true, rng))
		if i < len(widths)-1 {
			layers = append(layers, nn.Func(nn.ReLU))
		}
	}
	return nn.NewSequential(layers...)
}

// MissingMask marks, in each of n rows of d variables, round(f·d) of them
// missing, drawn uniformly without replacement from a generator seeded by
// seed: the same masks for every model evaluated.
func MissingMask(n, d int, f float64, seed uint64) []bool {
	rng := rand.New(rand.NewPCG(seed, math.Float64bits(f)))
	m := make([]bool, n*d)
	k := int(math.Round(f * float64(d)))
	for i := range n {
		for _, v := range rng.Perm(d)[:k] {
			m[i*d+v] = true
		}
	}
	return m
}

// CircuitAccuracy is a class-conditional circuit's accuracy on ds with the
// entries marked in missing (nil: none) integrated out, evaluated with
// batches of b.
func CircuitAccuracy(c *circuit.Circuit, ds *data.Dataset, missing []bool, b int) (float64, error) {
	prog, err := c.Compile(b, false)
	if err != nil {
		return 0, err
	}
	acc, _, err := classify(prog, ds.X, ds, missing, nil)
	if err != nil {
		return 0, err
	}
	return *acc, nil
}

// ImputedAccuracy is an image classifier's accuracy on ds with the pixels
// marked in missing replaced by their mean over train (intensity/255),
// standardised as TrainClassifier feeds them.
func ImputedAccuracy(m Classifier, train, ds *data.Dataset, missing []bool, mean, std float64) (float64, error) {
	pixMean := make([]float64, ds.D)
	for i := range train.N {
		for v, x := range train.Row(i) {
			pixMean[v] += float64(x) / 255
		}
	}
	for v := range pixMean {
		pixMean[v] /= float64(train.N)
	}
	const batch = 500
	eval := newClassifierEval(m.Net, m.InShape, m.DType, batch, mean, std)
	right := 0
	x := make([]float64, batch*ds.D)
	for lo := 0; lo < ds.N; lo += batch {
		n := min(batch, ds.N-lo)
		p, err := eval.program(n)
		if err != nil {
			return 0, err
		}
		for i := range n {
			for v, px := range ds.Row(lo + i) {
				val := float64(px) / 255
				if missing != nil && missing[(lo+i)*ds.D+v] {
					val = pixMean[v]
				}
				x[i*ds.D+v] = (val - mean) / std
			}
		}
		var feed any = x[:n*ds.D]
		if m.DType == nn.Float32 {
			f := make([]float32, n*ds.D)
			for i, v := range x[:n*ds.D] {
				f[i] = float32(v)
			}
			feed = f
		}
		if err := p.Run(nn.Feed{"x": feed}); err != nil {
			return 0, err
		}
		logits, err := p.Output("logits")
		if err != nil {
			return 0, err
		}
		right += int(math.Round(nn.Accuracy(logits, ds.Labels[lo:lo+n]) * float64(n)))
	}
	return float64(right) / float64(ds.N), nil
}

// mnistClassifierMLP is the recipe's MLP training: Adam lr 1e-3, batch 64,
// 5 epochs (2 minutes on 2 cores).
func mnistClassifierMLP(out string, quick bool) ClassifierConfig {
	cfg := ClassifierConfig{Out: out, Epochs: 5, Batch: 64, LR: 1e-3, Seed: 1}
	if quick {
		cfg.Epochs = 1
	}
	return cfg
}

var classifierHeader = []string{"missing_fraction", "circuit_accuracy", "mlp_imputed_accuracy", "circuit_drop", "mlp_drop"}

func runMNISTClassifier(ctx context.Context, o RecipeOptions) error {
	o.defaults("mnist-classifier")
	t0 := time.Now()
	cfg := MNISTClassifierConfig(filepath.Join(o.Out, "circuit"), o.Quick)
	if o.DataDir != "" {
		cfg.DataDir = o.DataDir
	}
	res, err := trainOrResume(ctx, cfg, o.Force, o.Log)
	if err != nil {
		return err
	}
	model, err := LoadModel(res.Model)
	if err != nil {
		return err
	}
	testLimit := 0
	if o.Quick {
		testLimit = 500
	}
	d, err := LoadImageData("mnist", o.DataDir, cfg.Limit, testLimit)
	if err != nil {
		return err
	}
	mlp := Classifier{Net: NewMLP(mnistMLPWidths, nn.Float32, rand.New(rand.NewPCG(1, 0))), InShape: []int{1, 28, 28}, DType: nn.Float32,
		Meta: map[string]string{"arch": fmt.Sprintf("mlp %v", mnistMLPWidths), "init_seed": "1"}}
	mres, err := classifierOrResume(ctx, mnistClassifierMLP(filepath.Join(o.Out, "mlp"), o.Quick), mlp, d, o.Force, o.Log)
	if err != nil {
		return err
	}
	test := d.Test
	var rows [][]string
	var base [2]float64
	for i, f := range MissingFractions {
		miss := MissingMask(test.N, test.D, f, 42)
		ca, err := CircuitAccuracy(model.Circuit, test, miss, cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("circuit, %g missing: %w", f, err)
		}
		ma, err := ImputedAccuracy(mlp, d.Train, test, miss, d.Mean, d.Std)
		if err != nil {
			return fmt.Errorf("mlp, %g missing: %w", f, err)
		}
		if i == 0 {
			base = [2]float64{ca, ma}
		}
		pct := func(x float64) string { return strconv.FormatFloat(100*x, 'f', 2, 64) }
		rows = append(rows, []string{strconv.FormatFloat(f, 'f', 2, 64), pct(ca), pct(ma), pct(base[0] - ca), pct(base[1] - ma)})
		fmt.Fprintf(o.Stdout, "missing %.0f%%: circuit %.2f%%, MLP (mean-imputed) %.2f%%\n", 100*f, 100*ca, 100*ma)
	}
	if err := writeTable(o.Out, classifierHeader, rows); err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "mnist-classifier: circuit %d epochs (%s), MLP %.1f epochs, in %s\n", res.Epochs, res.Stopped, mres.Epochs, time.Since(t0).Round(time.Second))
	fmt.Fprintf(o.Stdout, "  results: %s, %s\n", filepath.Join(o.Out, "results.csv"), filepath.Join(o.Out, "results.md"))
	return nil
}
