package experiments

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenpc/tenpc/circuit"
)

// The debd recipe trains DEBDConfig on every DEBD-format set in its data
// directory (DIR/NAME/NAME.{train,valid,test}.data), one run directory per
// set (resumed when the recipe runs again), and reports each set's test
// log-likelihood beside the Chow-Liu tree of its training set
// (ChowLiuBaseline) and the published RAT-SPN, HCLT and Einsum Networks
// results (PublishedDEBD): results.csv and results.md.

// DEBDConfig is the debd recipe's configuration for the DEBD set at path
// (DIR/NAME), writing to out: an HCLT, that is the Chow-Liu tree of the
// training set (the cl region graph) with K latent states per variable,
// chosen on the validation sets of nltcs, plants, jester, dna and bbc
// (docs/RESULTS.md, "DEBD"):
//
//   - CP-R layers of rank K: unlike CP, whose root partition multiplies
//     independent scalars, CP-R sums over the root's K latent states, so
//     the tree's root couples its subtrees;
//   - softmax weights: Adam with clamped weights stalls near a Chow-Liu
//     tree's likelihood on these sets;
//   - Adam, early stopping after 20 epochs without a better validation
//     log-likelihood, the best model by validation.
func DEBDConfig(path, out string) TrainConfig {
	cfg := DefaultTrainConfig()
	cfg.Dataset, cfg.Out = "debd:"+path, out
	cfg.RG, cfg.Layer, cfg.Units, cfg.Param = "cl", circuit.CPR, debdUnits, circuit.Softmax
	cfg.LR, cfg.BatchSize = debdLR, debdBatch
	cfg.Epochs, cfg.Patience, cfg.TimeBudget = 2000, 20, debdBudget
	return cfg
}

// The debd recipe's K, learning rate and batch size (see DEBDConfig), and
// the time budget of a set: early stopping ends training before it on the
// sets above; it bounds the time a larger set takes.
const (
	debdUnits  = 16
	debdLR     = 0.05
	debdBatch  = 256
	debdBudget = 30 * time.Minute
)

// debdSets lists the DEBD sets in dir: the folders NAME holding
// NAME.train.data, sorted.
func debdSets(dir string) ([]string, error) {
	const get = "clone github.com/arranger1044/DEBD and pass its datasets folder (which holds NAME/NAME.train.data) with -data-dir DIR"
	if dir == "" {
		return nil, inputErrorf("debd: no -data-dir: %s", get)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, inputErrorf("debd: %v (%s)", err, get)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && exists(filepath.Join(dir, e.Name(), e.Name()+".train.data")) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, inputErrorf("debd: no NAME/NAME.train.data in %s (%s)", dir, get)
	}
	return names, nil
}

// debdRun is the configuration of set name's run in the recipe o.
func debdRun(o RecipeOptions, name string) TrainConfig {
	cfg := DEBDConfig(filepath.Join(o.DataDir, name), filepath.Join(o.Out, name))
	cfg.TimeBudget = o.scaleBudget(cfg.TimeBudget)
	if o.Quick {
		cfg.Units, cfg.Limit, cfg.Epochs, cfg.TimeBudget = 4, 500, 1, 0
	}
	return cfg
}

func runDEBD(ctx context.Context, o RecipeOptions) error {
	o.defaults("debd")
	if !(o.BudgetScale >= 0) || math.IsInf(o.BudgetScale, 0) {
		return inputErrorf("-budget-scale %v: want a positive factor", o.BudgetScale)
	}
	all, err := debdSets(o.DataDir)
	if err != nil {
		return err
	}
	names, err := selectRuns(all, o.Only, func(s string) string { return s })
	if err != nil {
		return err
	}
	budget := debdRun(o, names[0]).TimeBudget
	fmt.Fprintf(o.Stdout, "debd: %d sets in %s, each within %s of training (early stopping usually ends it sooner)\n", len(names), o.Out, budget)
	if o.Plan {
		for _, n := range names {
			fmt.Fprintf(o.Stdout, "  %s\n", n)
		}
		return nil
	}
	published, err := PublishedDEBD()
	if err != nil {
		return err
	}
	for _, name := range names {
		res, err := trainOrResume(ctx, debdRun(o, name), o.Force, o.Log)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(o.Stdout, "%s: test LL %.4f (%d epochs, %s)\n", name, res.Test.LL, res.Epochs, res.Stopped)
		if err := writeDEBDReport(o, all, published); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Stdout, "results: %s, %s\n", filepath.Join(o.Out, "results.csv"), filepath.Join(o.Out, "results.md"))
	return nil
}

var debdHeader = []string{"set", "vars", "train_n", "test_n", "test_ll", "valid_ll", "chowliu_test_ll", "chowliu_alpha",
	"ratspn_test_ll", "hclt_test_ll", "einet_test_ll", "vs_ratspn", "vs_hclt", "epochs", "best_epoch", "train_seconds", "stopped"}

// writeDEBDReport writes results.csv and results.md for every set of all
// whose run in o.Out has finished, with the Chow-Liu tree of its training
// set beside it.
func writeDEBDReport(o RecipeOptions, all []string, published map[string]PublishedLL) error {
	f4 := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'f', 4, 64)
	}
	md2 := func(x float64) string {
		if math.IsNaN(x) {
			return "–"
		}
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
	var rows [][]string
	var md strings.Builder
	md.WriteString("| set | vars | tenpc HCLT | Chow-Liu tree (tenpc) | RAT-SPN | HCLT (published) | EiNet | vs RAT-SPN | vs HCLT | epochs | train time |\n")
	md.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, name := range all {
		cfg := debdRun(o, name)
		res, _, err := readFinishedRun(cfg)
		if err != nil {
			return err
		}
		if res == nil {
			continue
		}
		sp, err := LoadData(&cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		clt, err := ChowLiuBaseline(sp)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		cltLL := clt.LogLikelihood(sp.Test)
		pub, ok := published[name]
		if !ok {
			pub = PublishedLL{RATSPN: math.NaN(), HCLT: math.NaN(), EiNet: math.NaN()}
		}
		valid := math.NaN()
		if res.Valid != nil {
			valid = res.Valid.LL
		}
		secs := trainingTime(res.History)
		rows = append(rows, []string{name, strconv.Itoa(sp.Train.D), strconv.Itoa(sp.Train.N), strconv.Itoa(sp.Test.N),
			f4(res.Test.LL), f4(valid), f4(cltLL), strconv.FormatFloat(clt.Alpha, 'g', -1, 64),
			f4(pub.RATSPN), f4(pub.HCLT), f4(pub.EiNet), f4(res.Test.LL - pub.RATSPN), f4(res.Test.LL - pub.HCLT),
			strconv.Itoa(res.Epochs), strconv.Itoa(res.BestEpoch), strconv.FormatFloat(secs.Seconds(), 'f', 1, 64), res.Stopped})
		signed := func(x float64) string {
			if math.IsNaN(x) {
				return "–"
			}
			return fmt.Sprintf("%+.2f", x)
		}
		fmt.Fprintf(&md, "| %s | %d | %.2f | %.2f | %s | %s | %s | %s | %s | %d | %s |\n", name, sp.Train.D, res.Test.LL, cltLL,
			md2(pub.RATSPN), md2(pub.HCLT), md2(pub.EiNet), signed(res.Test.LL-pub.RATSPN), signed(res.Test.LL-pub.HCLT),
			res.Epochs, secs.Round(time.Second))
	}
	md.WriteString("\nTest log-likelihood, mean nats per sample (higher is better). Published results: experiments/reference/debd/README.md names their sources.\n")
	if err := writeRowsCSV(filepath.Join(o.Out, "results.csv"), debdHeader, rows); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(o.Out, "results.md"), []byte(md.String()))
}
