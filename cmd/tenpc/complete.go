package main

import (
	"fmt"
	"io"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("complete", "complete masked images by conditional sampling and MAP", runComplete)
}

func runComplete(args []string, stdout io.Writer) error {
	fs := newFlagSet("complete", stdout)
	model := fs.String("model", "", "model file (required)")
	dataset := fs.String("dataset", "", "dataset the images come from (default: the model's)")
	split := fs.String("split", "test", "split the images come from: test, valid or train")
	mask := fs.String("mask", "left", "missing part: left, right, top, bottom or random:P")
	n := fs.Int("n", 16, "number of images (the first of the split)")
	seed := fs.Uint64("seed", 42, "random seed (sampling and random masks)")
	out := fs.String("o", "completions.png", "output PNG: rows original, masked, conditional sample, MAP")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *model == "" {
		return badInput("missing -model FILE")
	}
	cfg := experiments.CompleteConfig{Model: *model, Dataset: *dataset, Split: *split, Mask: *mask, N: *n, Seed: *seed, Out: *out}
	if err := experiments.Complete(cfg); err != nil {
		return inputErr(err)
	}
	fmt.Fprintf(stdout, "wrote %s (rows: original, masked, conditional sample, MAP)\n", *out)
	return nil
}
