package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("rg", "region graphs: build, info, dot", runRG)
}

const rgUsage = `usage:
  tenpc rg build -type NAME (-shape C,H,W | -vars N | -dataset SPEC) [-seed S] [-o g.json]
  tenpc rg info [-plan -layer cp -k 32 [-input-k K -rank R -values C]] g.json
  tenpc rg dot g.json [-o g.dot]

Run 'tenpc rg <subcommand> -h' for its flags. tenpc train -rg, tenpc rg build
-type and tenpc bench -rg take the same names:

` + experiments.RGVocabulary

func runRG(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return badInput("missing subcommand: build, info or dot (run 'tenpc rg -h')")
	}
	switch args[0] {
	case "build":
		return runRGBuild(args[1:], stdout)
	case "info":
		return runRGInfo(args[1:], stdout)
	case "dot":
		return runRGDot(args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, rgUsage)
		return errHelp
	}
	return badInput("unknown subcommand %q: want build, info or dot", args[0])
}

func runRGBuild(args []string, stdout io.Writer) error {
	fs := newFlagSet("rg build", stdout)
	kind := fs.String("type", "", "region graph: "+experiments.RGNames+" (see 'tenpc rg -h')")
	shape := fs.String("shape", "", "build over an image of this shape C,H,W")
	vars := fs.Int("vars", 0, "build over this many variables (graphs that need no image)")
	dataset := fs.String("dataset", "", "build over this dataset's training split as train draws it (mnist, fashion-mnist, debd:DIR/NAME, images:DIR, csv:DESC.json); cl needs it")
	dataDir := fs.String("data-dir", "", "with -dataset: directory of the MNIST / Fashion-MNIST files")
	limit := fs.Int("limit", 0, "with -dataset: use only the first N samples of every split (0: all), as train -limit")
	seed := fs.Uint64("seed", experiments.DefaultTrainConfig().Seed, "seed of rbt's splits and linear's shuffled orders (train's -seed)")
	out := fs.String("o", "", "output JSON file (default: standard output)")
	if _, err := parseRGFlags(fs, args, 0); err != nil {
		return err
	}
	if *kind == "" {
		return badInput("missing -type: want %s", experiments.RGNames)
	}
	spec, err := experiments.ParseRGSpec(*kind)
	if err != nil {
		return inputErr(err)
	}
	cfg := experiments.RGBuildConfig{RG: spec, Vars: *vars, Dataset: *dataset, DataDir: *dataDir, Limit: *limit, Seed: *seed}
	if *shape != "" {
		if cfg.Shape, err = parseInts("shape", *shape); err != nil {
			return err
		}
		if len(cfg.Shape) != 3 {
			return badInput("-shape %q: want C,H,W (3 values), got %d", *shape, len(cfg.Shape))
		}
	}
	g, err := experiments.BuildRG(cfg)
	if err != nil {
		return inputErr(err)
	}
	if *out == "" || *out == "-" {
		return g.WriteJSON(stdout)
	}
	if err := g.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d regions, %d partitions\n", *out, len(g.Regions), len(g.Partitions))
	return nil
}

func runRGInfo(args []string, stdout io.Writer) error {
	fs := newFlagSet("rg info", stdout)
	plan := fs.Bool("plan", false, "also print the folded circuit plan (one line per layer with folds, arity and parameters) and its module tree")
	layer := fs.String("layer", "cp", "layer type for -plan: "+experiments.LayerNames())
	k := fs.Int("k", 32, "units per inner region for -plan")
	inK := fs.Int("input-k", 0, "units per input region for -plan (default -k)")
	rank := fs.Int("rank", 0, "rank of cp-r layers for -plan (default -k)")
	values := fs.Int("values", 256, "values of each categorical input for -plan")
	pos, err := parseRGFlags(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badInput("rg info needs one region graph file")
	}
	var opts *experiments.PlanOptions
	if *plan {
		opts = &experiments.PlanOptions{Units: *k, InputUnits: *inK, Rank: *rank, Values: *values}
		if opts.Layer, err = experiments.ParseLayer(*layer); err != nil {
			return badInput("-layer: %v", err)
		}
	}
	return inputErr(experiments.WriteRGInfo(stdout, pos[0], opts))
}

func runRGDot(args []string, stdout io.Writer) error {
	fs := newFlagSet("rg dot", stdout)
	out := fs.String("o", "", "output DOT file (default: standard output)")
	pos, err := parseRGFlags(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badInput("rg dot needs one region graph file")
	}
	g, err := experiments.LoadRG(pos[0])
	if err != nil {
		return inputErr(err)
	}
	if *out == "" || *out == "-" {
		return g.WriteDOT(stdout)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := g.WriteDOT(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parseRGFlags parses flags that may come before or after the positional
// arguments (`tenpc rg dot g.json -o g.dot`) and returns the positional
// ones, at most maxArgs of them.
func parseRGFlags(fs *flag.FlagSet, args []string, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args, -1); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) > maxArgs {
		return nil, badInput("unexpected argument %q", pos[maxArgs])
	}
	return pos, nil
}
