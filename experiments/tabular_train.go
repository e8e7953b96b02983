package experiments

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/nn"
)

// trainTable is Train for a csv: dataset: a circuit with mixed inputs,
// one family per column (categorical, Bernoulli, Gaussian), over the
// region graph cfg.RG built on the columns (TableRegionGraph), trained by
// Adam, SGD or EM on the training rows with continuous columns
// standardized and missing values integrated out. With Classes ≥ 2 it is a
// class-conditional circuit on the table's label column, trained on the
// objective of circuit.CompileClassifier. It writes the run's files as
// Train does; likelihoods are in the data's own units.
func trainTable(ctx context.Context, cfg TrainConfig, log *logrus.Logger) (*Result, error) {
	switch {
	case cfg.Resume:
		return nil, inputErrorf("-resume: runs on tables (csv:) do not resume; start again with -force")
	case cfg.Init != "":
		return nil, inputErrorf("-init: runs on tables (csv:) start from a fresh circuit")
	case cfg.Input != circuit.Categorical:
		return nil, inputErrorf("-input %v: a table's schema gives each column its input family", cfg.Input)
	case cfg.Scale != ScaleNone:
		return nil, inputErrorf("-scale %v: a table's continuous columns are always standardized", cfg.Scale)
	}
	dir := cfg.Out
	if (exists(filepath.Join(dir, ConfigFile)) || exists(filepath.Join(dir, CheckpointFile))) && !cfg.Force {
		return nil, inputErrorf("output directory %s already holds a run; pass -force to replace it", dir)
	}
	sp, _, err := LoadTable(&cfg)
	if err != nil {
		return nil, err
	}
	classifier := cfg.Classes >= 2
	if classifier {
		if err := checkTableLabels(cfg, sp); err != nil {
			return nil, err
		}
	}
	ti := fitTableInfo(sp.Train)
	rg, err := TableRegionGraph(cfg.RG, sp.Train, cfg.Seed)
	if err != nil {
		return nil, err
	}
	opts := circuit.Options{Layer: cfg.Layer, Engine: cfg.Engine, Rank: cfg.Rank, Units: cfg.Units, Columns: ti.circuitColumns(),
		Classes: cfg.Classes, Param: cfg.Param, Init: cfg.WeightInit, Seed: cfg.Seed, MaxMemory: cfg.MaxMemory}
	c, err := circuit.Build(rg, opts)
	if err != nil {
		return nil, &InputError{fmt.Errorf("build circuit: %w", err)}
	}
	arch, err := archOf(rg, c)
	if err != nil {
		return nil, err
	}
	trainProg, evalProg, opt, em, err := trainingPrograms(c, cfg, sp.Train.N, arch)
	if err != nil {
		return nil, err
	}
	D := sp.Train.D
	model := &Model{Circuit: c, RG: rg, Arch: arch, Info: ModelInfo{
		Dataset: cfg.Dataset, Shape: []int{D}, NumVars: D, BatchSize: cfg.BatchSize, Config: &cfg, Table: ti,
	}}

	// From here on the run's files are written.
	if err := prepareRunDir(dir, cfg, nil); err != nil {
		return nil, err
	}
	log.WithFields(logrus.Fields{
		"dataset": cfg.Dataset, "train": sp.Train.N, "valid": sp.Valid.N, "test": sp.Test.N,
		"rg": cfg.RG, "arch": arch.Describe(), "params": nn.ParamCount(c), "out": dir,
	}).Info("training")

	x, jac := ti.inputs(sp.Train)
	buf := make([]float32, cfg.BatchSize*D)
	labels := make([]int, 0, cfg.BatchSize)
	// A row's objective in the data's units is its standardized one less
	// its log-Jacobian, weighted as the joint NLL is in a classifier's
	// objective: (1 − λ)/D.
	jacWeight := 1.0
	if classifier {
		jacWeight = (1 - cfg.Discriminative) / float64(D)
	}
	var prog progress
	start := clock()
	for prog.Stopped == "" && prog.Epoch < cfg.Epochs {
		epoch := prog.Epoch + 1
		t0 := clock()
		perm := epochRand(cfg.Seed, epoch).Perm(sp.Train.N)
		var sum float64
		for lo := 0; lo < len(perm); lo += cfg.BatchSize {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("training interrupted in epoch %d: %w", epoch, err)
			}
			rows := perm[lo:min(lo+cfg.BatchSize, len(perm))]
			b := buf[:len(rows)*D]
			labels = labels[:0]
			for k, i := range rows {
				copy(b[k*D:(k+1)*D], x[i*D:(i+1)*D])
				if classifier {
					labels = append(labels, sp.Train.Labels[i])
				}
			}
			var nll float64
			if classifier {
				nll, err = trainProg.StepLabels(b, labels)
			} else {
				nll, err = trainProg.Step(b)
			}
			if err != nil {
				return nil, stepError(err, c, epoch, lo/cfg.BatchSize+1, opt.Steps()+1, prog.Epoch, filepath.Join(dir, CheckpointFile))
			}
			if em != nil {
				em.SetBatch(len(rows))
			}
			opt.Step()
			for _, i := range rows {
				sum += nll - jacWeight*jac[i]
			}
		}
		m := EpochMetrics{Epoch: epoch, TrainNLL: sum / float64(sp.Train.N), Steps: opt.Steps()}
		m.TrainBPD = bpd(m.TrainNLL, D)
		improved := true
		if sp.Valid.N > 0 {
			vr, _, err := evalTable(evalProg, ti, sp.Valid, "valid")
			if err != nil {
				return nil, fmt.Errorf("epoch %d: validation: %w", epoch, err)
			}
			// The validation score: the log-likelihood, or a classifier's
			// negative objective.
			score := -vr.objective(cfg.Discriminative, D)
			m.ValidNLL, m.ValidBPD, m.ValidAccuracy = -score, bpd(-score, D), vr.Accuracy
			improved = prog.validated(cfg, score, vr.Accuracy)
		}
		m.Seconds = clock().Sub(t0).Seconds()
		final, err := prog.record(cfg, model, &m, improved, dir)
		if err != nil {
			return nil, err
		}
		switch {
		case final:
		case cfg.TimeBudget > 0 && trainingTime(model.Info.History)+seconds(m.Seconds) > cfg.TimeBudget:
			prog.Stopped = fmt.Sprintf("time budget %v: no time for another epoch", cfg.TimeBudget)
		}
		if err := appendMetrics(filepath.Join(dir, MetricsFile), m); err != nil {
			return nil, err
		}
		log.WithFields(logrus.Fields{"epoch": epoch, "train_nll": round4(m.TrainNLL), "valid_nll": round4(m.ValidNLL), "best": improved}).Debug("epoch")
	}
	if prog.Stopped == "" {
		prog.Stopped = fmt.Sprintf("%d epochs done", prog.Epoch)
	}
	if err := saveCheckpoint(filepath.Join(dir, CheckpointFile), model, opt, prog); err != nil {
		return nil, err
	}
	return finishTable(cfg, sp, model, prog, clock().Sub(start), log)
}

// finishTable evaluates the best model from its file, as `tenpc eval`
// does, records the test result in it and writes the curve and
// result.json.
func finishTable(cfg TrainConfig, sp TableSplits, model *Model, prog progress, took time.Duration, log *logrus.Logger) (*Result, error) {
	res, _, err := evaluateBest(cfg, model, prog, took, sp.Valid.N > 0, func(p *circuit.Program, best *Model, split string) (SplitResult, error) {
		t := sp.Test
		if split == "valid" {
			t = sp.Valid
		}
		r, _, err := evalTable(p, best.Info.Table, t, split)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	dir, modelPath := cfg.Out, res.Model
	if err := writeJSON(filepath.Join(dir, ResultFile), res); err != nil {
		return nil, err
	}
	log.WithFields(logrus.Fields{"test_ll": res.Test.LL, "best_epoch": res.BestEpoch, "stopped": prog.Stopped, "model": modelPath}).Info("done")
	return res, nil
}

// evalTable is the mean log-likelihood of the rows of t in the data's
// units (missing values integrated out) and each row's; for a
// class-conditional circuit, log p(x, y) of the labelled rows, with the
// accuracy and cross-entropy.
func evalTable(p *circuit.Program, ti *TableInfo, t *data.Table, name string) (SplitResult, []float64, error) {
	if t.N == 0 {
		return SplitResult{Split: name, LL: math.NaN(), BPD: math.NaN()}, nil, nil
	}
	if err := ti.check(t); err != nil {
		return SplitResult{}, nil, err
	}
	x, jac := ti.inputs(t)
	ll := make([]float64, t.N)
	var acc, ce *float64
	if p.Circuit().Plan().Classes > 1 {
		var err error
		if acc, ce, err = classify(p, x, &data.Dataset{Name: t.Name, N: t.N, Labels: t.Labels}, nil, ll); err != nil {
			return SplitResult{}, nil, err
		}
	} else if err := p.LogLikelihood(x, nil, ll); err != nil {
		return SplitResult{}, nil, err
	}
	s := 0.0
	for i := range ll {
		ll[i] += jac[i]
		s += ll[i]
	}
	mean := s / float64(t.N)
	return SplitResult{Split: name, N: t.N, LL: mean, BPD: bpd(-mean, t.D), Accuracy: acc, CrossEntropy: ce}, ll, nil
}

// checkTableLabels checks that a classifier's table has a label column
// whose classes are below cfg.Classes.
func checkTableLabels(cfg TrainConfig, sp TableSplits) error {
	if sp.Train.Labels == nil {
		return inputErrorf("-classes %d: dataset %s has no label column (a schema entry \"label\")", cfg.Classes, cfg.Dataset)
	}
	if n := len(sp.Train.LabelNames); n > cfg.Classes {
		return inputErrorf("-classes %d: dataset %s has %d classes (%s)", cfg.Classes, cfg.Dataset, n, strings.Join(sp.Train.LabelNames, ", "))
	}
	return nil
}

// evaluateTable is Evaluate for a model trained on a table: the split is
// drawn as the training run drew it.
func evaluateTable(cfg EvalConfig, m *Model) (*SplitResult, error) {
	tc := DefaultTrainConfig()
	if m.Info.Config != nil {
		tc = *m.Info.Config
	}
	if cfg.Dataset != "" {
		tc.Dataset = cfg.Dataset
	}
	tc.Limit = cfg.Limit
	sp, _, err := LoadTable(&tc)
	if err != nil {
		return nil, err
	}
	var t *data.Table
	switch cfg.Split {
	case "train":
		t = sp.Train
	case "valid":
		t = sp.Valid
	case "test":
		t = sp.Test
	default:
		return nil, inputErrorf("unknown split %q (want train, valid or test)", cfg.Split)
	}
	if t.N == 0 {
		return nil, inputErrorf("the %s split of %s is empty", cfg.Split, tc.Dataset)
	}
	b := max(m.Info.BatchSize, 1)
	if err := checkMemory(m.Circuit, b, false, cfg.MaxMemory, "model "+cfg.Model); err != nil {
		return nil, err
	}
	prog, err := m.Circuit.Compile(b, false)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", cfg.Model, err)
	}
	res, ll, err := evalTable(prog, m.Info.Table, t, cfg.Split)
	if err != nil {
		return nil, err
	}
	if cfg.PerSample != "" {
		if err := writePerSample(cfg.PerSample, ll); err != nil {
			return nil, err
		}
	}
	return &res, nil
}

// writePerSample writes index,loglik rows.
func writePerSample(path string, ll []float64) error {
	var sb strings.Builder
	sb.WriteString("index,loglik\n")
	for i, v := range ll {
		sb.WriteString(strconv.Itoa(i))
		sb.WriteByte(',')
		sb.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		sb.WriteByte('\n')
	}
	return writeFileAtomic(path, []byte(sb.String()))
}
