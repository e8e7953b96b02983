package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("bench", "time training / evaluation steps on MNIST-shaped data (ms/step, RSS, allocations)", runBench)
}

const benchUsage = `usage: tenpc bench [flags]

Times steps of a circuit over a 1×28×28 image with categorical(256) inputs on
synthetic pixels (8 fixed seeded batches, cycled): "train" is forward,
backward and an Adam step (lr 0.01) with the clamp projection; "eval" is the
forward pass (log-likelihood) only. Reports ms/step (median, min, max over
-steps after -warmup untimed steps), samples/s, peak RSS, bytes allocated per
step and the BLAS in use. -rg, -layer, -k, -batch-size and -mode take
comma-separated lists; every combination runs, each in its own process so
that peak RSS is its own.

flags:
`

func runBench(args []string, stdout io.Writer) error {
	fs := newFlagSet("bench", stdout)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchUsage); fs.PrintDefaults() }
	rgs := fs.String("rg", "qg", "region graphs, built over the image with seed 42: "+experiments.RGNames+" except cl (see 'tenpc rg -h'); pd:7 is Einsum Networks' MNIST demo")
	layers := fs.String("layer", "cp", "sum-product layers: "+experiments.LayerNames())
	engines := fs.String("engine", "fused", "engines: fused, graph (the reference composed of nn ops); with graph, fused runs too and every graph row gets its ratio to the fused one")
	ks := fs.String("k", "32", "units per region (K)")
	bs := fs.String("batch-size", "256", "batch sizes")
	modes := fs.String("mode", "train", "modes: train, eval")
	steps := fs.Int("steps", experiments.DefaultBenchSteps, "timed steps per configuration")
	warmup := fs.Int("warmup", experiments.DefaultBenchWarmup, "untimed steps before timing")
	asJSON := fs.Bool("json", false, "print one JSON object per configuration and line")
	preset := fs.String("preset", "", "run a configuration list instead: "+strings.Join(experiments.BenchPresetNames, " or ")+" (the peer matrix; K×B for QG-CP, K for QT2-Tucker)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file (with one configuration)")
	compare := fs.String("compare", "", "instead of running: print tenpc's results (a -json file) next to the peer harness's (-peers FILE)")
	peersFile := fs.String("peers", "", "the peer harness's results (JSON lines from bench/bench-peers.sh), with -compare")
	quietWait := fs.Duration("quiet-wait", 0, "before each configuration, wait up to this long until other processes use less than -quiet-cores (as the peer harness does; 0: do not wait)")
	quietCores := fs.Float64("quiet-cores", 0.2, "CPU cores other processes may use for the machine to count as quiet")
	inProc := fs.Bool("in-process", false, "run the configurations in this process (peak RSS is then the process's maximum so far)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if (*compare == "") != (*peersFile == "") {
		return badInput("-compare and -peers go together")
	}
	if *compare != "" {
		ours, err := experiments.ReadBenchResults(*compare)
		if err != nil {
			return inputErr(err)
		}
		peers, err := experiments.ReadPeerResults(*peersFile)
		if err != nil {
			return inputErr(err)
		}
		return experiments.WriteBenchComparison(stdout, ours, peers)
	}
	if *steps < 1 {
		return badInput("-steps %d: want at least 1", *steps)
	}
	if *warmup < 0 {
		return badInput("-warmup %d: want at least 0", *warmup)
	}
	var cfgs []experiments.BenchConfig
	var err error
	if *preset != "" {
		cfgs, err = experiments.BenchPreset(*preset, *steps, *warmup)
		if err != nil {
			return badInput("-preset: %v", err)
		}
	} else if cfgs, err = benchGrid(*rgs, *layers, *ks, *bs, *modes, *steps, *warmup); err != nil {
		return err
	}
	var engs []experiments.Engine
	for _, s := range splitList(*engines) {
		e, err := experiments.ParseEngine(s)
		if err != nil {
			return badInput("-engine: %v", err)
		}
		if !slices.Contains(engs, e) {
			engs = append(engs, e)
		}
	}
	// The table puts the fused engine next to the graph one; JSON lines
	// (a child's among them) are exactly the engines asked for.
	graph := slices.Contains(engs, experiments.GraphEngine) && !*asJSON
	if graph && !slices.Contains(engs, experiments.FusedEngine) {
		engs = append([]experiments.Engine{experiments.FusedEngine}, engs...)
	}
	cfgs = experiments.BenchEngines(cfgs, engs)
	suite := experiments.BenchSuite{Configs: cfgs, QuietWait: *quietWait, QuietCores: *quietCores, CPUProfile: *cpuProfile}
	if len(cfgs) > 1 && !*inProc {
		if *cpuProfile != "" {
			return badInput("-cpuprofile needs a single configuration (or -in-process)")
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		suite.Child = func(c experiments.BenchConfig) []string { return append([]string{exe}, benchArgs(c)...) }
	}
	if err := suite.Validate(); err != nil {
		return inputErr(err)
	}
	if !*asJSON {
		p := experiments.CurrentPlatform()
		fmt.Fprintf(stdout, "# tenpc bench: BLAS %s; kernels %s; GOMAXPROCS %d; %d CPUs; %s\n", p.BLAS, p.Kernels, p.GOMAXPROCS, p.NumCPU, p.Go)
		if graph {
			fmt.Fprintln(stdout, "| rg | layer | K | B | mode | engine | ms/step median | min | max | samples/s | peak RSS MB | alloc B/step | allocs/step | others cores | × fused |")
			fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		} else {
			fmt.Fprintln(stdout, "| rg | layer | K | B | mode | ms/step median | min | max | samples/s | peak RSS MB | alloc B/step | allocs/step | others cores |")
			fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		}
	}
	// The fused engine's median of each configuration, for the graph rows'
	// ratio (the fused row of a configuration runs first).
	fusedMs := map[string]float64{}
	ctx, stop := interruptible()
	defer stop()
	return inputErr(suite.Run(ctx, func(res experiments.BenchResult) error {
		if *asJSON {
			line, err := json.Marshal(res)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s\n", line)
			return err
		}
		config := fmt.Sprintf("| %s | %s | %d | %d | %s |", res.RG, res.Layer, res.K, res.BatchSize, res.Mode)
		engine := res.Engine
		if engine == "" {
			engine = "fused"
		}
		if graph {
			config += " " + engine + " |"
		}
		if res.Error != "" {
			_, err := fmt.Fprintf(stdout, "%s error: %s |\n", config, res.Error)
			return err
		}
		key := fmt.Sprintf("%s %s %d %d %s", res.RG, res.Layer, res.K, res.BatchSize, res.Mode)
		ratio := ""
		switch {
		case !graph:
		case engine == "fused":
			fusedMs[key], ratio = res.MsMedian, " 1.0× |"
		case fusedMs[key] > 0:
			ratio = fmt.Sprintf(" %.1f× |", res.MsMedian/fusedMs[key])
		default:
			ratio = " |"
		}
		_, err := fmt.Fprintf(stdout, "%s %.2f | %.2f | %.2f | %.1f | %.1f | %.0f | %.1f | %.2f |%s\n",
			config, res.MsMedian, res.MsMin, res.MsMax,
			res.SamplesPerS, res.PeakRSSMB, res.AllocBytes, res.AllocsPerStep, res.OthersCores, ratio)
		return err
	}))
}

// benchGrid parses the list flags into every combination.
func benchGrid(rgs, layers, ks, bs, modes string, steps, warmup int) ([]experiments.BenchConfig, error) {
	g := experiments.BenchGrid{Steps: steps, Warmup: warmup}
	var err error
	if g.Units, err = parseInts("k", ks); err != nil {
		return nil, err
	}
	if g.BatchSizes, err = parseInts("batch-size", bs); err != nil {
		return nil, err
	}
	for _, s := range splitList(rgs) {
		r, err := experiments.ParseRGSpec(s)
		if err != nil {
			return nil, badInput("-rg: %v", err)
		}
		g.RGs = append(g.RGs, r)
	}
	for _, s := range splitList(layers) {
		l, err := experiments.ParseLayer(s)
		if err != nil {
			return nil, badInput("-layer: %v", err)
		}
		g.Layers = append(g.Layers, l)
	}
	for _, s := range splitList(modes) {
		m, err := experiments.ParseBenchMode(s)
		if err != nil {
			return nil, badInput("-mode: %v", err)
		}
		g.Modes = append(g.Modes, m)
	}
	for _, k := range g.Units {
		if k < 1 {
			return nil, badInput("-k %d: want at least 1", k)
		}
	}
	for _, b := range g.BatchSizes {
		if b < 1 {
			return nil, badInput("-batch-size %d: want at least 1", b)
		}
	}
	if len(g.RGs) == 0 || len(g.Layers) == 0 || len(g.Modes) == 0 {
		return nil, badInput("-rg, -layer and -mode need at least one value each")
	}
	cfgs, err := g.Configs()
	return cfgs, inputErr(err)
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// benchArgs is the command line (after the program) that times c in a
// child process and prints its JSON line.
func benchArgs(c experiments.BenchConfig) []string {
	return []string{"bench", "-json", "-in-process",
		"-rg", c.RG.String(), "-layer", c.Layer.String(), "-k", strconv.Itoa(c.Units), "-batch-size", strconv.Itoa(c.BatchSize),
		"-mode", c.Mode.String(), "-engine", c.Engine.String(), "-steps", strconv.Itoa(c.Steps), "-warmup", strconv.Itoa(c.Warmup)}
}
