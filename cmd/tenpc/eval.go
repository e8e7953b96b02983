package main

import (
	"fmt"
	"io"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("eval", "mean log-likelihood and bpd of a model on a dataset split", runEval)
}

func runEval(args []string, stdout io.Writer) error {
	fs := newFlagSet("eval", stdout)
	model := fs.String("model", "", "model file (required)")
	dataset := fs.String("dataset", "", "dataset (default: the model's training dataset)")
	split := fs.String("split", "test", "split: test, valid or train")
	limit := fs.Int("limit", 0, "use only the first N samples of the split's dataset (as train -limit)")
	perSample := fs.String("per-sample", "", "write one row per sample, index,loglik (natural log), to this CSV file")
	maxMem := fs.String("max-memory", "", "refuse a model whose parameters and activations would need more memory than this, e.g. 512M or 2G (default: the memory available)")
	engine := fs.String("engine", "fused", "how the program computes the layers: fused or graph (the reference composed of nn ops)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *model == "" {
		return badInput("missing -model FILE")
	}
	limitMem, err := parseMaxMemory(*maxMem)
	if err != nil {
		return err
	}
	eng, err := experiments.ParseEngine(*engine)
	if err != nil {
		return badInput("-engine: %v", err)
	}
	res, err := experiments.Evaluate(experiments.EvalConfig{Model: *model, Dataset: *dataset, Split: *split, Limit: *limit, PerSample: *perSample, MaxMemory: limitMem, Engine: eng})
	if err != nil {
		return inputErr(err)
	}
	fmt.Fprintf(stdout, "%s: %d samples, mean LL %.6f nats, %.4f bpd\n", res.Split, res.N, res.LL, res.BPD)
	if res.Accuracy != nil {
		fmt.Fprintf(stdout, "%s: accuracy %.4f, cross-entropy %.4f nats\n", res.Split, *res.Accuracy, *res.CrossEntropy)
	}
	if *perSample != "" {
		fmt.Fprintf(stdout, "per-sample log-likelihoods: %s\n", *perSample)
	}
	return nil
}
