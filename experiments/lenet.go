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

	"github.com/tenpc/tenpc/data"
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
type LeNetEpoch struct {
	Epoch        int     `json:"epoch"`
	Loss         float64 `json:"loss"` // mean training cross-entropy over the epoch's batches, nats
	TestAccuracy float64 `json:"test_accuracy"`
	Seconds      float64 `json:"seconds"` // training time, evaluation excluded
}

// LeNetResult is the outcome of TrainLeNet.
type LeNetResult struct {
	Params       int          `json:"params"`
	TestAccuracy float64      `json:"test_accuracy"` // after the last epoch
	History      []LeNetEpoch `json:"history"`
}

// MNIST pixels are standardised with the training set's mean and standard
// deviation of intensity/255 (0.1307, 0.3081; the values PyTorch's MNIST
// example uses).
const (
	mnistMean = 0.1307
	mnistStd  = 0.3081
)

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

// TrainLeNet trains NewLeNet on MNIST with Adam and cross-entropy, and
// evaluates the test accuracy after every epoch, logging each epoch to log.
// Bad configuration and missing data are *InputErrors; cancelling ctx stops
// between batches with ctx's error.
func TrainLeNet(ctx context.Context, cfg LeNetConfig, log *logrus.Logger) (*LeNetResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = logrus.New()
	}
	sp, err := data.MNIST(data.Options{Dir: cfg.DataDir})
	if err != nil {
		return nil, &InputError{fmt.Errorf("lenet: %w", err)}
	}
	train, test := sp.Train, sp.Test
	if cfg.TrainLimit > 0 {
		train = train.Limit(cfg.TrainLimit)
	}
	if cfg.TestLimit > 0 {
		test = test.Limit(cfg.TestLimit)
	}
	if train.N < cfg.Batch {
		return nil, inputErrorf("lenet: %d training images, fewer than one batch of %d", train.N, cfg.Batch)
	}

	model := NewLeNet(cfg.Conv1, cfg.Conv2, cfg.Hidden, cfg.DType, rand.New(rand.NewPCG(cfg.Seed, 0)))
	g := nn.NewGraph(cfg.DType)
	loss := nn.CrossEntropy(model.Forward(g.Input("x", cfg.Batch, 1, 28, 28)), g.Labels("y", cfg.Batch))
	prog, err := g.Compile(nn.Minimize(loss))
	if err != nil {
		return nil, fmt.Errorf("lenet: compile the training program: %w", err)
	}
	eval := newClassifierEval(model, cfg.DType, 1000)
	opt := optim.NewAdam(nn.NamedParams(model), optim.AdamConfig{LR: cfg.LR})
	res := &LeNetResult{Params: nn.ParamCount(model)}
	log.WithFields(logrus.Fields{"params": res.Params, "train": train.N, "test": test.N, "batch": cfg.Batch, "blas": nn.BLAS()}).Info("lenet")

	x := newImageBatch(cfg.Batch*train.D, cfg.DType)
	y := make([]int, cfg.Batch)
	steps := train.N / cfg.Batch
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		start := time.Now()
		perm := epochRand(cfg.Seed, epoch).Perm(train.N)
		sum := 0.0
		for s := range steps {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			idx := perm[s*cfg.Batch : (s+1)*cfg.Batch]
			for i, j := range idx {
				y[i] = train.Labels[j]
			}
			l, err := prog.Step(nn.Feed{"x": x.fill(train, idx), "y": y})
			if err != nil {
				return res, fmt.Errorf("lenet: epoch %d step %d: %w", epoch, s, err)
			}
			opt.Step()
			sum += l
		}
		took := time.Since(start)
		acc, err := eval.accuracy(test)
		if err != nil {
			return res, fmt.Errorf("lenet: epoch %d: %w", epoch, err)
		}
		e := LeNetEpoch{Epoch: epoch, Loss: sum / float64(steps), TestAccuracy: acc, Seconds: took.Seconds()}
		res.History = append(res.History, e)
		res.TestAccuracy = acc
		log.WithFields(logrus.Fields{"epoch": epoch, "loss": round4(e.Loss), "test_accuracy": round4(acc), "seconds": round4(e.Seconds)}).Info("epoch")
	}
	return res, nil
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

// imageBatch is a feed buffer of standardised pixels in one of the float
// types.
type imageBatch struct {
	f32 []float32
	f64 []float64
}

func newImageBatch(n int, dt nn.DType) *imageBatch {
	if dt == nn.Float64 {
		return &imageBatch{f64: make([]float64, n)}
	}
	return &imageBatch{f32: make([]float32, n)}
}

// fill writes the images idx of d, (len(idx), D), and returns them as feed
// data.
func (b *imageBatch) fill(d *data.Dataset, idx []int) any {
	n := len(idx) * d.D
	for i, j := range idx {
		for k, v := range d.Row(j) {
			p := (float64(v)/255 - mnistMean) / mnistStd
			if b.f64 != nil {
				b.f64[i*d.D+k] = p
			} else {
				b.f32[i*d.D+k] = float32(p)
			}
		}
	}
	if b.f64 != nil {
		return b.f64[:n]
	}
	return b.f32[:n]
}

// classifierEval computes a classifier's accuracy with evaluation programs
// (no dropout, no gradients) over batches of a fixed size, compiling one
// more program for a last partial batch when a dataset needs it.
type classifierEval struct {
	model nn.Module
	dt    nn.DType
	batch int
	progs map[int]*nn.Program // by batch size
}

func newClassifierEval(model nn.Module, dt nn.DType, batch int) *classifierEval {
	return &classifierEval{model: model, dt: dt, batch: batch, progs: map[int]*nn.Program{}}
}

func (c *classifierEval) program(n int) (*nn.Program, error) {
	if p, ok := c.progs[n]; ok {
		return p, nil
	}
	g := nn.NewGraph(c.dt)
	g.Output("logits", c.model.Forward(g.Input("x", n, 1, 28, 28)))
	p, err := g.Compile()
	if err != nil {
		return nil, fmt.Errorf("compile the evaluation program: %w", err)
	}
	c.progs[n] = p
	return p, nil
}

// accuracy is the fraction of d's images whose largest logit is their label.
func (c *classifierEval) accuracy(d *data.Dataset) (float64, error) {
	right := 0.0
	x := newImageBatch(c.batch*d.D, c.dt)
	idx := make([]int, 0, c.batch)
	for lo := 0; lo < d.N; lo += c.batch {
		n := min(c.batch, d.N-lo)
		p, err := c.program(n)
		if err != nil {
			return 0, err
		}
		idx = idx[:0]
		for i := range n {
			idx = append(idx, lo+i)
		}
		if err := p.Run(nn.Feed{"x": x.fill(d, idx)}); err != nil {
			return 0, err
		}
		logits, err := p.Output("logits")
		if err != nil {
			return 0, err
		}
		right += nn.Accuracy(logits, d.Labels[lo:lo+n]) * float64(n)
	}
	return right / float64(d.N), nil
}
