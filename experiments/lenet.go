package experiments

// A LeNet-style CNN classifying MNIST digits: the check that package nn
// builds and trains more than MLPs (convolution, pooling, cross-entropy over
// integer labels, Adam), not a probabilistic circuit.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
)

// LeNetConfig configures TrainLeNet. Zero fields take the defaults noted.
type LeNetConfig struct {
	// DataDir holds the MNIST IDX files; "" (the default) reads them from
	// the GoMNIST module in the Go module cache (make setup).
	DataDir string
	// Epochs is the number of passes over the training set. Default 3.
	Epochs int
	// Batch is the training batch size; the last partial batch of an epoch
	// is skipped (a different one each epoch, by the shuffle). Default 64.
	Batch int
	// LR is Adam's learning rate. Default 1e-3.
	LR float64
	// Seed seeds the initialisation and the epochs' shuffles.
	Seed uint64
	// Conv1 and Conv2 are the channels of the two convolutions, Hidden the
	// width of the hidden linear layer. Defaults 6, 16, 120 (LeNet-5's).
	Conv1, Conv2, Hidden int
	// TrainLimit and TestLimit, when positive, keep only the first samples
	// of each split (smoke tests). Default 0: all of them.
	TrainLimit, TestLimit int
	// DType is the element type. Default Float32.
	DType nn.DType
	// Out, when set, keeps a run directory there (see TrainClassifier).
	Out string
}

func (c LeNetConfig) withDefaults() LeNetConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Epochs, 3)
	def(&c.Batch, 64)
	def(&c.Conv1, 6)
	def(&c.Conv2, 16)
	def(&c.Hidden, 120)
	if c.LR == 0 {
		c.LR = 1e-3
	}
	return c
}

// validate reports the first bad setting as an *InputError.
func (c LeNetConfig) validate() error {
	switch {
	case c.Epochs < 0:
		return inputErrorf("lenet: epochs %d must be positive", c.Epochs)
	case c.Batch < 0:
		return inputErrorf("lenet: batch %d must be positive", c.Batch)
	case c.Conv1 < 0 || c.Conv2 < 0 || c.Hidden < 0:
		return inputErrorf("lenet: layer widths %d, %d, %d must be positive", c.Conv1, c.Conv2, c.Hidden)
	case c.TrainLimit < 0 || c.TestLimit < 0:
		return inputErrorf("lenet: limits %d, %d must not be negative", c.TrainLimit, c.TestLimit)
	case c.DType != nn.Float32 && c.DType != nn.Float64:
		return inputErrorf("lenet: dtype %v must be float32 or float64", c.DType)
	}
	if err := (optim.AdamConfig{LR: c.LR}).Validate(); err != nil {
		return &InputError{fmt.Errorf("lenet: %w", err)}
	}
	return nil
}

// LeNetEpoch is what one epoch of TrainLeNet achieved.
type LeNetEpoch = ClassifierEpoch

// LeNetResult is the outcome of TrainLeNet.
type LeNetResult = ClassifierResult

// NewLeNet returns a LeNet-style CNN for 28×28 grey images and 10 classes:
// conv 5×5 → ReLU → max-pool 2 → conv 5×5 → ReLU → max-pool 2 → linear →
// ReLU → linear, initialised from rng.
func NewLeNet(c1, c2, hidden int, dt nn.DType, rng *rand.Rand) *nn.Sequential {
	return nn.NewSequential(
		nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: c1, Kernel: [2]int{5, 5}}, dt, rng), // (B, c1, 24, 24)
		nn.Func(nn.ReLU),
		nn.NewMaxPool2d(2, 2, 0), // (B, c1, 12, 12)
		nn.NewConv2d(nn.Conv2dConfig{In: c1, Out: c2, Kernel: [2]int{5, 5}}, dt, rng), // (B, c2, 8, 8)
		nn.Func(nn.ReLU),
		nn.NewMaxPool2d(2, 2, 0), // (B, c2, 4, 4)
		nn.Func(nn.Flatten),      // (B, 16·c2)
		nn.NewLinear(16*c2, hidden, dt, true, rng),
		nn.Func(nn.ReLU),
		nn.NewLinear(hidden, 10, dt, true, rng), // (B, 10) logits
	)
}

// TrainLeNet trains NewLeNet on MNIST with TrainClassifier (Adam and
// cross-entropy, the test accuracy after every epoch, logged to log).
// Bad configuration and missing data are *InputErrors; cancelling ctx stops
// between batches with an error wrapping ctx's.
func TrainLeNet(ctx context.Context, cfg LeNetConfig, log *logrus.Logger) (*LeNetResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d, err := LoadImageData("mnist", cfg.DataDir, cfg.TrainLimit, cfg.TestLimit)
	if err != nil {
		return nil, &InputError{fmt.Errorf("lenet: %w", err)}
	}
	model := NewLeNet(cfg.Conv1, cfg.Conv2, cfg.Hidden, cfg.DType, rand.New(rand.NewPCG(cfg.Seed, 0)))
	m := Classifier{Net: model, InShape: []int{1, 28, 28}, DType: cfg.DType, Meta: map[string]string{
		"arch": fmt.Sprintf("lenet %d %d %d", cfg.Conv1, cfg.Conv2, cfg.Hidden), "init_seed": fmt.Sprint(cfg.Seed)}}
	res, err := TrainClassifier(ctx, ClassifierConfig{Out: cfg.Out, Epochs: cfg.Epochs, Batch: cfg.Batch, LR: cfg.LR, Seed: cfg.Seed}, m, d, log)
	if err != nil && IsInputError(err) {
		return res, &InputError{fmt.Errorf("lenet: %w", err)}
	}
	return res, err
}

// LeNetResultFile is the file runLeNet writes into its output directory.
const LeNetResultFile = "lenet.json"

// runLeNet is the recipe form of TrainLeNet: the default configuration with
// seed 1 (Quick: one epoch on 2,000 training and 500 test images), the
// result written to o.Out as LeNetResultFile and summarised on o.Stdout.
// It always trains afresh (about a minute on 2 cores), so Force changes
// nothing.
func runLeNet(ctx context.Context, o RecipeOptions) error {
	o.defaults("lenet")
	cfg := LeNetConfig{DataDir: o.DataDir, Seed: 1}
	if o.Quick {
		cfg.Epochs, cfg.TrainLimit, cfg.TestLimit = 1, 2000, 500
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return &InputError{fmt.Errorf("lenet: output directory: %w", err)}
	}
	t0 := time.Now()
	res, err := TrainLeNet(ctx, cfg, o.Log)
	if err != nil {
		return err
	}
	path := filepath.Join(o.Out, LeNetResultFile)
	if err := writeJSON(path, res); err != nil {
		return err
	}
	secs := make([]float64, len(res.History))
	for i, h := range res.History {
		secs[i] = h.Seconds
	}
	slices.Sort(secs)
	fmt.Fprintf(o.Stdout, "lenet: test accuracy %.2f%% after %d epochs (median %.1f s per epoch) in %s\n",
		100*res.TestAccuracy, len(res.History), secs[len(secs)/2], time.Since(t0).Round(time.Second))
	fmt.Fprintf(o.Stdout, "  result: %s\n", path)
	return nil
}
