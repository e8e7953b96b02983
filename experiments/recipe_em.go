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
)

// The em-adam recipe compares EM with Adam by the training time each needs
// to reach a validation bpd: QG-CP K=16 on MNIST (the reference protocol's
// Adam against online EM) and the debd recipe's HCLT on every DEBD set in
// -data-dir (its Adam against online and full-batch EM with smoothing),
// each run within a time budget. It reports, per run, the time to come
// within 5%, 1% and 0.2% of the best validation bpd any optimizer reached
// on that dataset, and plots validation bpd against training time.

// emRun is one run of the em-adam recipe.
type emRun struct {
	name    string // DATASET/OPTIMIZER
	dataset string // the plots' and thresholds' group
	cfg     TrainConfig
}

// emAdamBudgets are the training budgets of an MNIST and a DEBD run.
const (
	emAdamMNISTBudget = 10 * time.Minute
	emAdamDEBDBudget  = 5 * time.Minute
)

// emAdamRuns lists the recipe's runs: MNIST's, then each DEBD set's in
// o.DataDir (none without one).
func emAdamRuns(o RecipeOptions) ([]emRun, error) {
	var runs []emRun
	add := func(dataset, opt string, cfg TrainConfig, budget time.Duration) {
		name := dataset + "/" + opt
		cfg.Out = filepath.Join(o.Out, filepath.FromSlash(name))
		cfg.TimeBudget = o.scaleBudget(budget)
		if o.Quick {
			cfg.Limit, cfg.Epochs, cfg.TimeBudget = 300, 2, 0
			if cfg.Units > 4 {
				cfg.Units = 4
			}
		}
		runs = append(runs, emRun{name: name, dataset: dataset, cfg: cfg})
	}
	adam := DefaultTrainConfig()
	add("mnist", "adam", adam, emAdamMNISTBudget)
	em := adam
	// Online EM, one M-step per batch of 256 (Einsum Networks use step
	// size 0.05; docs/RESULTS.md has the step sizes tried).
	em.Optimizer, em.LR = EM, 0.1
	add("mnist", "em", em, emAdamMNISTBudget)
	if o.DataDir == "" {
		return runs, nil
	}
	sets, err := debdSets(o.DataDir)
	if err != nil {
		return nil, err
	}
	for _, set := range sets {
		cfg := DEBDConfig(filepath.Join(o.DataDir, set), "")
		add(set, "adam", cfg, emAdamDEBDBudget)
		// EM needs clamp (or exp) weights; its updates do not depend on
		// the parameterization.
		em := cfg
		em.Param, em.Optimizer, em.LR, em.PseudoCount = circuit.Clamp, EM, 0.1, 0.01
		add(set, "em", em, emAdamDEBDBudget)
		full := em
		full.LR, full.FullBatch = 1, true
		add(set, "em-full", full, emAdamDEBDBudget)
	}
	return runs, nil
}

func runEMAdam(ctx context.Context, o RecipeOptions) error {
	o.defaults("em-adam")
	if !(o.BudgetScale >= 0) || math.IsInf(o.BudgetScale, 0) {
		return inputErrorf("-budget-scale %v: want a positive factor", o.BudgetScale)
	}
	all, err := emAdamRuns(o)
	if err != nil {
		return err
	}
	runs, err := selectRuns(all, o.Only, func(r emRun) string { return r.name })
	if err != nil {
		return err
	}
	var total time.Duration
	for _, r := range runs {
		total += r.cfg.TimeBudget
	}
	fmt.Fprintf(o.Stdout, "em-adam: %d runs in %s; training budgets %s in all\n", len(runs), o.Out, total)
	if o.Plan {
		for _, r := range runs {
			fmt.Fprintf(o.Stdout, "  %-24s %s\n", r.name, r.cfg.TimeBudget)
		}
		return nil
	}
	for _, r := range runs {
		res, err := trainOrResume(ctx, r.cfg, o.Force, o.Log)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		fmt.Fprintf(o.Stdout, "%s: test bpd %.4f, LL %.4f (%d epochs, %s)\n", r.name, res.Test.BPD, res.Test.LL, res.Epochs, res.Stopped)
		if err := writeEMAdamReport(o.Out, all); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Stdout, "results: %s, %s\n", filepath.Join(o.Out, "results.csv"), filepath.Join(o.Out, "results.md"))
	return nil
}

// emAdamFractions are the thresholds of the report: within 5%, 1% and 0.2%
// of the dataset's best validation bpd.
var emAdamFractions = []float64{0.05, 0.01, 0.002}

// timeTo is the training time (seconds, with the epochs' validation) at the
// end of the first epoch whose validation bpd is at most target; NaN when
// none is.
func timeTo(hist []EpochMetrics, target float64) float64 {
	var t float64
	for _, m := range hist {
		t += m.Seconds
		if m.ValidBPD != 0 && m.ValidBPD <= target {
			return t
		}
	}
	return math.NaN()
}

// writeEMAdamReport writes results.csv, results.md and the plots of the
// finished runs of all in dir.
func writeEMAdamReport(dir string, all []emRun) error {
	type done struct {
		run emRun
		res *Result
	}
	var finished []done
	best := map[string]float64{}
	var order []string
	for _, r := range all {
		res, _, err := readFinishedRun(r.cfg)
		if err != nil {
			return err
		}
		if res == nil {
			continue
		}
		finished = append(finished, done{r, res})
		if _, ok := best[r.dataset]; !ok {
			best[r.dataset] = math.Inf(1)
			order = append(order, r.dataset)
		}
		for _, m := range res.History {
			if m.ValidBPD != 0 {
				best[r.dataset] = min(best[r.dataset], m.ValidBPD)
			}
		}
	}
	header := []string{"run", "optimizer", "lr", "pseudo_count", "full_batch", "epochs", "train_seconds", "best_valid_bpd", "test_bpd", "test_ll"}
	var md strings.Builder
	md.WriteString("| run | epochs | train time | best valid bpd | test bpd | test LL |")
	for _, f := range emAdamFractions {
		header = append(header, fmt.Sprintf("seconds_to_%g_pct", f*100))
		fmt.Fprintf(&md, " to %g%% |", f*100)
	}
	md.WriteString("\n|---|---|---|---|---|---|" + strings.Repeat("---|", len(emAdamFractions)) + "\n")
	var rows [][]string
	for _, d := range finished {
		c, h := d.run.cfg, d.res.History
		bestValid := math.Inf(1)
		for _, m := range h {
			if m.ValidBPD != 0 {
				bestValid = min(bestValid, m.ValidBPD)
			}
		}
		secs := trainingTime(h).Seconds()
		row := []string{d.run.name, c.Optimizer.String(), strconv.FormatFloat(c.LR, 'g', -1, 64), strconv.FormatFloat(c.PseudoCount, 'g', -1, 64),
			strconv.FormatBool(c.FullBatch), strconv.Itoa(d.res.Epochs), strconv.FormatFloat(secs, 'f', 1, 64),
			strconv.FormatFloat(bestValid, 'f', 4, 64), strconv.FormatFloat(d.res.Test.BPD, 'f', 4, 64), strconv.FormatFloat(d.res.Test.LL, 'f', 4, 64)}
		fmt.Fprintf(&md, "| %s | %d | %s | %.4f | %.4f | %.4f |", d.run.name, d.res.Epochs, (time.Duration(secs) * time.Second).String(), bestValid, d.res.Test.BPD, d.res.Test.LL)
		for _, f := range emAdamFractions {
			t := timeTo(h, best[d.run.dataset]*(1+f))
			if math.IsNaN(t) {
				row = append(row, "")
				md.WriteString(" – |")
				continue
			}
			row = append(row, strconv.FormatFloat(t, 'f', 1, 64))
			fmt.Fprintf(&md, " %s |", (time.Duration(t) * time.Second).String())
		}
		rows = append(rows, row)
		md.WriteString("\n")
	}
	md.WriteString("\n\"to x%\": training time (validation included) until the validation bpd is within x% of the best any run reached on the dataset; – where it never was.\n")
	if err := writeRowsCSV(filepath.Join(dir, "results.csv"), header, rows); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "results.md"), []byte(md.String())); err != nil {
		return err
	}
	for _, ds := range order {
		p := LinePlot{Title: ds, XLabel: "training time (minutes)", YLabel: "validation bits per dimension"}
		for _, d := range finished {
			if d.run.dataset == ds {
				p.Series = append(p.Series, timeCurve(strings.TrimPrefix(d.run.name, ds+"/"), d.res.History))
			}
		}
		if err := p.WritePNG(filepath.Join(dir, ds+"-time.png"), 640*Pixel, 400*Pixel); err != nil {
			return err
		}
	}
	return nil
}
