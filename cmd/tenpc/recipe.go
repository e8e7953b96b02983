package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("recipe", "list or run the experiments' recipes", runRecipe)
}

const recipeUsage = `usage:
  tenpc recipe list
  tenpc recipe run NAME [-quick] [-out DIR] [-force] [-data-dir DIR]
                        [-only PATTERN,...] [-plan] [-budget-scale F]
`

func runRecipe(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return badInput("missing subcommand: list or run (run 'tenpc recipe -h')")
	}
	switch args[0] {
	case "list":
		fs := newFlagSet("recipe list", stdout)
		if err := parseFlags(fs, args[1:], 0); err != nil {
			return err
		}
		for _, r := range experiments.Recipes {
			fmt.Fprintf(stdout, "%-14s %s\n", r.Name, r.Description)
		}
		return nil
	case "run":
		return runRecipeRun(args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, recipeUsage)
		return errHelp
	}
	return badInput("unknown subcommand %q: want list or run", args[0])
}

func runRecipeRun(args []string, stdout io.Writer) error {
	fs := newFlagSet("recipe run", stdout)
	quick := fs.Bool("quick", false, "a small, fast version of the recipe (smoke test)")
	out := fs.String("out", "", "output directory (default runs/NAME)")
	force := fs.Bool("force", false, "start over instead of resuming runs found in the output directory")
	dataDir := fs.String("data-dir", "", "dataset directory (default: the recipe's)")
	only := fs.String("only", "", "run only the runs whose names match one of these comma-separated patterns (path.Match: *, ?, [...]), e.g. 'mnist/qg-*'; recipes made of named runs (paper-grid, debd)")
	plan := fs.Bool("plan", false, "list the runs, their time budgets and the total, and train nothing; recipes made of named runs")
	budgetScale := fs.Float64("budget-scale", 1, "multiply every run's time budget by this factor (runs finished with a smaller budget go on); recipes made of named runs")
	pos, err := parseRGFlags(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badInput("recipe run needs a recipe name (see 'tenpc recipe list')")
	}
	r, err := experiments.FindRecipe(pos[0])
	if err != nil {
		return inputErr(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if r.Runs == "" {
		for _, f := range []string{"only", "plan", "budget-scale"} {
			if set[f] {
				return badInput("-%s: recipe %s is not made of named runs", f, r.Name)
			}
		}
	}
	if !(*budgetScale > 0) || math.IsInf(*budgetScale, 0) {
		return badInput("-budget-scale %v: want a positive factor", *budgetScale)
	}
	var patterns []string
	if *only != "" {
		patterns = strings.Split(*only, ",")
	}
	ctx, stop := interruptible()
	defer stop()
	err = r.Run(ctx, experiments.RecipeOptions{Out: *out, Quick: *quick, Force: *force, DataDir: *dataDir,
		Only: patterns, Plan: *plan, BudgetScale: *budgetScale, Log: newLogger(), Stdout: stdout})
	if err != nil && !errors.Is(err, context.Canceled) {
		return inputErr(err)
	}
	return err
}
