package main

import (
	"fmt"
	"io"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("sample", "draw samples of a model into an image grid", runSample)
}

func runSample(args []string, stdout io.Writer) error {
	fs := newFlagSet("sample", stdout)
	model := fs.String("model", "", "model file (required)")
	n := fs.Int("n", 64, "number of samples")
	seed := fs.Uint64("seed", 42, "random seed")
	out := fs.String("o", "samples.png", "output PNG grid (or .csv: one sample per row)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *model == "" {
		return badInput("missing -model FILE")
	}
	if err := experiments.Sample(experiments.SampleConfig{Model: *model, N: *n, Seed: *seed, Out: *out}); err != nil {
		return inputErr(err)
	}
	fmt.Fprintf(stdout, "wrote %d samples to %s\n", *n, *out)
	return nil
}
