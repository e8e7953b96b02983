package experiments

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/circuit"
)

// The compression recipe (docs/COMPRESSION.md): the reference paper's
// experiment on MNIST and Fashion-MNIST. Per dataset it trains QG-Tucker
// K=32, compresses it at every rank of CompressionRanks, fine-tunes each
// compressed model, and trains a CP-R circuit of each rank from scratch
// with the fine-tuning's budget.
//
// Its directory follows the paper's paths (see CompressionRow), one folder
// per model:
//
//	DATASET/QG_32/tucker/                the Tucker run
//	DATASET/QG_32/rank_R/                the compressed model (model.tenpc, compress.json)
//	DATASET/QG_32/rank_Rfinetuned/       the fine-tuning run
//	DATASET/QG_32/from_scratch/rank_R/   the CP-R run from scratch
//
// and every folder holds splits.json, the model's bpd on the three splits.
// At the top, results.csv, results.md and one compression_DATASET.png.

// CompressionRanks are the ranks the recipe compresses to (the paper's).
var CompressionRanks = []int{1, 2, 4, 8, 16, 32}

// The compression recipe's time budgets, sized on the 2-core development
// machine (docs/COMPRESSION.md): a QG-Tucker K=32 step of batch 256 takes
// 1.1–1.4 s (an MNIST epoch 4–5 minutes), a CP-R rank-32 step 0.25 s (an
// epoch about a minute). Per dataset the Tucker run trains for at most
// CompressionTuckerBudget and each of the 12 CP-R runs (6 fine-tunings, 6
// from scratch) for at most CompressionRunBudget; with the evaluations
// and the compressions (about 5 minutes) a dataset takes at most about
// 7 hours, and the recipe about 14. The Tucker model learns slowly per
// epoch and needs the long budget to near the paper's (docs/COMPRESSION.md).
const (
	CompressionTuckerBudget = 5 * time.Hour
	CompressionRunBudget    = 8 * time.Minute
	CompressionUnits        = 32
)

// compressionSeed seeds the factorizations (and every run, as
// DefaultTrainConfig's seed does).
const compressionSeed = 42

// compressionPlan is one dataset's part of the recipe.
type compressionPlan struct {
	dataset string
	base    TrainConfig // the Tucker run's configuration; the others derive from it
	ranks   []int
	dir     string // DATASET/QG_K under the recipe's directory
}

func compressionPlans(o RecipeOptions) []compressionPlan {
	datasets := []string{"mnist", "fashion-mnist"}
	ranks, units := CompressionRanks, CompressionUnits
	if o.Quick {
		// A smoke test: MNIST only, K = 4 (rank 16 = K² is exact), 500
		// samples per split, one epoch per run.
		datasets, ranks, units = []string{"mnist"}, []int{1, 4, 16}, 4
	}
	var plans []compressionPlan
	for _, ds := range datasets {
		cfg := DefaultTrainConfig()
		cfg.Dataset, cfg.RG, cfg.Layer, cfg.Units = ds, "qg", circuit.Tucker, units
		cfg.TimeBudget = CompressionTuckerBudget
		if ds == "fashion-mnist" && o.DataDir != "" {
			cfg.DataDir = o.DataDir
		}
		if o.Quick {
			cfg.Limit, cfg.Epochs, cfg.TimeBudget = 500, 1, 0
		}
		dir := filepath.Join(o.Out, strings.ReplaceAll(ds, "-", "_"), fmt.Sprintf("QG_%d", units))
		cfg.Out = filepath.Join(dir, "tucker")
		plans = append(plans, compressionPlan{dataset: ds, base: cfg, ranks: ranks, dir: dir})
	}
	return plans
}

// runConfig is the configuration of a CP-R run of rank r in dir: the
// Tucker run's data and protocol, the fine-tunings' time budget.
func (p *compressionPlan) runConfig(r int, dir string, quick bool) TrainConfig {
	cfg := p.base
	cfg.Layer, cfg.Rank, cfg.Out = circuit.CPR, r, dir
	if !quick {
		cfg.TimeBudget = CompressionRunBudget
	}
	return cfg
}

// compressionResult is one model's row of the results.
type compressionResult struct {
	mode   CompressionMode
	rank   int
	model  string // the model file
	splits modelSplits
	epochs int // epochs trained (0: not trained)
	secs   float64
}

func runCompression(ctx context.Context, o RecipeOptions) error {
	o.defaults("compression")
	paper, err := PaperCompression()
	if err != nil {
		return err
	}
	var rows [][]string
	md := "# Compression: QG-Tucker → CP-R (test bpd; the paper's beside each cell)\n"
	for _, p := range compressionPlans(o) {
		// The files are rewritten after the Tucker model and after every
		// rank, so that a recipe cut short reports what it has.
		done, mdDone := rows, md
		report := func(res []compressionResult) error {
			rows, md = slices.Clip(done), mdDone
			for _, r := range res {
				rows = append(rows, p.csvRow(o.Out, r, paper))
			}
			var b strings.Builder
			p.markdown(&b, res, paper)
			md += b.String()
			if err := writeCompressionFiles(o.Out, rows, md); err != nil {
				return err
			}
			if len(res) == 1 {
				return nil // the Tucker model alone: nothing to plot against rank
			}
			return p.plot(o.Out, res)
		}
		if err := p.run(ctx, o, report); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Stdout, "results: %s, %s\n", filepath.Join(o.Out, "results.csv"), filepath.Join(o.Out, "results.md"))
	return nil
}

// run trains, compresses, fine-tunes and trains from scratch as the
// recipe describes, resuming whatever o.Out already holds. It calls report
// with the results so far (the Tucker model first, the ranks in increasing
// order) once the Tucker model is evaluated and after every rank.
func (p *compressionPlan) run(ctx context.Context, o RecipeOptions, report func([]compressionResult) error) error {
	tr, err := trainOrResume(ctx, p.base, o.Force, o.Log)
	if err != nil {
		return fmt.Errorf("%s: %w", p.base.Out, err)
	}
	tucker := compressionResult{mode: CompressionTucker, model: tr.Model, epochs: tr.Epochs, secs: runSeconds(tr)}
	if tucker.splits, err = evalSplits(tr.Model, p.base.Limit, o.Force); err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "%s tucker K=%d: test bpd %.4f (%d epochs)\n", p.dataset, p.base.Units, tucker.splits.Test.BPD, tr.Epochs)
	out := []compressionResult{tucker}
	if err := report(out); err != nil {
		return err
	}
	// The largest ranks first: the paper's comparisons (and the issue's
	// targets) are about them, so an interrupted recipe has them first.
	// The results are reported by increasing rank.
	for _, r := range slices.Backward(p.ranks) {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Compressed.
		dir := filepath.Join(p.dir, fmt.Sprintf("rank_%d", r))
		comp := compressionResult{mode: CompressionCompressed, rank: r, model: filepath.Join(dir, ModelFile)}
		if comp.secs, err = compressOnce(tr.Model, comp.model, r, o); err != nil {
			return err
		}
		if comp.splits, err = evalSplits(comp.model, p.base.Limit, o.Force); err != nil {
			return err
		}
		// Fine-tuned: a run that started from the compressed model resumes
		// from its own checkpoint; one that started from an older
		// compressed model (the Tucker run went on since) starts over.
		ft := p.runConfig(r, filepath.Join(p.dir, fmt.Sprintf("rank_%dfinetuned", r)), o.Quick)
		fo := o
		fo.Force = o.Force || newer(comp.model, filepath.Join(ft.Out, ConfigFile))
		ft.Init = comp.model
		if !fo.Force && exists(filepath.Join(ft.Out, CheckpointFile)) {
			ft.Init = ""
		}
		fine, err := p.train(ctx, ft, CompressionFineTuned, fo)
		if err != nil {
			return err
		}
		// From scratch, with the same budget.
		sc := p.runConfig(r, filepath.Join(p.dir, "from_scratch", fmt.Sprintf("rank_%d", r)), o.Quick)
		scratch, err := p.train(ctx, sc, CompressionScratch, o)
		if err != nil {
			return err
		}
		out = append(out, comp, fine, scratch)
		fmt.Fprintf(o.Stdout, "%s rank %d: test bpd compressed %.4f, fine-tuned %.4f, from scratch %.4f\n",
			p.dataset, r, comp.splits.Test.BPD, fine.splits.Test.BPD, scratch.splits.Test.BPD)
		slices.SortStableFunc(out[1:], func(a, b compressionResult) int { return cmp.Compare(a.rank, b.rank) })
		if err := report(out); err != nil {
			return err
		}
	}
	return nil
}

// train runs (or resumes, or finds) one CP-R run and evaluates its model.
func (p *compressionPlan) train(ctx context.Context, cfg TrainConfig, mode CompressionMode, o RecipeOptions) (compressionResult, error) {
	res, err := trainOrResume(ctx, cfg, o.Force, o.Log)
	if err != nil {
		return compressionResult{}, fmt.Errorf("%s: %w", cfg.Out, err)
	}
	r := compressionResult{mode: mode, rank: cfg.Rank, model: res.Model, epochs: res.Epochs, secs: runSeconds(res)}
	r.splits, err = evalSplits(res.Model, cfg.Limit, o.Force)
	return r, err
}

// runSeconds is the training time of a run: the sum of its epochs'.
func runSeconds(res *Result) float64 {
	var s float64
	for _, h := range res.History {
		s += h.Seconds
	}
	return s
}

// compressFile is the CompressResult of a compressed model, next to it.
const compressFile = "compress.json"

// compressOnce compresses the Tucker model to rank r at out, unless out and
// its compress.json are there already (and force is not set), and returns
// the factorization's seconds.
func compressOnce(tucker, out string, r int, o RecipeOptions) (float64, error) {
	info := filepath.Join(filepath.Dir(out), compressFile)
	var res CompressResult
	if !o.Force && readJSON(info, &res) == nil && res.Rank == r && newer(out, tucker) {
		return res.Seconds, nil
	}
	got, err := Compress(CompressConfig{Model: tucker, Rank: r, Out: out, Force: true, Seed: compressionSeed, SkipEval: true, Log: o.Log})
	if err != nil {
		return 0, fmt.Errorf("compress to rank %d: %w", r, err)
	}
	var worst float64
	for _, l := range got.Layers {
		worst = max(worst, l.MaxError)
	}
	o.Log.WithFields(logrus.Fields{"rank": r, "params": got.ParamsAfter, "max_error": round4(worst), "seconds": round4(got.Seconds)}).Info("compressed")
	return got.Seconds, writeJSON(info, got)
}

// newer reports whether file a exists and was written after file b.
func newer(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && sa.ModTime().After(sb.ModTime())
}

// modelSplits is a model's result on the three splits (splits.json), with
// the size and time of the model file they were computed from.
type modelSplits struct {
	Train     SplitResult `json:"train"`
	Valid     SplitResult `json:"valid"`
	Test      SplitResult `json:"test"`
	ModelSize int64       `json:"model_size"`
	ModelTime time.Time   `json:"model_time"`
}

// evalSplits evaluates the model file path on its dataset's three splits
// (the first limit samples of each; 0: all) as `tenpc eval` does, reusing
// the splits.json beside it when it was computed from this very file.
func evalSplits(path string, limit int, force bool) (modelSplits, error) {
	st, err := os.Stat(path)
	if err != nil {
		return modelSplits{}, err
	}
	cache := filepath.Join(filepath.Dir(path), "splits.json")
	var ms modelSplits
	if !force && readJSON(cache, &ms) == nil && ms.ModelSize == st.Size() && ms.ModelTime.Equal(st.ModTime()) {
		return ms, nil
	}
	m, err := LoadModel(path)
	if err != nil {
		return modelSplits{}, err
	}
	sp, err := loadModelData(m, path, "", limit)
	if err != nil {
		return modelSplits{}, err
	}
	ms = modelSplits{ModelSize: st.Size(), ModelTime: st.ModTime()}
	for _, s := range []struct {
		name string
		dst  *SplitResult
	}{{"train", &ms.Train}, {"valid", &ms.Valid}, {"test", &ms.Test}} {
		ds, _ := split(sp, s.name)
		if *s.dst, err = evalModel(m, ds, s.name); err != nil {
			return modelSplits{}, fmt.Errorf("evaluate %s on %s: %w", path, s.name, err)
		}
	}
	return ms, writeJSON(cache, ms)
}

// compressionHeader is results.csv's header: the reference table's columns
// first, then what names the cell.
var compressionHeader = []string{"path", "train_bpd", "valid_bpd", "test_bpd", "dataset", "rg", "k", "mode", "rank", "epochs", "seconds", "paper_test_bpd"}

func (p *compressionPlan) csvRow(root string, r compressionResult, paper []CompressionRow) []string {
	rel, err := filepath.Rel(root, r.model)
	if err != nil {
		rel = r.model
	}
	f := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'f', 4, 64)
	}
	rank := ""
	if r.mode != CompressionTucker {
		rank = strconv.Itoa(r.rank)
	}
	return []string{filepath.ToSlash(rel), f(r.splits.Train.BPD), f(r.splits.Valid.BPD), f(r.splits.Test.BPD),
		p.dataset, p.base.RG, strconv.Itoa(p.base.Units), r.mode.String(), rank, strconv.Itoa(r.epochs),
		strconv.FormatFloat(r.secs, 'f', 1, 64), p.paperValue(paper, r.mode, r.rank)}
}

// paperValue is the paper's test bpd for a cell, or "" when it has none.
func (p *compressionPlan) paperValue(paper []CompressionRow, mode CompressionMode, rank int) string {
	for _, row := range paper {
		if row.Dataset == p.dataset && row.RG == p.base.RG && row.K == p.base.Units && row.Mode == mode && row.Rank == rank {
			return strconv.FormatFloat(row.TestBPD, 'f', 4, 64)
		}
	}
	return ""
}

// markdown appends the dataset's table: a row per rank, the test bpd of the
// compressed, fine-tuned and from-scratch models with the paper's beside.
func (p *compressionPlan) markdown(md *strings.Builder, res []compressionResult, paper []CompressionRow) {
	cell := func(v string) string {
		if v == "" {
			return "—"
		}
		return v
	}
	fmt.Fprintf(md, "\n## %s, QG, K = %d\n\n", p.dataset, p.base.Units)
	fmt.Fprintf(md, "Tucker: %.4f (paper %s)\n\n", res[0].splits.Test.BPD, cell(p.paperValue(paper, CompressionTucker, 0)))
	md.WriteString("| rank | compressed | paper | fine-tuned | paper | from scratch | paper |\n|---|---|---|---|---|---|---|\n")
	for _, r := range p.ranks {
		fmt.Fprintf(md, "| %d", r)
		for _, mode := range []CompressionMode{CompressionCompressed, CompressionFineTuned, CompressionScratch} {
			got := "not run yet"
			for _, x := range res {
				if x.mode == mode && x.rank == r {
					got = fmt.Sprintf("%.4f", x.splits.Test.BPD)
				}
			}
			fmt.Fprintf(md, " | %s | %s", got, cell(p.paperValue(paper, mode, r)))
		}
		md.WriteString(" |\n")
	}
}

// plot draws test bpd against log₂ rank: compressed, fine-tuned and from
// scratch.
func (p *compressionPlan) plot(root string, res []compressionResult) error {
	lines := []Series{{Name: "compressed"}, {Name: "fine-tuned"}, {Name: "from scratch"}}
	for _, r := range res {
		if r.mode == CompressionTucker {
			continue
		}
		s := &lines[r.mode-CompressionCompressed]
		s.X, s.Y = append(s.X, math.Log2(float64(r.rank))), append(s.Y, r.splits.Test.BPD)
	}
	pl := LinePlot{
		Title:  fmt.Sprintf("%s, QG K=%d (Tucker %.4f bpd)", p.dataset, p.base.Units, res[0].splits.Test.BPD),
		XLabel: "log₂ rank", YLabel: "test bits per dimension", Series: lines,
	}
	return pl.WritePNG(filepath.Join(root, "compression_"+strings.ReplaceAll(p.dataset, "-", "_")+".png"), 640*Pixel, 400*Pixel)
}

// writeCompressionFiles writes results.csv and results.md atomically.
func writeCompressionFiles(dir string, rows [][]string, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var cb strings.Builder
	w := csv.NewWriter(&cb)
	if err := w.Write(compressionHeader); err != nil {
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "results.csv"), []byte(cb.String())); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "results.md"), []byte(md))
}
