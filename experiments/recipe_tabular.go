package experiments

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenpc/tenpc/circuit"
)

// SklearnDataDir is where Debian's python3-sklearn installs the datasets
// that scikit-learn bundles (the tabular recipe's default -data-dir).
const SklearnDataDir = "/usr/lib/python3/dist-packages/sklearn/datasets/data"

// tabularSet is one data set of the tabular recipe: a file of
// SklearnDataDir and its description; classes is the number of classes
// of its label column (0: none).
type tabularSet struct {
	name    string
	desc    TableDesc
	classes int
}

// tabularSets are the recipe's data: diabetes (442 patients; age, sex,
// body-mass index, blood pressure and six blood serum measurements: one
// binary column and nine continuous ones) and wine (178 wines, 13
// continuous measurements and the cultivar as a label column, which the
// density does not model).
var tabularSets = []tabularSet{
	{name: "diabetes", desc: TableDesc{File: "diabetes_data_raw.csv.gz", Whitespace: true,
		Columns: "age:continuous,sex:binary,bmi:continuous,bp:continuous,s1:continuous,s2:continuous,s3:continuous,s4:continuous,s5:continuous,s6:continuous",
		Source:  "Efron, Hastie, Johnstone and Tibshirani (2004), \"Least Angle Regression\", Annals of Statistics 32(2), as bundled with scikit-learn"}},
	{name: "wine", desc: TableDesc{File: "wine_data.csv", SkipLines: 1,
		Columns: "alcohol:continuous,malic_acid:continuous,ash:continuous,alcalinity:continuous,magnesium:continuous,phenols:continuous,flavanoids:continuous,nonflavanoid:continuous,proanthocyanins:continuous,color:continuous,hue:continuous,od280:continuous,proline:continuous,label",
		Source:  "UCI Machine Learning Repository, Wine (Forina et al., 1991), as bundled with scikit-learn"}, classes: 3},
}

// tabularModel is one circuit the recipe trains on every set (a
// classifier: on every set with a label column).
type tabularModel struct {
	name, rg   string
	units      int
	classifier bool
}

// tabularModels: a mixed circuit over a Chow-Liu tree of the columns, one
// over random binary trees, the fully factorized baseline (one
// distribution per column, independent columns), and a generative
// class-conditional circuit over the Chow-Liu tree (one root unit per
// class, trained on log p(x, y); its LL columns are log p(x, y)).
var tabularModels = []tabularModel{
	{name: "chow-liu", rg: "cl", units: 16},
	{name: "random-trees", rg: "rbt:4", units: 16},
	{name: "factorized", rg: "ff", units: 1},
	{name: "chow-liu-classifier", rg: "cl", units: 16, classifier: true},
}

// tabularMissing is the share of test values hidden for the recipe's
// missing-data column, integrated out exactly.
const tabularMissing = 0.2

// TabularConfig is the training configuration of model m on the table
// described by desc: Adam lr 0.01 on batches of 64, softmax weights
// drawn from N(0, 1), validation 10% of the training rows, early stopping
// after 30 epochs without improvement, at most 500 epochs or budget.
func TabularConfig(desc, out string, m tabularModel, budget time.Duration) TrainConfig {
	cfg := DefaultTrainConfig()
	cfg.Dataset, cfg.Out = "csv:"+desc, out
	cfg.RG, cfg.Units, cfg.Layer, cfg.Param, cfg.WeightInit = m.rg, m.units, circuit.CP, circuit.Softmax, circuit.Normal
	cfg.ValidFraction, cfg.LR, cfg.BatchSize, cfg.Epochs, cfg.Patience = 0.1, 0.01, 64, 500, 30
	cfg.TimeBudget = budget
	return cfg
}

// tabularBudget bounds each run of the full recipe: six runs of at most
// 25 s keep it within three minutes on 2 cores (they stop early, after a
// few seconds each, on the 2-core machine).
const tabularBudget = 25 * time.Second

func runTabular(ctx context.Context, o RecipeOptions) error {
	o.defaults("tabular")
	dir := o.DataDir
	if dir == "" {
		dir = SklearnDataDir
	}
	for _, s := range tabularSets {
		p := filepath.Join(dir, s.desc.File)
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return inputErrorf("tabular: %s not found: install Debian's python3-sklearn (`make tabular-data`, or apt-get install python3-sklearn) or pass -data-dir DIR holding %s and %s", p, tabularSets[0].desc.File, tabularSets[1].desc.File)
			}
			return inputErrorf("tabular: %v", err)
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	pct := int(tabularMissing * 100)
	header := []string{"dataset", "model", "rg", "k", "params", "epochs", "train_ll", "valid_ll", "test_ll", fmt.Sprintf("test_ll_%d%%_missing", pct),
		"test_accuracy", fmt.Sprintf("test_accuracy_%d%%_missing", pct)}
	var rows [][]string
	for _, s := range tabularSets {
		// The description the runs read: the recipe's set, its file in dir.
		desc := s.desc
		abs, err := filepath.Abs(filepath.Join(dir, desc.File))
		if err != nil {
			return err
		}
		desc.File = abs
		descPath := filepath.Join(o.Out, s.name+".json")
		if err := writeJSON(descPath, desc); err != nil {
			return err
		}
		for _, m := range tabularModels {
			if m.classifier && s.classes == 0 {
				continue
			}
			budget := tabularBudget
			if o.BudgetScale > 0 {
				budget = time.Duration(float64(budget) * o.BudgetScale)
			}
			cfg := TabularConfig(descPath, filepath.Join(o.Out, s.name, m.name), m, budget)
			if m.classifier {
				cfg.Classes = s.classes
			}
			if o.Quick {
				cfg.Units, cfg.Epochs, cfg.TimeBudget = min(cfg.Units, 2), 2, 0
			}
			cfg.Force = true
			res, err := Train(ctx, cfg, o.Log)
			if err != nil {
				return fmt.Errorf("tabular %s/%s: %w", s.name, m.name, err)
			}
			tr, err := Evaluate(EvalConfig{Model: res.Model, Split: "train"})
			if err != nil {
				return err
			}
			miss, err := tabularMissingLL(res.Model, cfg.Seed)
			if err != nil {
				return err
			}
			f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
			valid := "-"
			if res.Valid != nil {
				valid = f(res.Valid.LL)
			}
			acc, accMiss := "-", "-"
			if res.Test.Accuracy != nil {
				acc, accMiss = f(*res.Test.Accuracy), f(*miss.Accuracy)
			}
			rows = append(rows, []string{s.name, m.name, m.rg, strconv.Itoa(cfg.Units), strconv.Itoa(res.Params), strconv.Itoa(res.Epochs),
				f(tr.LL), valid, f(res.Test.LL), f(miss.LL), acc, accMiss})
			fmt.Fprintf(o.Stdout, "%-9s %-20s test LL %9.3f  (train %9.3f, valid %s; %d%% missing: %9.3f)", s.name, m.name, res.Test.LL, tr.LL, valid, pct, miss.LL)
			if res.Test.Accuracy != nil {
				fmt.Fprintf(o.Stdout, "  accuracy %s (%d%% missing: %s)", acc, pct, accMiss)
			}
			fmt.Fprintln(o.Stdout)
		}
	}
	if err := writeTable(o.Out, header, rows); err != nil {
		return err
	}
	var sb strings.Builder
	sb.WriteString("# tabular\n\nMean log-likelihood per row (nats, the data's own units; continuous columns are densities) of circuits with mixed inputs: Bernoulli for binary columns, Gaussian for continuous ones, categorical for the others. Test rows are 20% of each set, validation 10% of the rest (split seed 42). The `_missing` columns hide a random 20% of the test values and integrate them out. The classifier (sets with a label column) is a class-conditional circuit, one root unit per class under a uniform prior: its LL is log p(x, y), its accuracy that of argmax_y p(y | x).\n\nData:\n\n")
	for _, s := range tabularSets {
		fmt.Fprintf(&sb, "- %s: %s.\n", s.name, s.desc.Source)
	}
	sb.WriteString("\nResults: results.csv, results.md.\n")
	if err := writeFileAtomic(filepath.Join(o.Out, "README.md"), []byte(sb.String())); err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "tabular: results in %s (data: %s)\n", filepath.Join(o.Out, "results.md"), strings.Join([]string{tabularSets[0].desc.Source, tabularSets[1].desc.Source}, "; "))
	return nil
}

// tabularMissingLL is the model's test result (mean log-likelihood, a
// classifier's accuracy) with a share tabularMissing of the test values
// (drawn from seed) hidden and integrated out.
func tabularMissingLL(modelPath string, seed uint64) (SplitResult, error) {
	m, err := LoadModel(modelPath)
	if err != nil {
		return SplitResult{}, err
	}
	sp, _, err := LoadTable(m.Info.Config)
	if err != nil {
		return SplitResult{}, err
	}
	t := sp.Test.Subset(rangeInts(sp.Test.N))
	rng := rand.New(rand.NewPCG(seed, 0x7ab1e))
	for i := range t.X {
		if rng.Float64() < tabularMissing {
			t.X[i] = math.NaN()
		}
	}
	prog, err := m.Circuit.Compile(max(m.Info.BatchSize, 1), false)
	if err != nil {
		return SplitResult{}, err
	}
	r, _, err := evalTable(prog, m.Info.Table, t, "test")
	return r, err
}
