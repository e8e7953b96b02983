package experiments

// A generic training loop for image classifiers built from package nn (the
// LeNet CNN, the tensorized networks of `tenpc tnn`): Adam on the mean
// cross-entropy, test accuracy after every epoch, and, given an output
// directory, the run-directory conventions of Train: config.json,
// metrics.jsonl, checkpoint.tenpc (parameters, Adam's state and progress
// after every epoch, written atomically), model.tenpc, curve.png and
// result.json, with -resume and -force, and a time budget.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
)

// ClassifierConfig configures TrainClassifier. Zero fields take the
// defaults noted.
type ClassifierConfig struct {
	// Out is the run directory; "" trains in memory only (no files, no
	// resuming).
	Out string `json:"out,omitempty"`
	// Epochs is the number of passes over the training set. Default 3.
	Epochs int `json:"epochs"`
	// Batch is the training batch size; the last partial batch of an
	// epoch is skipped (a different one each epoch, by the shuffle).
	// Default 64.
	Batch int `json:"batch"`
	// LR is Adam's learning rate. Default 1e-3.
	LR float64 `json:"lr"`
	// Cosine anneals the learning rate from LR to 0 along half a cosine
	// over all the epochs' steps (optim.Cosine); default false, a constant
	// rate.
	Cosine bool `json:"cosine,omitempty"`
	// Seed seeds the epochs' shuffles (epoch e draws from (Seed, e)).
	Seed uint64 `json:"seed"`
	// EvalBatch is the batch size of the test evaluation. Default 1000.
	EvalBatch int `json:"eval_batch"`
	// TimeBudget, when positive, bounds the time of the run's epochs
	// (training and test evaluation), those of the earlier processes of a
	// resumed run included. No epoch starts that would end past it, judging
	// by the last epoch's duration, and an epoch still running when the
	// budget less an evaluation's time (the last one's, or before any, the
	// first test batch's times the batches) is spent ends there, after at
	// least one batch. The result then depends on the machine's speed, and
	// a cosine schedule stops before its end. It may change when a run is
	// resumed.
	TimeBudget time.Duration `json:"time_budget,omitempty"`
	// Resume continues the run in Out from its checkpoint; Force replaces
	// the run there. Without either, a directory holding a run is an error.
	Resume bool `json:"-"`
	Force  bool `json:"-"`
}

func (c ClassifierConfig) withDefaults() ClassifierConfig {
	if c.Epochs == 0 {
		c.Epochs = 3
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.EvalBatch == 0 {
		c.EvalBatch = 1000
	}
	return c
}

func (c ClassifierConfig) validate() error {
	switch {
	case c.Epochs < 0:
		return inputErrorf("epochs %d must be positive", c.Epochs)
	case c.Batch < 0 || c.EvalBatch < 0:
		return inputErrorf("batch sizes %d, %d must be positive", c.Batch, c.EvalBatch)
	case c.TimeBudget < 0:
		return inputErrorf("time budget %v is negative", c.TimeBudget)
	case c.Resume && c.Force:
		return inputErrorf("-resume and -force exclude each other")
	case (c.Resume || c.Force) && c.Out == "":
		return inputErrorf("-resume and -force need an output directory")
	}
	if err := (optim.AdamConfig{LR: c.LR}).Validate(); err != nil {
		return &InputError{err}
	}
	return nil
}

// Classifier is a network to train: Net maps a batch (B, InShape...) to
// logits (B, classes). Meta identifies the network (its architecture,
// where its starting weights came from): it is written into every model
// and checkpoint file, and a resumed run must have the same.
type Classifier struct {
	Net     nn.Module
	InShape []int
	DType   nn.DType
	Meta    map[string]string
}

// ImageData is a classification dataset: the splits, with labels, and the
// mean and standard deviation of intensity/255 that standardise the pixels.
type ImageData struct {
	Train, Test *data.Dataset
	Mean, Std   float64
}

// ClassifierEpoch is what one epoch achieved (one line of metrics.jsonl).
type ClassifierEpoch struct {
	Epoch        int     `json:"epoch"`
	Steps        int     `json:"steps"` // batches trained; fewer than an epoch's when the time budget ended it
	Loss         float64 `json:"loss"`  // mean training cross-entropy over the epoch's batches, nats
	TestAccuracy float64 `json:"test_accuracy"`
	Seconds      float64 `json:"seconds"`      // training time, evaluation excluded
	EvalSeconds  float64 `json:"eval_seconds"` // the test evaluation's time
}

// duration is the epoch's time as ClassifierConfig.TimeBudget counts it.
func (e ClassifierEpoch) duration() time.Duration { return seconds(e.Seconds + e.EvalSeconds) }

// classifierTime is the time the epochs of hist took, what
// ClassifierConfig.TimeBudget bounds.
func classifierTime(hist []ClassifierEpoch) time.Duration {
	var d time.Duration
	for _, e := range hist {
		d += e.duration()
	}
	return d
}

// ClassifierResult is the outcome of TrainClassifier (result.json).
type ClassifierResult struct {
	Dir          string  `json:"dir,omitempty"`
	Model        string  `json:"model,omitempty"` // the model file, "" without a directory
	Params       int     `json:"params"`
	TestAccuracy float64 `json:"test_accuracy"` // after the last epoch
	// Epochs counts the epochs trained, with a fraction where the time
	// budget ended one midway.
	Epochs float64 `json:"epochs"`
	// Stopped says why training ended: all the epochs done, or the time
	// budget (then TimeUp is set, and more budget would train further).
	Stopped string            `json:"stopped,omitempty"`
	TimeUp  bool              `json:"time_up,omitempty"`
	History []ClassifierEpoch `json:"history"`
}

// ClassifierModelFormat names the model and checkpoint files of
// TrainClassifier (metadata "format").
const ClassifierModelFormat = "tenpc-classifier"

// classifierProgress is a checkpoint's record of where training stands.
type classifierProgress struct {
	Epoch   int               `json:"epoch"`
	History []ClassifierEpoch `json:"history"`
}

// classifierRun is config.json: the configuration and the network's
// identity.
type classifierRun struct {
	Config ClassifierConfig  `json:"config"`
	Meta   map[string]string `json:"model"`
}

// TrainClassifier trains m on d.Train with Adam and the mean cross-entropy
// and measures the test accuracy after every epoch, logging each epoch to
// log, within cfg.TimeBudget if one is set. With cfg.Out it keeps a run
// directory (see the package documentation) and can resume one: a resumed
// run is bit-identical to an uninterrupted one (unless the time budget
// stops either). Bad configuration and a directory holding another run
// are *InputErrors; cancelling ctx stops between batches with an error
// wrapping ctx's, the last checkpoint kept.
func TrainClassifier(ctx context.Context, cfg ClassifierConfig, m Classifier, d ImageData, log *logrus.Logger) (*ClassifierResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = logrus.New()
	}
	if d.Train.N < cfg.Batch {
		return nil, inputErrorf("%d training images, fewer than one batch of %d", d.Train.N, cfg.Batch)
	}
	dir := cfg.Out
	ckpt := filepath.Join(dir, CheckpointFile)
	run := classifierRun{Config: cfg, Meta: m.Meta}
	if dir != "" {
		hasRun := exists(filepath.Join(dir, ConfigFile)) || exists(ckpt)
		switch {
		case hasRun && !cfg.Resume && !cfg.Force:
			return nil, inputErrorf("output directory %s already holds a run; pass -resume to continue it or -force to replace it", dir)
		case cfg.Resume && !exists(ckpt):
			return nil, inputErrorf("-resume: %s holds no checkpoint (%s) to resume", dir, CheckpointFile)
		}
	}

	g := nn.NewGraph(m.DType)
	loss := nn.CrossEntropy(m.Net.Forward(g.Input("x", append([]int{cfg.Batch}, m.InShape...)...)), g.Labels("y", cfg.Batch))
	prog, err := g.Compile(nn.Minimize(loss))
	if err != nil {
		return nil, fmt.Errorf("compile the training program: %w", err)
	}
	eval := newClassifierEval(m.Net, m.InShape, m.DType, cfg.EvalBatch, d.Mean, d.Std)
	steps := d.Train.N / cfg.Batch
	adam := optim.AdamConfig{LR: cfg.LR}
	if cfg.Cosine {
		adam.Schedule = optim.Cosine{Base: cfg.LR, Steps: cfg.Epochs * steps}
	}
	opt := optim.NewAdam(nn.NamedParams(m.Net), adam)
	var prog0 classifierProgress
	if cfg.Resume {
		if err := resumeClassifier(dir, run, m.Net, opt, &prog0); err != nil {
			return nil, err
		}
	}
	res := &ClassifierResult{Dir: dir, Params: nn.ParamCount(m.Net), History: prog0.History}
	if n := len(res.History); n > 0 {
		res.TestAccuracy = res.History[n-1].TestAccuracy
	}
	if dir != "" {
		if err := startRunDir(dir, cfg.Force, run, res.History); err != nil {
			return nil, err
		}
		res.Model = filepath.Join(dir, ModelFile)
	}
	log.WithFields(logrus.Fields{"params": res.Params, "train": d.Train.N, "test": d.Test.N, "batch": cfg.Batch, "blas": nn.BLAS(), "out": dir}).Info("training")
	if cfg.Resume {
		log.WithField("epoch", prog0.Epoch).Info("resuming")
	}

	x := newImageBatch(cfg.Batch*d.Train.D, m.DType, d.Mean, d.Std)
	y := make([]int, cfg.Batch)
	// The time budget counts the epochs of earlier processes of a resumed
	// run too; the last epoch says whether another fits, as it did when it
	// ended.
	budget := cfg.TimeBudget
	spent := classifierTime(res.History)
	var last ClassifierEpoch // the last epoch before this process, zero before the first
	if n := len(res.History); n > 0 {
		last = res.History[n-1]
	}
	if budget > 0 && last.Epoch > 0 && prog0.Epoch < cfg.Epochs && spent+last.duration() > budget {
		res.Stopped, res.TimeUp = fmt.Sprintf("time budget %v: no time for another epoch", budget), true
	}
	// What an epoch leaves for its evaluation: the last one's time, or
	// before any, a prediction from one batch.
	evalTime := seconds(last.EvalSeconds)
	if budget > 0 && last.Epoch == 0 && !res.TimeUp {
		if evalTime, err = eval.duration(d.Test); err != nil {
			return res, fmt.Errorf("time the evaluation: %w", err)
		}
	}
	for epoch := prog0.Epoch + 1; !res.TimeUp && epoch <= cfg.Epochs; epoch++ {
		start := clock()
		perm := epochRand(cfg.Seed, epoch).Perm(d.Train.N)
		bar := newProgressBar(log.Out, fmt.Sprintf("epoch %d/%d", epoch, cfg.Epochs), steps)
		sum, done := 0.0, 0
		for s := range steps {
			// An epoch longer than the budget left ends here, leaving
			// time for the evaluation.
			if budget > 0 && s > 0 && spent+clock().Sub(start)+evalTime >= budget {
				break
			}
			if err := ctx.Err(); err != nil {
				bar.finish()
				return res, fmt.Errorf("training interrupted in epoch %d (%w); the checkpoint of epoch %d is kept", epoch, err, epoch-1)
			}
			idx := perm[s*cfg.Batch : (s+1)*cfg.Batch]
			for i, j := range idx {
				y[i] = d.Train.Labels[j]
			}
			if beforeClassifierStep != nil {
				beforeClassifierStep()
			}
			l, err := prog.Step(nn.Feed{"x": x.fill(d.Train, idx), "y": y})
			if err != nil {
				bar.finish()
				return res, fmt.Errorf("training stopped at epoch %d step %d: %w; the checkpoint of epoch %d is kept", epoch, s+1, err, epoch-1)
			}
			opt.Step()
			sum += l
			done++
			bar.update(s+1, l, cfg.Batch)
		}
		bar.finish()
		took := clock().Sub(start)
		acc, err := eval.accuracy(d.Test)
		if err != nil {
			return res, fmt.Errorf("epoch %d: %w", epoch, err)
		}
		e := ClassifierEpoch{Epoch: epoch, Steps: done, Loss: sum / float64(done), TestAccuracy: acc,
			Seconds: took.Seconds(), EvalSeconds: (clock().Sub(start) - took).Seconds()}
		res.History = append(res.History, e)
		res.TestAccuracy = acc
		spent += e.duration()
		evalTime = seconds(e.EvalSeconds)
		switch {
		case done < steps:
			res.Stopped, res.TimeUp = fmt.Sprintf("time budget %v: ended during epoch %d, after %d of %d batches", budget, epoch, done, steps), true
		case budget > 0 && epoch < cfg.Epochs && spent+e.duration() > budget:
			// Another epoch as long as this one would end past the budget.
			res.Stopped, res.TimeUp = fmt.Sprintf("time budget %v: no time for another epoch", budget), true
		}
		if dir != "" {
			if err := saveClassifierCheckpoint(ckpt, m, opt, classifierProgress{Epoch: epoch, History: res.History}); err != nil {
				return res, err
			}
			if err := appendJSONLine(filepath.Join(dir, MetricsFile), e); err != nil {
				return res, err
			}
			if err := writeClassifierCurve(filepath.Join(dir, CurveFile), res.History); err != nil {
				return res, err
			}
		}
		log.WithFields(logrus.Fields{"epoch": epoch, "loss": round4(e.Loss), "test_accuracy": round4(acc), "seconds": round4(e.Seconds), "eval_seconds": round4(e.EvalSeconds)}).Info("epoch")
	}
	if !res.TimeUp {
		res.Stopped = fmt.Sprintf("epochs done: %d", cfg.Epochs)
	}
	res.Epochs = 0
	for _, e := range res.History {
		if e.Steps == 0 {
			e.Steps = steps // a record written before Steps was
		}
		res.Epochs += float64(e.Steps) / float64(steps)
	}
	log.WithField("reason", res.Stopped).Info("training stopped")
	if dir != "" {
		if err := SaveClassifier(res.Model, m); err != nil {
			return res, err
		}
		if err := writeJSON(filepath.Join(dir, ResultFile), res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// beforeClassifierStep, when set (only by tests), runs before every
// training step of TrainClassifier; the time-budget tests advance a fake
// clock in it.
var beforeClassifierStep func()

// resumeClassifier checks that dir holds the run asked for and loads its
// checkpoint into net, opt and p.
func resumeClassifier(dir string, run classifierRun, net nn.Module, opt optim.Optimizer, p *classifierProgress) error {
	var old classifierRun
	if err := readJSON(filepath.Join(dir, ConfigFile), &old); err != nil {
		return inputErrorf("-resume: %v", err)
	}
	if diff := sameClassifierRun(old, run); diff != "" {
		return inputErrorf("-resume: %s holds another run: %s", dir, diff)
	}
	path := filepath.Join(dir, CheckpointFile)
	st, err := nn.LoadState(path)
	if err != nil {
		return inputErrorf("-resume: %v", err)
	}
	if err := nn.LoadModuleState(net, st); err != nil {
		return inputErrorf("-resume: %s: %v", path, err)
	}
	if err := opt.LoadState(st.Arrays); err != nil {
		return inputErrorf("-resume: %s: %v", path, err)
	}
	if err := json.Unmarshal([]byte(st.Meta["progress"]), p); err != nil {
		return inputErrorf("-resume: %s: bad progress record: %v", path, err)
	}
	return nil
}

// sameClassifierRun says how two runs differ in what resuming must keep:
// everything but the epoch count, and that too under a cosine schedule
// (whose length it sets).
func sameClassifierRun(a, b classifierRun) string {
	ca, cb := a.Config, b.Config
	switch {
	case ca.Cosine != cb.Cosine:
		return fmt.Sprintf("cosine schedule %v, not %v", ca.Cosine, cb.Cosine)
	case ca.Cosine && ca.Epochs != cb.Epochs:
		return fmt.Sprintf("epochs %d, not %d (the cosine schedule's length)", ca.Epochs, cb.Epochs)
	case ca.Batch != cb.Batch:
		return fmt.Sprintf("batch %d, not %d", ca.Batch, cb.Batch)
	case ca.LR != cb.LR:
		return fmt.Sprintf("lr %g, not %g", ca.LR, cb.LR)
	case ca.Seed != cb.Seed:
		return fmt.Sprintf("seed %d, not %d", ca.Seed, cb.Seed)
	case !maps.Equal(a.Meta, b.Meta):
		return fmt.Sprintf("another network (%s)", metaDiff(a.Meta, b.Meta))
	}
	return ""
}

// metaDiff names the first key whose value differs.
func metaDiff(a, b map[string]string) string {
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if a[k] != b[k] {
			return fmt.Sprintf("%s %q, not %q", k, a[k], b[k])
		}
	}
	return "?"
}

// startRunDir prepares dir for the run: -force removes an earlier run's
// files, temporary files of a killed run go, config.json is written and
// metrics.jsonl is rewritten from the history so far.
func startRunDir(dir string, force bool, run classifierRun, hist []ClassifierEpoch) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	if force {
		for _, f := range runFiles {
			if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("-force: %w", err)
			}
		}
	}
	if err := removeTempFiles(dir); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, ConfigFile), run); err != nil {
		return err
	}
	var b strings.Builder
	for _, e := range hist {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return writeFileAtomic(filepath.Join(dir, MetricsFile), []byte(b.String()))
}

// appendJSONLine appends v as one JSON line to path.
func appendJSONLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// saveClassifierCheckpoint writes the parameters, Adam's state and the
// progress to path atomically.
func saveClassifierCheckpoint(path string, m Classifier, opt optim.Optimizer, p classifierProgress) error {
	pj, err := json.Marshal(p)
	if err != nil {
		return err
	}
	meta := classifierMeta(m, "checkpoint")
	meta["progress"] = string(pj)
	st := nn.ModuleState(m.Net, meta)
	st.Arrays = append(st.Arrays, opt.State()...)
	var b bytes.Buffer
	if err := nn.WriteState(&b, st); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return writeFileAtomic(path, b.Bytes())
}

// SaveClassifier writes m's parameters and Meta to path atomically, as a
// model file (format ClassifierModelFormat).
func SaveClassifier(path string, m Classifier) error {
	var b bytes.Buffer
	if err := nn.WriteState(&b, nn.ModuleState(m.Net, classifierMeta(m, "model"))); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return writeFileAtomic(path, b.Bytes())
}

func classifierMeta(m Classifier, kind string) map[string]string {
	meta := maps.Clone(m.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["format"], meta["kind"] = ClassifierModelFormat, kind
	return meta
}

// writeClassifierCurve plots the training loss and the test error per
// epoch (log scale) as a 640×400 PNG.
func writeClassifierCurve(path string, hist []ClassifierEpoch) error {
	loss, errs := Series{Name: "train loss (nats)"}, Series{Name: "test error"}
	for _, e := range hist {
		loss.X, loss.Y = append(loss.X, float64(e.Epoch)), append(loss.Y, e.Loss)
		errs.X, errs.Y = append(errs.X, float64(e.Epoch)), append(errs.Y, 1-e.TestAccuracy)
	}
	return LinePlot{XLabel: "epoch", YLabel: "loss, error", LogY: true, Series: []Series{loss, errs}}.WritePNG(path, 640*Pixel, 400*Pixel)
}

// imageBatch is a feed buffer of standardised pixels in one of the float
// types.
type imageBatch struct {
	f32       []float32
	f64       []float64
	mean, std float64
}

func newImageBatch(n int, dt nn.DType, mean, std float64) *imageBatch {
	if dt == nn.Float64 {
		return &imageBatch{f64: make([]float64, n), mean: mean, std: std}
	}
	return &imageBatch{f32: make([]float32, n), mean: mean, std: std}
}

// fill writes the images idx of d, (len(idx), D), standardised, and
// returns them as feed data.
func (b *imageBatch) fill(d *data.Dataset, idx []int) any {
	n := len(idx) * d.D
	for i, j := range idx {
		for k, v := range d.Row(j) {
			p := (float64(v)/255 - b.mean) / b.std
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
	model     nn.Module
	inShape   []int
	dt        nn.DType
	batch     int
	mean, std float64
	progs     map[int]*nn.Program // by batch size
}

func newClassifierEval(model nn.Module, inShape []int, dt nn.DType, batch int, mean, std float64) *classifierEval {
	return &classifierEval{model: model, inShape: inShape, dt: dt, batch: batch, mean: mean, std: std, progs: map[int]*nn.Program{}}
}

func (c *classifierEval) program(n int) (*nn.Program, error) {
	if p, ok := c.progs[n]; ok {
		return p, nil
	}
	g := nn.NewGraph(c.dt)
	g.Output("logits", c.model.Forward(g.Input("x", append([]int{n}, c.inShape...)...)))
	p, err := g.Compile()
	if err != nil {
		return nil, fmt.Errorf("compile the evaluation program: %w", err)
	}
	c.progs[n] = p
	return p, nil
}

// accuracy is the fraction of d's images whose largest logit is their label.
func (c *classifierEval) accuracy(d *data.Dataset) (float64, error) {
	if d.N == 0 {
		return math.NaN(), nil
	}
	right := 0
	x := newImageBatch(c.batch*d.D, c.dt, c.mean, c.std)
	for lo := 0; lo < d.N; lo += c.batch {
		r, err := c.correct(d, lo, min(c.batch, d.N-lo), x)
		if err != nil {
			return 0, err
		}
		right += r
	}
	return float64(right) / float64(d.N), nil
}

// correct counts the images lo … lo+n−1 of d whose largest logit is their
// label, x being the feed buffer.
func (c *classifierEval) correct(d *data.Dataset, lo, n int, x *imageBatch) (int, error) {
	p, err := c.program(n)
	if err != nil {
		return 0, err
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = lo + i
	}
	if err := p.Run(nn.Feed{"x": x.fill(d, idx)}); err != nil {
		return 0, err
	}
	logits, err := p.Output("logits")
	if err != nil {
		return 0, err
	}
	return int(math.Round(nn.Accuracy(logits, d.Labels[lo:lo+n]) * float64(n))), nil
}

// duration predicts an evaluation's time on d from that of its first
// batch, the program compiled beforehand: what a time budget allows for
// before an evaluation has been timed.
func (c *classifierEval) duration(d *data.Dataset) (time.Duration, error) {
	n := min(c.batch, d.N)
	if n == 0 {
		return 0, nil
	}
	if _, err := c.program(n); err != nil {
		return 0, err
	}
	start := clock()
	if _, err := c.correct(d, 0, n, newImageBatch(n*d.D, c.dt, c.mean, c.std)); err != nil {
		return 0, err
	}
	batches := (d.N + n - 1) / n
	return clock().Sub(start) * time.Duration(batches), nil
}

// classifierOrResume trains cfg as a recipe step: a finished run in
// cfg.Out of the same network and epochs is reported as it is, an
// unfinished one resumed (started over when stopped before its first
// checkpoint), and force starts over. A finished run that its
// time budget stopped goes on when cfg's budget is larger, its budget
// counting the time it already had.
func classifierOrResume(ctx context.Context, cfg ClassifierConfig, m Classifier, d ImageData, force bool, log *logrus.Logger) (*ClassifierResult, error) {
	run := classifierRun{Config: cfg.withDefaults(), Meta: m.Meta}
	if !force && exists(filepath.Join(cfg.Out, ResultFile)) {
		var old classifierRun
		if err := readJSON(filepath.Join(cfg.Out, ConfigFile), &old); err != nil {
			return nil, inputErrorf("%s: %v (pass -force to start over)", cfg.Out, err)
		}
		diff := sameClassifierRun(old, run)
		if diff == "" && old.Config.Epochs != run.Config.Epochs {
			diff = fmt.Sprintf("epochs %d, not %d", old.Config.Epochs, run.Config.Epochs)
		}
		if diff != "" {
			return nil, inputErrorf("%s holds another run (%s); pass -force to replace it", cfg.Out, diff)
		}
		var res ClassifierResult
		if err := readJSON(filepath.Join(cfg.Out, ResultFile), &res); err != nil {
			return nil, inputErrorf("%s: %v (pass -force to start over)", cfg.Out, err)
		}
		now, then := run.Config.TimeBudget, old.Config.TimeBudget
		switch {
		case now == then, !res.TimeUp && (now == 0 || now >= classifierTime(res.History)):
			// The budget asked for would have stopped the run where it did.
			log.WithField("dir", cfg.Out).Info("finished run found; not retraining (pass -force to start over)")
			return &res, nil
		case !res.TimeUp:
			return nil, inputErrorf("%s holds a run that took %v, more than the time budget %v; pass -force to replace it", cfg.Out, classifierTime(res.History).Round(time.Second), now)
		case now != 0 && now < then:
			return nil, inputErrorf("%s holds a run with a larger time budget (%v, not %v); pass -force to replace it", cfg.Out, then, now)
		}
		// Stopped by a smaller budget than cfg's: it goes on.
	}
	// A run stopped in its first epoch left config.json and no checkpoint:
	// nothing to resume, so it starts over.
	hasRun := exists(filepath.Join(cfg.Out, ConfigFile)) || exists(filepath.Join(cfg.Out, CheckpointFile))
	cfg.Resume = !force && exists(filepath.Join(cfg.Out, CheckpointFile))
	cfg.Force = hasRun && !cfg.Resume
	return TrainClassifier(ctx, cfg, m, d, log)
}

// Pixels are standardised with the training set's mean and standard
// deviation of intensity/255: MNIST (0.1307, 0.3081), the values PyTorch's
// MNIST example uses; Fashion-MNIST (0.2860, 0.3530), the training set's.
const (
	mnistMean   = 0.1307
	mnistStd    = 0.3081
	fashionMean = 0.2860
	fashionStd  = 0.3530
)

// LoadImageData loads "mnist" or "fashion-mnist" (from dir, "" for the
// default location) with labels and the standardisation constants; a
// positive limit keeps only the first images of a split (smoke tests).
func LoadImageData(dataset, dir string, trainLimit, testLimit int) (ImageData, error) {
	if trainLimit < 0 || testLimit < 0 {
		return ImageData{}, inputErrorf("limits %d, %d must not be negative", trainLimit, testLimit)
	}
	var sp data.Splits
	var err error
	d := ImageData{}
	switch dataset {
	case "mnist":
		sp, err = data.MNIST(data.Options{Dir: dir})
		d.Mean, d.Std = mnistMean, mnistStd
	case "fashion-mnist":
		sp, err = data.FashionMNIST(data.Options{Dir: dir})
		d.Mean, d.Std = fashionMean, fashionStd
	default:
		return ImageData{}, inputErrorf("dataset %q: want mnist or fashion-mnist", dataset)
	}
	if err != nil {
		return ImageData{}, &InputError{err}
	}
	d.Train, d.Test = sp.Train, sp.Test
	if trainLimit > 0 {
		d.Train = d.Train.Limit(trainLimit)
	}
	if testLimit > 0 {
		d.Test = d.Test.Limit(testLimit)
	}
	return d, nil
}
