package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/tenpc/tenpc/circuit"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/regiongraph"
)

func init() {
	register("rg", "region graphs: build, info, dot", runRG)
}

const rgUsage = `usage:
  tenpc rg build -type qg|qt2|qt4|pd|rbt|linear|ff [flags] [-o g.json]
  tenpc rg info [-plan -layer cp -k 32 [-input-k K -rank R -values C]] g.json
  tenpc rg dot g.json [-o g.dot]

Run 'tenpc rg <subcommand> -h' for its flags.
`

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

// rgBuildConfig holds the flags of `tenpc rg build`.
type rgBuildConfig struct {
	kind        string
	shape       regiongraph.Shape
	hasShape    bool
	delta       []float64
	depth       int
	repetitions int
	seed        uint64
	vars        int
	randomize   bool
}

func runRGBuild(args []string, stdout io.Writer) error {
	fs := newFlagSet("rg build", stdout)
	kind := fs.String("type", "", "region graph: qg (quad graph), qt2 / qt4 (quad tree with 2 / 4 splits), pd (Poon-Domingos), rbt (random binary trees), linear, ff (fully factorized)")
	shape := fs.String("shape", "", "image shape C,H,W (image types; for rbt, linear and ff the variable count is C*H*W unless -vars is given)")
	delta := fs.String("delta", "", "pd: patch size, one value or rows,columns (each ≥ 1)")
	depth := fs.Int("depth", -1, "pd: largest depth that is still cut (-1: no limit); rbt: tree depth (-1: ⌈log2 vars⌉)")
	reps := fs.Int("repetitions", 1, "rbt, linear, ff: number of repetitions under the root")
	seed := fs.Uint64("seed", 42, "rbt, linear -randomize: random seed")
	vars := fs.Int("vars", 0, "rbt, linear, ff: number of variables (0: from -shape)")
	randomize := fs.Bool("randomize", false, "linear: shuffle the variable order of every repetition")
	out := fs.String("o", "", "output JSON file (default: standard output)")
	if _, err := parseRGFlags(fs, args, 0); err != nil {
		return err
	}
	cfg := rgBuildConfig{kind: *kind, depth: *depth, repetitions: *reps, seed: *seed, vars: *vars, randomize: *randomize}
	if *shape != "" {
		dims, err := parseInts("shape", *shape)
		if err != nil {
			return err
		}
		if len(dims) != 3 {
			return badInput("-shape %q: want C,H,W (3 values), got %d", *shape, len(dims))
		}
		cfg.shape, cfg.hasShape = regiongraph.Shape{C: dims[0], H: dims[1], W: dims[2]}, true
	}
	if *delta != "" {
		for _, s := range strings.Split(*delta, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return badInput("-delta: %q is not a number", s)
			}
			cfg.delta = append(cfg.delta, v)
		}
	}
	g, err := buildRG(cfg)
	if err != nil {
		return err
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

// buildRG calls the builder cfg names; every failure is bad input.
func buildRG(cfg rgBuildConfig) (*regiongraph.Graph, error) {
	needShape := func() error {
		if !cfg.hasShape {
			return badInput("-type %s needs -shape C,H,W", cfg.kind)
		}
		return nil
	}
	numVars := func() (int, error) {
		switch {
		case cfg.vars < 0:
			return 0, badInput("-vars %d is negative", cfg.vars)
		case cfg.vars > 0:
			return cfg.vars, nil
		case cfg.hasShape:
			if cfg.shape.C <= 0 || cfg.shape.H <= 0 || cfg.shape.W <= 0 {
				return 0, badInput("-shape %v has a dimension that is not positive", cfg.shape)
			}
			return cfg.shape.NumVars(), nil
		}
		return 0, badInput("-type %s needs -vars N or -shape C,H,W", cfg.kind)
	}
	var (
		g   *regiongraph.Graph
		err error
	)
	switch cfg.kind {
	case "qg", "qt2", "qt4":
		if err := needShape(); err != nil {
			return nil, err
		}
		switch cfg.kind {
		case "qg":
			g, err = regiongraph.QuadGraph(cfg.shape)
		case "qt2":
			g, err = regiongraph.QuadTree(cfg.shape, 2)
		default:
			g, err = regiongraph.QuadTree(cfg.shape, 4)
		}
	case "pd":
		if err := needShape(); err != nil {
			return nil, err
		}
		if cfg.delta == nil {
			return nil, badInput("-type pd needs -delta")
		}
		g, err = regiongraph.PoonDomingos(cfg.shape, cfg.delta, cfg.depth)
	case "rbt", "linear", "ff":
		n, nerr := numVars()
		if nerr != nil {
			return nil, nerr
		}
		switch cfg.kind {
		case "rbt":
			g, err = regiongraph.RandomBinaryTree(n, cfg.depth, cfg.repetitions, cfg.seed)
		case "linear":
			g, err = regiongraph.LinearTree(n, cfg.repetitions, cfg.randomize, cfg.seed)
		default:
			g, err = regiongraph.FullyFactorized(n, cfg.repetitions)
		}
	case "":
		return nil, badInput("missing -type: want qg, qt2, qt4, pd, rbt, linear or ff")
	default:
		return nil, badInput("unknown -type %q: want qg, qt2, qt4, pd, rbt, linear or ff", cfg.kind)
	}
	if err != nil {
		return nil, badInput("%v", err)
	}
	return g, nil
}

func runRGInfo(args []string, stdout io.Writer) error {
	fs := newFlagSet("rg info", stdout)
	plan := fs.Bool("plan", false, "also print the folded circuit plan: one line per layer with folds, arity and parameters")
	layer := fs.String("layer", "cp", "layer type for -plan: cp, cp-r, cp-s, cp-xs or tucker")
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
	g, err := loadRG(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, g.Stats())
	if !*plan {
		return nil
	}
	l, err := circuit.ParseLayer(*layer)
	if err != nil {
		return badInput("-layer: %v", err)
	}
	if *k < 1 || *inK < 0 || *rank < 0 || *values < 2 || *values > 256 {
		return badInput("-k must be ≥ 1, -input-k and -rank ≥ 0, -values in 2..256")
	}
	if *inK == 0 {
		*inK = *k
	}
	p, err := circuit.NewPlan(g, *inK, *k, 1)
	if err != nil {
		return badInput("%s: %v", pos[0], err)
	}
	fmt.Fprintln(stdout)
	return p.Write(stdout, &circuit.Options{Layer: l, Units: *k, InputUnits: *inK, Rank: *rank, Values: *values})
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
	g, err := loadRG(pos[0])
	if err != nil {
		return err
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

// loadRG loads a region graph file; a missing or malformed file is bad
// input, other I/O failures are not.
func loadRG(path string) (*regiongraph.Graph, error) {
	g, err := regiongraph.Load(path)
	if err == nil {
		return g, nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return nil, badInput("%v", err)
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
