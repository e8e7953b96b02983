package experiments

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/nn"
)

// The squared recipe compares a monotonic circuit with a squared one
// (Param Real: p = c²/Z, weights of either sign) at equal parameter counts
// on every DEBD set in -data-dir and on MNIST. Each pair shares its region
// graph and layer, both structured decomposable as a squared circuit needs:
// the Chow-Liu tree (cl) with CP-R layers on DEBD, the quad tree (qt4) with
// CP layers on MNIST. The squared circuit's K is the largest whose
// parameter count does not exceed the monotonic circuit's (squaredUnits);
// the table states both counts. Each run trains within a time budget,
// keeps its best model by validation and reports the test log-likelihood
// (and bpd).

// squaredRun is one run of the squared recipe.
type squaredRun struct {
	dataset string // a DEBD set's name or "mnist"
	model   string // "monotonic" or "squared"
	cfg     TrainConfig
}

func (r squaredRun) name() string { return r.dataset + "/" + r.model }

// squaredDEBDBudget and squaredMNISTBudget are a run's training budgets:
// 5 DEBD sets (the five of docs/RESULTS.md, "DEBD") and MNIST, two runs
// each, take 5·2·3 + 2·12 = 54 minutes of training, about an hour with
// loading and evaluation on 2 cores.
const (
	squaredDEBDBudget  = 3 * time.Minute
	squaredMNISTBudget = 12 * time.Minute
)

// squaredPair returns the monotonic configuration of a dataset and its
// squared counterpart before its K is matched: the same region graph,
// layer, inputs, batch size and budget; real weights drawn from N(0, 1).
//
// On DEBD the monotonic circuit is the debd recipe's HCLT (DEBDConfig: cl,
// CP-R K=32, softmax, Adam lr 0.05); on MNIST it is the reference
// protocol's circuit on the paper's QT-4 (CP K=16, clamp, Adam lr 0.01).
// The squared circuits train with Adam at squaredLR.
func squaredPair(dataset, dataDir string) (mono, sq TrainConfig) {
	if dataset == "mnist" {
		mono = DefaultTrainConfig()
		mono.RG = "qt4"
		mono.TimeBudget = squaredMNISTBudget
	} else {
		mono = DEBDConfig(filepath.Join(dataDir, dataset), "")
		mono.TimeBudget = squaredDEBDBudget
	}
	sq = mono
	sq.Param, sq.WeightInit, sq.LR = circuit.Real, circuit.Normal, squaredLR
	return mono, sq
}

// squaredLR is the squared circuits' Adam learning rate.
const squaredLR = 0.01

// squaredRuns lists the recipe's runs, a monotonic and a squared one per
// dataset: every DEBD set in o.DataDir, then MNIST. The squared runs' K is
// not matched yet (see matchSquared).
func squaredRuns(o RecipeOptions) ([]squaredRun, error) {
	sets, err := debdSets(o.DataDir)
	if err != nil {
		return nil, err
	}
	var runs []squaredRun
	for _, ds := range append(sets, "mnist") {
		mono, sq := squaredPair(ds, o.DataDir)
		for _, r := range []squaredRun{{ds, "monotonic", mono}, {ds, "squared", sq}} {
			r.cfg.Out = filepath.Join(o.Out, r.dataset, r.model)
			r.cfg.TimeBudget = o.scaleBudget(r.cfg.TimeBudget)
			if o.Quick {
				r.cfg.Units, r.cfg.Limit, r.cfg.Epochs, r.cfg.TimeBudget = min(r.cfg.Units, 4), 300, 1, 0
			}
			runs = append(runs, r)
		}
	}
	return runs, nil
}

// paramCount is the parameter count of the circuit cfg trains on sp: its
// region graph built as Train builds it, every parameter counted.
func paramCount(cfg TrainConfig, sp data.Splits) (int, error) {
	rg, err := BuildRegionGraph(cfg.RG, sp.Train, cfg.Seed)
	if err != nil {
		return 0, err
	}
	opts := circuit.Options{Layer: cfg.Layer, Rank: cfg.Rank, Units: cfg.Units, Classes: cfg.Classes, Input: cfg.Input, Param: cfg.Param, Init: cfg.WeightInit, Seed: cfg.Seed}
	if cfg.Input == circuit.Categorical || cfg.Input == circuit.Binomial {
		opts.Values = sp.Train.Values
	}
	c, err := circuit.Build(rg, opts)
	if err != nil {
		return 0, &InputError{fmt.Errorf("build circuit: %w", err)}
	}
	return nn.ParamCount(c), nil
}

// squaredUnits returns the largest K for which sq has at most target
// parameters on sp (counts grow with K; 1 when none fits), with that
// count.
func squaredUnits(sq TrainConfig, sp data.Splits, target int) (int, int, error) {
	count := func(k int) (int, error) {
		c := sq
		c.Units = k
		return paramCount(c, sp)
	}
	k := sq.Units
	n, err := count(k)
	if err != nil {
		return 0, 0, err
	}
	for n > target && k > 1 {
		k--
		if n, err = count(k); err != nil {
			return 0, 0, err
		}
	}
	for {
		m, err := count(k + 1)
		if err != nil {
			return 0, 0, err
		}
		if m > target {
			return k, n, nil
		}
		k, n = k+1, m
	}
}

// matchSquared sets the K of every squared run in runs to squaredUnits
// against its dataset's monotonic run, returning each run's parameter
// count by name.
func matchSquared(runs []squaredRun) (map[string]int, error) {
	counts := map[string]int{}
	for i := 0; i+1 < len(runs); i += 2 {
		mono, sq := &runs[i], &runs[i+1]
		sp, err := LoadData(&mono.cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mono.dataset, err)
		}
		n, err := paramCount(mono.cfg, sp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mono.name(), err)
		}
		k, m, err := squaredUnits(sq.cfg, sp, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sq.name(), err)
		}
		sq.cfg.Units = k
		counts[mono.name()], counts[sq.name()] = n, m
	}
	return counts, nil
}

func runSquared(ctx context.Context, o RecipeOptions) error {
	o.defaults("squared")
	if !(o.BudgetScale >= 0) || math.IsInf(o.BudgetScale, 0) {
		return inputErrorf("-budget-scale %v: want a positive factor", o.BudgetScale)
	}
	all, err := squaredRuns(o)
	if err != nil {
		return err
	}
	// Pairs are matched whole, so that -only may keep one run of a pair.
	counts, err := matchSquared(all)
	if err != nil {
		return err
	}
	runs, err := selectRuns(all, o.Only, squaredRun.name)
	if err != nil {
		return err
	}
	var total time.Duration
	for _, r := range runs {
		total += r.cfg.TimeBudget
	}
	fmt.Fprintf(o.Stdout, "squared: %d runs in %s; training budgets %s in all\n", len(runs), o.Out, total)
	if o.Plan {
		for _, r := range runs {
			fmt.Fprintf(o.Stdout, "  %-22s %-5v K=%-3d %-8v %8d params  %s\n", r.name(), r.cfg.Layer, r.cfg.Units, r.cfg.Param, counts[r.name()], r.cfg.TimeBudget)
		}
		return nil
	}
	for _, r := range runs {
		res, err := trainOrResume(ctx, r.cfg, o.Force, o.Log)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name(), err)
		}
		fmt.Fprintf(o.Stdout, "%s: test LL %.4f, bpd %.4f (%d params, %d epochs, %s)\n", r.name(), res.Test.LL, res.Test.BPD, res.Params, res.Epochs, res.Stopped)
		if err := writeSquaredReport(o.Out, all); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Stdout, "results: %s, %s\n", filepath.Join(o.Out, "results.csv"), filepath.Join(o.Out, "results.md"))
	return nil
}

var squaredHeader = []string{"dataset", "rg", "layer", "monotonic_param", "monotonic_k", "monotonic_params", "squared_k", "squared_params",
	"monotonic_test_ll", "squared_test_ll", "delta_ll", "monotonic_test_bpd", "squared_test_bpd",
	"monotonic_epochs", "squared_epochs", "monotonic_train_seconds", "squared_train_seconds", "monotonic_stopped", "squared_stopped"}

// writeSquaredReport writes results.csv and results.md with a row for
// every dataset of all (pairs in order) whose two runs have finished in
// dir, whichever wins.
func writeSquaredReport(dir string, all []squaredRun) error {
	f4 := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	var rows [][]string
	var md strings.Builder
	md.WriteString("| dataset | circuit | monotonic K | params | squared K | params | monotonic test LL | squared test LL | Δ LL | monotonic bpd | squared bpd | epochs (mono / sq) | train time (mono / sq) |\n")
	md.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	wins, n := 0, 0
	for i := 0; i+1 < len(all); i += 2 {
		mono, sq := all[i], all[i+1]
		mr, _, err := readFinishedRun(mono.cfg)
		if err != nil {
			return err
		}
		sr, _, err := readFinishedRun(sq.cfg)
		if err != nil {
			return err
		}
		if mr == nil || sr == nil {
			continue
		}
		n++
		delta := sr.Test.LL - mr.Test.LL
		if delta >= 0 {
			wins++
		}
		mt, st := trainingTime(mr.History), trainingTime(sr.History)
		rows = append(rows, []string{mono.dataset, mono.cfg.RG, mono.cfg.Layer.String(), mono.cfg.Param.String(),
			strconv.Itoa(mono.cfg.Units), strconv.Itoa(mr.Params), strconv.Itoa(sq.cfg.Units), strconv.Itoa(sr.Params),
			f4(mr.Test.LL), f4(sr.Test.LL), f4(delta), f4(mr.Test.BPD), f4(sr.Test.BPD),
			strconv.Itoa(mr.Epochs), strconv.Itoa(sr.Epochs), strconv.FormatFloat(mt.Seconds(), 'f', 1, 64), strconv.FormatFloat(st.Seconds(), 'f', 1, 64),
			mr.Stopped, sr.Stopped})
		fmt.Fprintf(&md, "| %s | %s %v, %v vs real | %d | %d | %d | %d | %.4f | %.4f | %+.4f | %.4f | %.4f | %d / %d | %s / %s |\n",
			mono.dataset, mono.cfg.RG, mono.cfg.Layer, mono.cfg.Param, mono.cfg.Units, mr.Params, sq.cfg.Units, sr.Params,
			mr.Test.LL, sr.Test.LL, delta, mr.Test.BPD, sr.Test.BPD, mr.Epochs, sr.Epochs, mt.Round(time.Second), st.Round(time.Second))
	}
	fmt.Fprintf(&md, "\nTest log-likelihood, mean nats per sample (higher is better), and bits per dimension, of the best model by validation. The squared circuit (real weights, p = c²/Z) has the largest K whose parameter count does not exceed the monotonic circuit's. Squared at least as good on %d of %d datasets.\n", wins, n)
	if err := writeRowsCSV(filepath.Join(dir, "results.csv"), squaredHeader, rows); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "results.md"), []byte(md.String()))
}
