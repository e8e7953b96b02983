package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
	"github.com/tenpc/tenpc/regiongraph"
)

// The files of a run directory.
const (
	ConfigFile     = "config.json"      // the TrainConfig
	MetricsFile    = "metrics.jsonl"    // one EpochMetrics per line
	CheckpointFile = "checkpoint.tenpc" // parameters, optimizer state and progress after the last epoch
	ModelFile      = "model.tenpc"      // the best model (by validation log-likelihood)
	CurveFile      = "curve.png"        // train/valid bpd per epoch
	SamplesFile    = "samples.png"      // a grid of samples (image data)
	ResultFile     = "result.json"      // the Result of the finished run
)

// runFiles are the files a run writes; -force removes them first.
var runFiles = []string{ConfigFile, MetricsFile, CheckpointFile, ModelFile, CurveFile, SamplesFile, ResultFile}

// EpochMetrics is one line of metrics.jsonl. NLLs are in nats per sample,
// bpd = NLL / (ln 2 · D). The training NLL is the mean over the epoch's
// batches as they were trained (the parameters move during the epoch).
type EpochMetrics struct {
	Epoch    int     `json:"epoch"`
	TrainNLL float64 `json:"train_nll"`
	TrainBPD float64 `json:"train_bpd"`
	ValidNLL float64 `json:"valid_nll"`
	ValidBPD float64 `json:"valid_bpd"`
	// ValidAccuracy is a class-conditional circuit's accuracy on the
	// validation set (nil for a density).
	ValidAccuracy *float64 `json:"valid_accuracy,omitempty"`
	Seconds       float64  `json:"seconds"`
	Steps         int      `json:"steps"`
	Best          bool     `json:"best"`
	// LR is the epoch's learning rate when it decays on plateaus
	// (TrainConfig.LRDecay).
	LR float64 `json:"lr,omitempty"`
}

// SplitResult is the mean log-likelihood of a dataset split; for a
// class-conditional circuit, of the labelled samples, log p(x, y) = log
// p(x | y) + log p(y) with a uniform prior, and its accuracy.
type SplitResult struct {
	Split string  `json:"split"`
	N     int     `json:"n"`
	LL    float64 `json:"ll"`  // mean log p(x) (a classifier: log p(x, y)), nats
	BPD   float64 `json:"bpd"` // −LL / (ln 2 · D)
	// Accuracy is the fraction of samples whose most probable class is
	// their label, and CrossEntropy the mean −log p(y | x) (classifiers
	// only).
	Accuracy     *float64 `json:"accuracy,omitempty"`
	CrossEntropy *float64 `json:"cross_entropy,omitempty"`
}

// objective is a classifier's training objective on the split of d
// variables: (1 − λ)·(−LL)/d + λ·CrossEntropy (circuit.CompileClassifier);
// a density's NLL, −LL.
func (r SplitResult) objective(lambda float64, d int) float64 {
	if r.CrossEntropy == nil {
		return -r.LL
	}
	return (1-lambda)*(-r.LL)/float64(d) + lambda**r.CrossEntropy
}

// Result summarizes a finished training run.
type Result struct {
	Dir        string         `json:"dir"`
	Model      string         `json:"model"`
	Checkpoint string         `json:"checkpoint"`
	Metrics    string         `json:"metrics"`
	Curve      string         `json:"curve"`
	Samples    string         `json:"samples,omitempty"` // "" when not written
	Epochs     int            `json:"epochs"`            // epochs completed
	BestEpoch  int            `json:"best_epoch"`
	Stopped    string         `json:"stopped"`         // why training ended
	Final      bool           `json:"final,omitempty"` // the stop is for good (early stopping, NaN), not for the epochs or the time
	Params     int            `json:"params"`
	Valid      *SplitResult   `json:"valid,omitempty"`
	Test       SplitResult    `json:"test"`
	Seconds    float64        `json:"seconds"` // training time of this process
	History    []EpochMetrics `json:"history"`
}

// progress is a checkpoint's record of where training stands.
type progress struct {
	Epoch int `json:"epoch"` // epochs completed
	// BestValidLL is the best validation log-likelihood so far; nil before
	// the first validation and in runs without a validation split.
	BestValidLL *float64 `json:"best_valid_ll,omitempty"`
	// BestValidAccuracy is the best epoch's validation accuracy under
	// Monitor accuracy.
	BestValidAccuracy *float64 `json:"best_valid_accuracy,omitempty"`
	BestEpoch         int      `json:"best_epoch"`
	BadEpochs         int      `json:"bad_epochs"` // epochs since the best one
	Stopped           string   `json:"stopped,omitempty"`
	// Final is set when the stop is for good (early stopping, NaN); a
	// stop for the epoch count or the time budget ends only this process's
	// training, and a resumed run with more epochs or time goes on.
	Final bool `json:"final,omitempty"`
}

func bpd(nll float64, d int) float64 { return nll / (math.Ln2 * float64(d)) }

// epochRand is the generator that shuffles epoch e of a run seeded with
// seed: re-derived from (seed, e), so a resumed run needs no saved RNG
// position.
func epochRand(seed uint64, epoch int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0xba7c4<<32|uint64(epoch)))
}

// Train runs the training that cfg describes, writing the run's files into
// cfg.Out (see the File constants) and logging to log. It validates
// everything it can (configuration, data, region graph, -init model, output
// directory) before it writes anything; such failures are *InputErrors.
// Cancelling ctx stops training between batches; the last checkpoint stays,
// and a run with Resume continues from it, bit-identically to an
// uninterrupted run.
func Train(ctx context.Context, cfg TrainConfig, log *logrus.Logger) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = logrus.New()
	}
	if spec, _ := ParseDatasetSpec(cfg.Dataset); spec.Kind == CSV {
		return trainTable(ctx, cfg, log)
	}
	dir := cfg.Out
	ckptPath := filepath.Join(dir, CheckpointFile)
	hasRun := exists(filepath.Join(dir, ConfigFile)) || exists(ckptPath)
	switch {
	case hasRun && !cfg.Resume && !cfg.Force:
		return nil, inputErrorf("output directory %s already holds a run; pass -resume to continue it or -force to replace it", dir)
	case cfg.Resume && !exists(ckptPath):
		return nil, inputErrorf("-resume: %s holds no checkpoint (%s) to resume", dir, CheckpointFile)
	}
	var old TrainConfig
	if cfg.Resume {
		if err := readJSON(filepath.Join(dir, ConfigFile), &old); err != nil {
			return nil, inputErrorf("-resume: %v", err)
		}
		if diff := cfg.sameRun(old); diff != "" {
			return nil, inputErrorf("-resume: the flags differ from the run in %s: %s", dir, diff)
		}
	}

	// Data, region graph, circuit, programs: everything that can fail on
	// the user's input, before anything is written.
	sp, err := LoadData(&cfg)
	if err != nil {
		return nil, err
	}
	if err := checkLabels(cfg, sp); err != nil {
		return nil, err
	}
	rg, init, err := runGraph(cfg, old, sp)
	if err != nil {
		return nil, err
	}
	opts := circuit.Options{Layer: cfg.Layer, Engine: cfg.Engine, Rank: cfg.Rank, Units: cfg.Units, MonoUnits: cfg.MonoUnits, Classes: cfg.Classes, Input: cfg.Input, Param: cfg.Param, Init: cfg.WeightInit, Seed: cfg.Seed, MaxMemory: cfg.MaxMemory}
	switch cfg.Input {
	case circuit.Categorical, circuit.Binomial, circuit.Embedding:
		opts.Values = sp.Train.Values
	case circuit.Bernoulli:
		if sp.Train.Values != 2 {
			return nil, inputErrorf("bernoulli inputs need binary data; %s has %d values", cfg.Dataset, sp.Train.Values)
		}
	}
	scaling, err := fitScaling(cfg.Scale, sp.Train)
	if err != nil {
		return nil, err
	}
	c, err := circuit.Build(rg, opts)
	if err != nil {
		return nil, &InputError{fmt.Errorf("build circuit: %w", err)}
	}
	arch, err := archOf(rg, c)
	if err != nil {
		return nil, err
	}
	if init != nil {
		want := arch
		if from, err := circuit.ParseParam(init.Arch.Param); err == nil && emFromSoftmax(from, cfg.Param, cfg.Optimizer) {
			want.Param = init.Arch.Param
		}
		if !init.Arch.Equal(want) {
			return nil, inputErrorf("-init %s: the model's architecture (%s) is not the one asked for (%s, region graph %s)", cfg.Init, init.Arch.Describe(), arch.Describe(), cfg.RG)
		}
		if err := nn.LoadModuleState(c, init.state); err != nil {
			return nil, inputErrorf("-init %s: %v", cfg.Init, err)
		}
	}
	trainProg, evalProg, opt, em, err := trainingPrograms(c, cfg, sp.Train.N, arch)
	if err != nil {
		return nil, err
	}
	classifier := cfg.Classes >= 2

	model := &Model{Circuit: c, RG: rg, Arch: arch, Info: ModelInfo{
		Dataset: cfg.Dataset, Shape: sp.Train.Shape, Values: sp.Train.Values, NumVars: sp.Train.D,
		BatchSize: cfg.BatchSize, Config: &cfg, Scale: scaling,
	}}
	var prog progress
	if cfg.Resume {
		ck, err := LoadModel(ckptPath)
		if err != nil {
			return nil, err
		}
		if !ck.Arch.Equal(arch) {
			return nil, inputErrorf("-resume: the checkpoint's architecture (%s) is not the run's (%s)", ck.Arch.Describe(), arch.Describe())
		}
		if err := nn.LoadModuleState(c, ck.state); err != nil {
			return nil, inputErrorf("-resume: %s: %v", ckptPath, err)
		}
		if err := opt.LoadState(ck.state.Arrays); err != nil {
			return nil, inputErrorf("-resume: %s: %v", ckptPath, err)
		}
		if err := json.Unmarshal([]byte(ck.state.Meta["progress"]), &prog); err != nil {
			return nil, inputErrorf("-resume: %s: bad progress record: %v", ckptPath, err)
		}
		if prog.BestEpoch == 0 {
			prog.BestValidLL = nil
		}
		model.Info.History = ck.Info.History
		model.Info.BestEpoch = prog.BestEpoch
		if !prog.Final {
			prog.Stopped = ""
		}
	}

	// From here on the run's files are written.
	if err := prepareRunDir(dir, cfg, model.Info.History); err != nil {
		return nil, err
	}

	log.WithFields(logrus.Fields{
		"dataset": cfg.Dataset, "train": sp.Train.N, "valid": sp.Valid.N, "test": sp.Test.N,
		"rg": cfg.RG, "arch": arch.Describe(), "params": nn.ParamCount(c), "out": dir,
	}).Info("training")
	if cfg.Resume {
		log.WithFields(logrus.Fields{"epoch": prog.Epoch, "best_epoch": prog.BestEpoch}).Info("resuming")
	}

	feed := newFeeder(cfg.Input, scaling)
	start := clock()
	// The time budget counts the epochs of earlier processes of a resumed
	// run too; the last one says whether another fits, as it did when it
	// ended.
	spent := trainingTime(model.Info.History)
	if h := model.Info.History; cfg.TimeBudget > 0 && prog.Stopped == "" && len(h) > 0 && spent+seconds(h[len(h)-1].Seconds) > cfg.TimeBudget {
		prog.Stopped = fmt.Sprintf("time budget %v: no time for another epoch", cfg.TimeBudget)
	}
	for prog.Stopped == "" && prog.Epoch < cfg.Epochs {
		epoch := prog.Epoch + 1
		t0 := clock()
		lr := 0.0
		if cfg.LRDecay > 0 {
			lr = PlateauLR(cfg, model.Info.History)
			opt.(interface{ SetLR(float64) }).SetLR(lr)
		}
		nBatches := (sp.Train.N + cfg.BatchSize - 1) / cfg.BatchSize
		bar := newProgressBar(log.Out, fmt.Sprintf("epoch %d/%d", epoch, cfg.Epochs), nBatches)
		var sum float64
		done, seen, cut := 0, 0, false
		for b := range sp.Train.Batches(cfg.BatchSize, epochRand(cfg.Seed, epoch)) {
			if cfg.TimeBudget > 0 && done > 0 && spent+clock().Sub(t0) >= cfg.TimeBudget {
				cut = true // an epoch longer than the budget left ends here
				break
			}
			if err := ctx.Err(); err != nil {
				bar.finish()
				return nil, fmt.Errorf("training interrupted in epoch %d (%w); the checkpoint of epoch %d is in %s, continue with -resume", epoch, err, prog.Epoch, dir)
			}
			step := opt.Steps() + 1
			if beforeStep != nil {
				beforeStep(step, c)
			}
			var nll float64
			if classifier {
				nll, err = trainProg.StepLabels(feed.of(b.X), b.Labels)
			} else {
				nll, err = trainProg.Step(feed.of(b.X))
			}
			if err != nil {
				bar.finish()
				return nil, stepError(err, c, epoch, done+1, step, prog.Epoch, ckptPath)
			}
			if em != nil {
				em.SetBatch(b.N)
			}
			opt.Step()
			sum += nll * float64(b.N)
			done++
			seen += b.N
			bar.update(done, nll, b.N)
		}
		bar.finish()
		jac := scaling.logJacobian()
		if classifier {
			// A classifier's objective holds the joint NLL per variable,
			// with weight 1 − λ.
			jac *= (1 - cfg.Discriminative) / float64(sp.Train.D)
		}
		m := EpochMetrics{Epoch: epoch, TrainNLL: sum/float64(seen) - jac, Steps: opt.Steps(), LR: lr}
		m.TrainBPD = bpd(m.TrainNLL, sp.Train.D)
		improved := true
		if sp.Valid.N > 0 {
			vr, err := evalSplit(evalProg, sp.Valid, "valid", feed, nil)
			if err != nil {
				return nil, fmt.Errorf("epoch %d: validation: %w", epoch, err)
			}
			// The validation score: the log-likelihood, or a classifier's
			// negative objective.
			score := -vr.objective(cfg.Discriminative, sp.Valid.D)
			m.ValidNLL, m.ValidBPD, m.ValidAccuracy = -score, bpd(-score, sp.Valid.D), vr.Accuracy
			improved = prog.validated(cfg, score, vr.Accuracy)
		}
		m.Seconds = clock().Sub(t0).Seconds()
		spent += seconds(m.Seconds)
		final, err := prog.record(cfg, model, &m, improved, dir)
		if err != nil {
			return nil, err
		}
		switch {
		case final:
		case cut:
			prog.Stopped = fmt.Sprintf("time budget %v: ended during epoch %d, after %d of %d batches", cfg.TimeBudget, epoch, done, nBatches)
		case cfg.TimeBudget > 0 && spent+seconds(m.Seconds) > cfg.TimeBudget:
			// Another epoch as long as this one would end past the budget.
			prog.Stopped = fmt.Sprintf("time budget %v: no time for another epoch", cfg.TimeBudget)
		}
		if err := saveCheckpoint(ckptPath, model, opt, prog); err != nil {
			return nil, err
		}
		if err := appendMetrics(filepath.Join(dir, MetricsFile), m); err != nil {
			return nil, err
		}
		if err := WriteCurve(filepath.Join(dir, CurveFile), model.Info.History); err != nil {
			return nil, err
		}
		fields := logrus.Fields{
			"epoch": epoch, "train_bpd": round4(m.TrainBPD), "valid_bpd": round4(m.ValidBPD),
			"batches_per_s": round4(float64(done) / max(m.Seconds, 1e-9)), "seconds": round4(m.Seconds), "best": improved,
		}
		if m.ValidAccuracy != nil {
			fields["valid_accuracy"] = round4(*m.ValidAccuracy)
		}
		if m.LR > 0 {
			fields["lr"] = m.LR
		}
		log.WithFields(fields).Info("epoch")
	}
	if prog.Stopped == "" {
		prog.Stopped = fmt.Sprintf("%d epochs done", prog.Epoch)
		if err := saveCheckpoint(ckptPath, model, opt, prog); err != nil {
			return nil, err
		}
	}
	log.WithField("reason", prog.Stopped).Info("training stopped")
	return finish(cfg, sp, model, prog, clock().Sub(start), log)
}

// clock is Train's time source; tests replace it to make time budgets
// deterministic.
var clock = time.Now

// trainingTime is the time the epochs of hist took (training and
// validation), what TrainConfig.TimeBudget bounds.
func trainingTime(hist []EpochMetrics) time.Duration {
	var d time.Duration
	for _, m := range hist {
		d += seconds(m.Seconds)
	}
	return d
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// emConfig is circuit.EM's configuration for cfg on n training samples:
// one M-step per batch, or per epoch with FullBatch; EMDecay's clock counts
// epochs.
func emConfig(cfg TrainConfig, n int) circuit.EMConfig {
	perEpoch := (n + cfg.BatchSize - 1) / cfg.BatchSize
	ec := circuit.EMConfig{StepSize: cfg.LR, PseudoCount: cfg.PseudoCount}
	if cfg.FullBatch {
		ec.Batches, perEpoch = perEpoch, 1
	}
	if cfg.EMDecay > 0 {
		ec.Schedule = circuit.EMDecay{Base: cfg.LR, Kappa: cfg.EMDecay, Every: perEpoch}
	}
	return ec
}

// runGraph returns the region graph of the run cfg describes (old being
// the config of the run it resumes) and the -init model, if any. A run
// started from a model file takes the graph stored in it, and a resumed
// one the graph of its checkpoint: a compressed model's graph may be a
// binarized one that no -rg name builds. Other runs build cfg.RG.
func runGraph(cfg, old TrainConfig, sp data.Splits) (*regiongraph.Graph, *Model, error) {
	var from *Model
	var err error
	switch {
	case cfg.Init != "":
		if from, err = LoadModel(cfg.Init); err != nil {
			return nil, nil, err
		}
	case cfg.Resume && old.Init != "":
		ck, err := LoadModel(filepath.Join(cfg.Out, CheckpointFile))
		if err != nil {
			return nil, nil, err
		}
		return ck.RG, nil, nil
	default:
		rg, err := BuildRegionGraph(cfg.RG, sp.Train, cfg.Seed)
		return rg, nil, err
	}
	if n := from.RG.NumVars; n != sp.Train.D {
		return nil, nil, inputErrorf("-init %s: the model is over %d variables; dataset %s has %d", cfg.Init, n, cfg.Dataset, sp.Train.D)
	}
	return from.RG, from, nil
}

// finish evaluates the best model on the test set (from its file, as
// `tenpc eval` does, so the two agree exactly), records the result in the
// model file and writes the samples and result.json.
func finish(cfg TrainConfig, sp data.Splits, model *Model, prog progress, took time.Duration, log *logrus.Logger) (*Result, error) {
	res, best, err := evaluateBest(cfg, model, prog, took, sp.Valid.N > 0, func(p *circuit.Program, best *Model, split string) (SplitResult, error) {
		ds := sp.Test
		if split == "valid" {
			ds = sp.Valid
		}
		return evalSplit(p, ds, split, newFeeder(cfg.Input, best.Info.Scale), nil)
	})
	if err != nil {
		return nil, err
	}
	dir, modelPath := cfg.Out, res.Model
	spec, _ := ParseDatasetSpec(cfg.Dataset)
	switch {
	case !spec.IsImage() || len(sp.Train.Shape) != 3:
		// Not images: no grid to draw.
	case cfg.Param == circuit.Real:
		// A squared circuit samples a variable at a time, V·C passes of c·c
		// a sample: hours for a grid of images.
		log.Info("no samples written: sampling a squared circuit over images takes too long for a grid")
	case cfg.Classes >= 2:
		// Sampling refuses several root units (docs/QUERIES.md).
		log.Info("no samples written: a class-conditional circuit has no sampler yet")
	default:
		path := filepath.Join(dir, SamplesFile)
		if err := writeSampleGrid(path, best, 64, cfg.Seed); err != nil {
			log.WithError(err).Warn("no samples written")
		} else {
			res.Samples = path
		}
	}
	if err := writeJSON(filepath.Join(dir, ResultFile), res); err != nil {
		return nil, err
	}
	log.WithFields(logrus.Fields{"test_bpd": round4(res.Test.BPD), "test_ll": res.Test.LL, "best_epoch": res.BestEpoch, "model": modelPath}).Info("done")
	return res, nil
}

// feeder turns category bytes into what the circuit's program takes:
// the bytes themselves, or float32 values for Gaussian inputs (scaled by
// sc when it is not nil).
type feeder struct {
	gauss bool
	sc    *Scaling
	buf   []float32
}

func newFeeder(in circuit.InputKind, sc *Scaling) *feeder {
	return &feeder{gauss: in == circuit.Gaussian, sc: sc}
}

func (f *feeder) of(x []uint8) any {
	if !f.gauss {
		return x
	}
	if cap(f.buf) < len(x) {
		f.buf = make([]float32, len(x))
	}
	f.buf = f.buf[:len(x)]
	if f.sc != nil {
		f.sc.forward(x, f.buf)
		return f.buf
	}
	for i, v := range x {
		f.buf[i] = float32(v)
	}
	return f.buf
}

// evaluateBest loads the run's best model (saving model as it first when
// no epoch improved on validation: NaN from the start), evaluates it with
// eval on the validation split (when hasValid) and the test split, records
// the test result and the run's history in the model file, draws the
// learning curve, and returns the run's result and the model.
func evaluateBest(cfg TrainConfig, model *Model, prog progress, took time.Duration, hasValid bool,
	eval func(p *circuit.Program, best *Model, split string) (SplitResult, error)) (*Result, *Model, error) {
	dir := cfg.Out
	modelPath := filepath.Join(dir, ModelFile)
	if !exists(modelPath) {
		if err := model.Save(modelPath); err != nil {
			return nil, nil, err
		}
	}
	best, err := LoadModel(modelPath)
	if err != nil {
		return nil, nil, err
	}
	if err := best.Circuit.SetEngine(cfg.Engine); err != nil {
		return nil, nil, err
	}
	p, err := best.Circuit.Compile(best.Info.BatchSize, false)
	if err != nil {
		return nil, nil, fmt.Errorf("compile the best model: %w", err)
	}
	history := model.Info.History
	res := &Result{
		Dir: dir, Model: modelPath, Checkpoint: filepath.Join(dir, CheckpointFile),
		Metrics: filepath.Join(dir, MetricsFile), Curve: filepath.Join(dir, CurveFile),
		Epochs: prog.Epoch, BestEpoch: best.Info.BestEpoch, Stopped: prog.Stopped, Final: prog.Final,
		Params: nn.ParamCount(best.Circuit), Seconds: took.Seconds(), History: history,
	}
	if hasValid {
		vr, err := eval(p, best, "valid")
		if err != nil {
			return nil, nil, err
		}
		res.Valid = &vr
	}
	tr, err := eval(p, best, "test")
	if err != nil {
		return nil, nil, fmt.Errorf("test: %w", err)
	}
	res.Test = tr
	best.Info.Test = &tr
	best.Info.History = history
	if err := best.Save(modelPath); err != nil {
		return nil, nil, err
	}
	if err := WriteCurve(res.Curve, history); err != nil {
		return nil, nil, err
	}
	return res, best, nil
}

// evalSplit computes the mean log-likelihood of ds (summed in sample order
// in float64) and, when perSample is not nil, stores each sample's. For a
// class-conditional circuit it is log p(x, y) of the labelled samples,
// with the accuracy and cross-entropy beside it.
func evalSplit(p *circuit.Program, ds *data.Dataset, name string, feed *feeder, perSample []float64) (SplitResult, error) {
	ll := perSample
	if ll == nil {
		ll = make([]float64, ds.N)
	}
	if ds.N == 0 {
		return SplitResult{Split: name, LL: math.NaN(), BPD: math.NaN()}, nil
	}
	in := (&feeder{gauss: feed.gauss, sc: feed.sc}).of(ds.X)
	var acc, ce *float64
	if k := p.Circuit().Plan().Classes; k > 1 {
		var err error
		if acc, ce, err = classify(p, in, ds, nil, ll); err != nil {
			return SplitResult{}, err
		}
	} else if err := p.LogLikelihood(in, nil, ll); err != nil {
		return SplitResult{}, err
	}
	jac := feed.sc.logJacobian()
	var s float64
	for i := range ll {
		ll[i] += jac
		s += ll[i]
	}
	mean := s / float64(ds.N)
	return SplitResult{Split: name, N: ds.N, LL: mean, BPD: bpd(-mean, ds.D), Accuracy: acc, CrossEntropy: ce}, nil
}

// classify evaluates a class-conditional circuit's program on the labelled
// samples of ds (data in, as fed; missing: nil or (n, V)): joint[i] = log
// p(x_i, y_i) = log p(x_i | y_i) − log C, the accuracy of the most
// probable class and the mean −log p(y | x).
func classify(p *circuit.Program, in any, ds *data.Dataset, missing []bool, joint []float64) (acc, ce *float64, err error) {
	k := p.Circuit().Plan().Classes
	if ds.Labels == nil {
		return nil, nil, inputErrorf("dataset %s has no labels for a %d-class circuit", ds.Name, k)
	}
	lc := make([]float64, ds.N*k)
	if err := p.LogLikelihood(in, missing, lc); err != nil {
		return nil, nil, err
	}
	right, xent := 0, 0.0
	for i, y := range ds.Labels {
		row := lc[i*k : (i+1)*k]
		best, m := 0, math.Inf(-1)
		for c, v := range row {
			if v > row[best] {
				best = c
			}
			m = max(m, v)
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(v - m)
		}
		if best == y {
			right++
		}
		xent -= row[y] - m - math.Log(sum)
		if joint != nil {
			joint[i] = row[y] - math.Log(float64(k))
		}
	}
	a, c := float64(right)/float64(ds.N), xent/float64(ds.N)
	return &a, &c, nil
}

// checkLabels checks that a classifier's splits have labels within its
// classes.
func checkLabels(cfg TrainConfig, sp data.Splits) error {
	if cfg.Classes < 2 {
		return nil
	}
	for _, ds := range []*data.Dataset{sp.Train, sp.Valid, sp.Test} {
		if ds.N == 0 {
			continue
		}
		if ds.Labels == nil {
			return inputErrorf("-classes %d: dataset %s has no labels", cfg.Classes, cfg.Dataset)
		}
		for i, y := range ds.Labels {
			if y < 0 || y >= cfg.Classes {
				return inputErrorf("-classes %d: sample %d of %s has label %d", cfg.Classes, i, ds.Name, y)
			}
		}
	}
	return nil
}

func round4(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	return math.Round(x*1e4) / 1e4
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// sanitize replaces NaN and ±Inf (which JSON cannot hold) by 0; the run's
// stop reason says when the NLL was NaN.
func sanitize(m *EpochMetrics) {
	for _, p := range []*float64{&m.TrainNLL, &m.TrainBPD, &m.ValidNLL, &m.ValidBPD} {
		if math.IsNaN(*p) || math.IsInf(*p, 0) {
			*p = 0
		}
	}
}

func metricsLine(m EpochMetrics) ([]byte, error) {
	sanitize(&m)
	return json.Marshal(m)
}

func writeMetrics(path string, hist []EpochMetrics) error {
	var sb strings.Builder
	for _, m := range hist {
		b, err := metricsLine(m)
		if err != nil {
			return err
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return writeFileAtomic(path, []byte(sb.String()))
}

func appendMetrics(path string, m EpochMetrics) error {
	b, err := metricsLine(m)
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

// trainingPrograms checks that circuit c's programs fit in memory, sets
// up EM when cfg asks for it (before compiling: EM normalizes the circuit
// and keeps it so), and compiles the training program (EM's, a
// classifier's or the NLL's), the evaluation program and the optimizer,
// for n training samples.
func trainingPrograms(c *circuit.Circuit, cfg TrainConfig, n int, arch Arch) (trainProg, evalProg *circuit.Program, opt optim.Optimizer, em *circuit.EM, err error) {
	for _, train := range []bool{true, false} {
		if err := checkMemory(c, cfg.BatchSize, train, cfg.MaxMemory, "circuit "+arch.Describe()); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if cfg.Optimizer == EM {
		if em, err = circuit.NewEM(c, emConfig(cfg, n)); err != nil {
			return nil, nil, nil, nil, &InputError{err}
		}
	}
	var soft []circuit.CompileOption
	if cfg.Soften != 0 {
		soft = append(soft, circuit.Softened(cfg.Soften))
	}
	switch {
	case em != nil:
		trainProg, err = c.CompileEM(cfg.BatchSize, soft...)
	case cfg.Classes >= 2:
		trainProg, err = c.CompileClassifier(cfg.BatchSize, cfg.Discriminative, soft...)
	default:
		trainProg, err = c.Compile(cfg.BatchSize, true, soft...)
	}
	if err == nil {
		evalProg, err = c.Compile(cfg.BatchSize, false)
	}
	if err != nil {
		return nil, nil, nil, nil, &InputError{fmt.Errorf("compile circuit (%s): %w", arch.Describe(), err)}
	}
	switch cfg.Optimizer {
	case SGD:
		opt = optim.NewSGD(c.Params(), optim.SGDConfig{LR: cfg.LR})
	case EM:
		opt = em
	default:
		opt = optim.NewAdam(c.Params(), optim.AdamConfig{LR: cfg.LR})
	}
	return trainProg, evalProg, opt, em, nil
}

// prepareRunDir creates the run directory dir, empties it of a previous
// run's files under -force and of the temporary files a killed process
// left, and writes config.json and metrics.jsonl (rewritten from history,
// a resumed run's checkpointed epochs, so that a run killed between its
// checkpoint and a metrics line stays consistent).
func prepareRunDir(dir string, cfg TrainConfig, history []EpochMetrics) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	if cfg.Force {
		for _, f := range runFiles {
			if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("-force: %w", err)
			}
		}
	} else if err := os.Remove(filepath.Join(dir, ResultFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A resumed run is unfinished until it finishes again: a
		// result.json left from before would make a process that ends
		// early look finished under the new configuration.
		return err
	}
	if err := removeTempFiles(dir); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, ConfigFile), cfg); err != nil {
		return err
	}
	return writeMetrics(filepath.Join(dir, MetricsFile), history)
}

// validated records an epoch's validation score (the log-likelihood or a
// classifier's negative objective) and accuracy, and reports whether the
// epoch is the best so far by cfg.Monitor.
func (p *progress) validated(cfg TrainConfig, score float64, acc *float64) bool {
	better := p.BestValidLL == nil || score > *p.BestValidLL
	if cfg.Monitor == MonitorAccuracy && p.BestValidAccuracy != nil && acc != nil {
		better = *acc > *p.BestValidAccuracy || *acc == *p.BestValidAccuracy && better
	}
	if better {
		p.BestValidLL, p.BestValidAccuracy = &score, acc
	}
	return better
}

// record adds epoch m to the model's history (sanitized for JSON), saves
// the model when the epoch is the best so far, and stops training for good
// on a NaN training NLL or by early stopping; it reports whether it
// stopped.
func (p *progress) record(cfg TrainConfig, model *Model, m *EpochMetrics, improved bool, dir string) (bool, error) {
	m.Best = improved
	nan := math.IsNaN(m.TrainNLL)
	sanitize(m)
	p.Epoch = m.Epoch
	model.Info.History = append(model.Info.History, *m)
	if improved {
		p.BestEpoch, p.BadEpochs = m.Epoch, 0
		model.Info.BestEpoch = m.Epoch
		if err := model.Save(filepath.Join(dir, ModelFile)); err != nil {
			return false, err
		}
	} else {
		p.BadEpochs++
	}
	switch {
	case nan:
		p.Stopped, p.Final = fmt.Sprintf("the training NLL is NaN in epoch %d", m.Epoch), true
	case cfg.Patience > 0 && p.BadEpochs >= cfg.Patience:
		p.Stopped, p.Final = fmt.Sprintf("early stopping: no better validation %s for %d epochs", monitored(cfg), p.BadEpochs), true
	default:
		return false, nil
	}
	return true, nil
}

// PlateauLR is the learning rate of the epoch after history under cfg's
// decay on plateaus: LR·LRDecay^n, n the number of times LRPatience epochs
// in a row went by without a better validation score (the count restarts
// at every decay and every better epoch). A resumed run recomputes it from
// its history, so the checkpoint needs no record of it.
func PlateauLR(cfg TrainConfig, history []EpochMetrics) float64 {
	lr, bad := cfg.LR, 0
	if cfg.LRDecay <= 0 {
		return lr
	}
	for _, m := range history {
		bad++
		if m.Best {
			bad = 0
		}
		if bad == cfg.LRPatience {
			lr, bad = lr*cfg.LRDecay, 0
		}
	}
	return lr
}

// monitored names the validation figure that early stopping watches.
func monitored(cfg TrainConfig) string {
	switch {
	case cfg.Monitor == MonitorAccuracy:
		return "accuracy"
	case cfg.Classes >= 2:
		return "objective"
	}
	return "log-likelihood"
}
