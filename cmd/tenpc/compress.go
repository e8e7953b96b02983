package main

import (
	"fmt"
	"io"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("compress", "compress a Tucker model into a CP-R model of rank R (non-negative CP per fold)", runCompress)
}

func runCompress(args []string, stdout io.Writer) error {
	fs := newFlagSet("compress", stdout)
	model := fs.String("model", "", "Tucker model file (required)")
	rank := fs.Int("rank", 0, "rank R of the CP-R layers (required, ≥ 1)")
	out := fs.String("o", "", "compressed model file to write (required)")
	force := fs.Bool("force", false, "replace -o if it exists")
	sweeps := fs.Int("sweeps", 0, "largest number of non-negative CP sweeps per fold (0: 100)")
	randomInit := fs.Bool("random-init", false, "start every factorization from random factors instead of the unfoldings' singular vectors")
	seed := fs.Uint64("seed", 42, "seed of the factorizations' random starting values")
	workers := fs.Int("workers", 0, "folds factorized at once (0: one per core)")
	noEval := fs.Bool("no-eval", false, "skip the test-set evaluations before and after")
	limit := fs.Int("limit", 0, "evaluate on the first N test samples only (0: all)")
	maxMem := fs.String("max-memory", "", "refuse a model whose evaluation would need more memory than this, e.g. 512M or 2G (default: the memory available)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	switch {
	case *model == "":
		return badInput("missing -model FILE (the Tucker model)")
	case *out == "":
		return badInput("missing -o FILE (the compressed model to write)")
	case *rank < 1:
		return badInput("-rank must be ≥ 1, got %d", *rank)
	}
	limitMem, err := parseMaxMemory(*maxMem)
	if err != nil {
		return err
	}
	res, err := experiments.Compress(experiments.CompressConfig{
		Model: *model, Rank: *rank, Out: *out, Force: *force, MaxIter: *sweeps, RandomInit: *randomInit, Seed: *seed,
		Workers: *workers, SkipEval: *noEval, Limit: *limit, MaxMemory: limitMem, Log: newLogger(),
	})
	if err != nil {
		return inputErr(err)
	}
	printCompress(stdout, res)
	return nil
}

func printCompress(w io.Writer, res *experiments.CompressResult) {
	fmt.Fprintf(w, "%s (%s) → rank %d, %d workers\n", res.Model, res.TuckerArch, res.Rank, res.Workers)
	fmt.Fprintln(w, "layer  folds  tensor      rel. error mean     max  sweeps  params before     after  seconds")
	for _, l := range res.Layers {
		sweeps := "exact"
		if l.Exact < l.Folds {
			sweeps = fmt.Sprintf("%.0f", l.Sweeps)
		}
		fmt.Fprintf(w, "%5d  %5d  %-10s  %15.4f  %6.4f  %6s  %13d  %8d  %7.2f\n", l.Layer, l.Folds,
			fmt.Sprintf("%d×%d×%d", l.Kout, l.Kin, l.Kin), l.MeanError, l.MaxError, sweeps, l.ParamsBefore, l.ParamsAfter, l.Seconds)
	}
	fmt.Fprintf(w, "parameters: %d → %d (%.1f× fewer); factorization %.1f s\n",
		res.ParamsBefore, res.ParamsAfter, float64(res.ParamsBefore)/float64(res.ParamsAfter), res.Seconds)
	if res.Before != nil && res.After != nil {
		fmt.Fprintf(w, "test before: LL %.4f nats, %.4f bpd (%d samples)\n", res.Before.LL, res.Before.BPD, res.Before.N)
		fmt.Fprintf(w, "test after:  LL %.4f nats, %.4f bpd\n", res.After.LL, res.After.BPD)
	}
	fmt.Fprintf(w, "model: %s (%s)\n", res.Out, res.Arch)
}
