package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("recipe", "list or run the experiments' recipes", runRecipe)
}

const recipeUsage = `usage:
  tenpc recipe list
  tenpc recipe run NAME [-quick] [-out DIR] [-force] [-data-dir DIR]
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
	ctx, stop := interruptible()
	defer stop()
	err = r.Run(ctx, experiments.RecipeOptions{Out: *out, Quick: *quick, Force: *force, DataDir: *dataDir, Log: newLogger(), Stdout: stdout})
	if err != nil && !errors.Is(err, context.Canceled) {
		return inputErr(err)
	}
	return err
}
