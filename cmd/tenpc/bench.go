package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
	"github.com/tenpc/tenpc/regiongraph"
)

func init() {
	register("bench", "time training / evaluation steps on MNIST-shaped data (ms/step, RSS, allocations)", runBench)
}

// benchConfig is one configuration of `tenpc bench`.
type benchConfig struct {
	RG     string // qg, qt2, qt4, pd, rbt (built for a 1×28×28 image as cirkit's image_data builds them)
	Layer  circuit.Layer
	K, B   int
	Mode   string // train or eval
	Steps  int    // timed steps
	Warmup int    // untimed steps first
}

// benchResult is one line of `tenpc bench -json`.
type benchResult struct {
	RG            string  `json:"rg"`
	Layer         string  `json:"layer"`
	K             int     `json:"k"`
	BatchSize     int     `json:"batch_size"`
	Mode          string  `json:"mode"`
	Steps         int     `json:"steps"`
	MsMedian      float64 `json:"ms_median"`
	MsMin         float64 `json:"ms_min"`
	MsMax         float64 `json:"ms_max"`
	SamplesPerS   float64 `json:"samples_per_s"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	AllocBytes    float64 `json:"alloc_bytes_per_step"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	Params        int64   `json:"params"`
	BuildS        float64 `json:"build_s"`
	BLAS          string  `json:"blas"`
	Kernels       string  `json:"kernels"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	OthersCores   float64 `json:"others_cores"` // CPU used by other processes during the timed loop
	OwnCores      float64 `json:"own_cores"`
	CPUMsPerStep  float64 `json:"cpu_ms_per_step"` // CPU time of this process per step: less sensitive to contention than wall time
	Error         string  `json:"error,omitempty"`
}

// benchPresets are the configuration lists -preset selects.
var benchPresets = map[string][]benchConfig{
	// The rows of ../shared/peer/matrix.txt that tenpc can run (categorical(256)
	// inputs; cirkit's rows, and EinsumNetworks' comparable categorical ones).
	"peers": {
		{RG: "qg", Layer: circuit.CP, K: 32, B: 100, Mode: "train"},
		{RG: "qg", Layer: circuit.CP, K: 32, B: 100, Mode: "eval"},
		{RG: "qg", Layer: circuit.CP, K: 32, B: 256, Mode: "train"},
		{RG: "qg", Layer: circuit.CP, K: 32, B: 256, Mode: "eval"},
		{RG: "qg", Layer: circuit.CP, K: 10, B: 100, Mode: "train"},
		{RG: "qg", Layer: circuit.CP, K: 10, B: 256, Mode: "train"},
		{RG: "qt4", Layer: circuit.CP, K: 32, B: 100, Mode: "train"},
		{RG: "qt2", Layer: circuit.CP, K: 32, B: 100, Mode: "train"},
		{RG: "rbt", Layer: circuit.CP, K: 32, B: 100, Mode: "train"},
		{RG: "pd", Layer: circuit.CP, K: 32, B: 100, Mode: "train"},
		{RG: "pd", Layer: circuit.CP, K: 10, B: 100, Mode: "train"},
		{RG: "pd", Layer: circuit.CP, K: 32, B: 100, Mode: "eval"},
		{RG: "qt2", Layer: circuit.Tucker, K: 32, B: 100, Mode: "train"},
		// Einsum Networks' PD (delta 7 px) with categorical leaves: its
		// einsum layer is a Tucker layer.
		{RG: "pd7", Layer: circuit.Tucker, K: 10, B: 100, Mode: "train"},
		{RG: "pd7", Layer: circuit.Tucker, K: 32, B: 100, Mode: "train"},
	},
}

func init() {
	var scaling []benchConfig
	for _, k := range []int{8, 16, 32, 64, 128} {
		for _, b := range []int{64, 256, 1024} {
			scaling = append(scaling, benchConfig{RG: "qg", Layer: circuit.CP, K: k, B: b, Mode: "train"})
		}
	}
	for _, k := range []int{8, 16, 32} {
		scaling = append(scaling, benchConfig{RG: "qt2", Layer: circuit.Tucker, K: k, B: 100, Mode: "train"})
	}
	benchPresets["scaling"] = scaling
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
	rgs := fs.String("rg", "qg", "region graphs over a 1×28×28 image: qg, qt2, qt4, pd (delta 4, as cirkit's image_data), pd7 (delta 7, as Einsum Networks' demo), rbt (one random binary tree of full depth)")
	layers := fs.String("layer", "cp", "sum-product layers: cp, cp-r, cp-s, cp-xs, tucker")
	ks := fs.String("k", "32", "units per region (K)")
	bs := fs.String("batch-size", "256", "batch sizes")
	modes := fs.String("mode", "train", "modes: train, eval")
	steps := fs.Int("steps", 20, "timed steps per configuration")
	warmup := fs.Int("warmup", 3, "untimed steps before timing")
	asJSON := fs.Bool("json", false, "print one JSON object per configuration and line")
	preset := fs.String("preset", "", "run a configuration list instead: peers (the peer matrix) or scaling (K×B for QG-CP, K for QT2-Tucker)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file (with one configuration)")
	compare := fs.String("compare", "", "instead of running: print tenpc's results (a -json file) next to the peer harness's (-peers FILE)")
	peersFile := fs.String("peers", "", "the peer harness's results (JSON lines from ../shared/peer/run_peers.sh), with -compare")
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
		return benchCompare(stdout, *compare, *peersFile)
	}
	if *steps < 1 {
		return badInput("-steps %d: want at least 1", *steps)
	}
	if *warmup < 0 {
		return badInput("-warmup %d: want at least 0", *warmup)
	}
	var cfgs []benchConfig
	if *preset != "" {
		p, ok := benchPresets[*preset]
		if !ok {
			return badInput("unknown -preset %q: want peers or scaling", *preset)
		}
		cfgs = slices.Clone(p)
	} else {
		var err error
		if cfgs, err = benchGrid(*rgs, *layers, *ks, *bs, *modes); err != nil {
			return err
		}
	}
	for i := range cfgs {
		cfgs[i].Steps, cfgs[i].Warmup = *steps, *warmup
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "# tenpc bench: BLAS %s; kernels %s; GOMAXPROCS %d; %d CPUs; %s\n", nn.BLAS(), nn.Kernels(), runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version())
		fmt.Fprintln(stdout, "| rg | layer | K | B | mode | ms/step median | min | max | samples/s | peak RSS MB | alloc B/step | allocs/step | others cores |")
		fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	}
	single := len(cfgs) == 1 || *inProc
	if *cpuProfile != "" && !single {
		return badInput("-cpuprofile needs a single configuration")
	}
	benchProfile = *cpuProfile
	for _, c := range cfgs {
		var res benchResult
		var err error
		waitQuiet(*quietWait, *quietCores)
		if single {
			res, err = runBenchConfig(c)
		} else {
			res, err = benchSubprocess(c)
		}
		if err != nil {
			if _, bad := err.(usageError); bad {
				return err
			}
			res = benchResult{RG: c.RG, Layer: c.Layer.String(), K: c.K, BatchSize: c.B, Mode: c.Mode, BLAS: nn.BLAS(), Kernels: nn.Kernels(), Error: err.Error()}
		}
		if *asJSON {
			line, jerr := json.Marshal(res)
			if jerr != nil {
				return jerr
			}
			fmt.Fprintf(stdout, "%s\n", line)
			continue
		}
		if res.Error != "" {
			fmt.Fprintf(stdout, "| %s | %s | %d | %d | %s | error: %s |\n", res.RG, res.Layer, res.K, res.BatchSize, res.Mode, res.Error)
			continue
		}
		fmt.Fprintf(stdout, "| %s | %s | %d | %d | %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.0f | %.1f | %.2f |\n",
			res.RG, res.Layer, res.K, res.BatchSize, res.Mode, res.MsMedian, res.MsMin, res.MsMax,
			res.SamplesPerS, res.PeakRSSMB, res.AllocBytes, res.AllocsPerStep, res.OthersCores)
	}
	return nil
}

// benchGrid parses the list flags into every combination.
func benchGrid(rgs, layers, ks, bs, modes string) ([]benchConfig, error) {
	split := func(s string) []string {
		var out []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	kv, err := parseInts("k", ks)
	if err != nil {
		return nil, err
	}
	bv, err := parseInts("batch-size", bs)
	if err != nil {
		return nil, err
	}
	var lv []circuit.Layer
	for _, s := range split(layers) {
		l, err := circuit.ParseLayer(s)
		if err != nil {
			return nil, badInput("-layer: %v", err)
		}
		lv = append(lv, l)
	}
	rv, mv := split(rgs), split(modes)
	for _, r := range rv {
		if _, err := benchRG(r); err != nil {
			return nil, err
		}
	}
	for _, m := range mv {
		if m != "train" && m != "eval" {
			return nil, badInput("-mode %q: want train or eval", m)
		}
	}
	for _, k := range kv {
		if k < 1 {
			return nil, badInput("-k %d: want at least 1", k)
		}
	}
	for _, b := range bv {
		if b < 1 {
			return nil, badInput("-batch-size %d: want at least 1", b)
		}
	}
	if len(rv) == 0 || len(lv) == 0 || len(mv) == 0 {
		return nil, badInput("-rg, -layer and -mode need at least one value each")
	}
	var cfgs []benchConfig
	for _, r := range rv {
		for _, l := range lv {
			for _, k := range kv {
				for _, b := range bv {
					for _, m := range mv {
						cfgs = append(cfgs, benchConfig{RG: r, Layer: l, K: k, B: b, Mode: m})
					}
				}
			}
		}
	}
	return cfgs, nil
}

// benchRG builds a region graph for a 1×28×28 image as cirkit's
// data_modalities.image_data does: quad graph, quad trees with 2 or 4
// splits, Poon-Domingos with delta ⌈28/8⌉ = 4 (pd7: delta 7, Einsum
// Networks' demo_mnist.py with pd_num_pieces 4), and one random binary tree
// of the largest depth over the 784 pixels (cirkit's seed is 42; tenpc's
// generator differs, so the scopes differ but the shape is the same).
func benchRG(name string) (*regiongraph.Graph, error) {
	s := regiongraph.Shape{C: 1, H: 28, W: 28}
	switch name {
	case "qg":
		return regiongraph.QuadGraph(s)
	case "qt2":
		return regiongraph.QuadTree(s, 2)
	case "qt4":
		return regiongraph.QuadTree(s, 4)
	case "pd":
		return regiongraph.PoonDomingos(s, []float64{4}, -1)
	case "pd7":
		return regiongraph.PoonDomingos(s, []float64{7}, -1)
	case "rbt":
		return regiongraph.RandomBinaryTree(s.NumVars(), -1, 1, 42)
	}
	return nil, badInput("unknown -rg %q: want qg, qt2, qt4, pd, pd7 or rbt", name)
}

// benchSubprocess runs one configuration in a fresh tenpc process and reads
// its JSON line.
func benchSubprocess(c benchConfig) (benchResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return benchResult{}, err
	}
	cmd := exec.Command(exe, "bench", "-json", "-in-process",
		"-rg", c.RG, "-layer", c.Layer.String(), "-k", strconv.Itoa(c.K), "-batch-size", strconv.Itoa(c.B),
		"-mode", c.Mode, "-steps", strconv.Itoa(c.Steps), "-warmup", strconv.Itoa(c.Warmup))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return benchResult{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res benchResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &res); err == nil {
			return res, nil
		}
	}
	return benchResult{}, fmt.Errorf("no result from %s", exe)
}

// benchProfile is the -cpuprofile file ("" for none).
var benchProfile string

// benchBatches returns n seeded batches of b MNIST-shaped pixels.
func benchBatches(n, b, v int) [][]uint8 {
	rng := rand.New(rand.NewPCG(42, 7))
	out := make([][]uint8, n)
	for i := range out {
		out[i] = make([]uint8, b*v)
		for j := range out[i] {
			out[i][j] = uint8(rng.IntN(256))
		}
	}
	return out
}

// runBenchConfig builds and times one configuration in this process.
func runBenchConfig(c benchConfig) (benchResult, error) {
	res := benchResult{RG: c.RG, Layer: c.Layer.String(), K: c.K, BatchSize: c.B, Mode: c.Mode,
		Steps: c.Steps, BLAS: nn.BLAS(), Kernels: nn.Kernels(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	t0 := time.Now()
	rg, err := benchRG(c.RG)
	if err != nil {
		return res, err
	}
	pc, err := circuit.Build(rg, circuit.Options{Layer: c.Layer, Units: c.K, Seed: 1})
	if err != nil {
		return res, err
	}
	prog, err := pc.Compile(c.B, c.Mode == "train")
	if err != nil {
		return res, err
	}
	for _, p := range pc.Params() {
		res.Params += int64(p.Len())
	}
	res.BuildS = time.Since(t0).Seconds()
	v := pc.Plan().NumVars
	batches := benchBatches(8, c.B, v)
	var step func(i int) error
	if c.Mode == "train" {
		opt := optim.NewAdam(pc.Params(), optim.AdamConfig{LR: 0.01})
		step = func(i int) error {
			if _, err := prog.Step(batches[i%len(batches)]); err != nil {
				return err
			}
			opt.Step()
			return nil
		}
	} else {
		dst := make([]float64, c.B*pc.Plan().Classes)
		step = func(i int) error { return prog.LogLikelihood(batches[i%len(batches)], nil, dst) }
	}
	for i := range c.Warmup {
		if err := step(i); err != nil {
			return res, err
		}
	}
	ms := make([]float64, c.Steps)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	if benchProfile != "" {
		f, err := os.Create(benchProfile)
		if err != nil {
			return res, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0, self0 := busyCPU(), selfCPU()
	wall0 := time.Now()
	for i := range c.Steps {
		t := time.Now()
		if err := step(c.Warmup + i); err != nil {
			return res, err
		}
		ms[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	wall := time.Since(wall0).Seconds()
	runtime.ReadMemStats(&m1)
	cpu1, self1 := busyCPU(), selfCPU()
	if wall > 0 && cpu0 >= 0 && cpu1 >= 0 {
		res.OwnCores = (self1 - self0) / wall
		res.CPUMsPerStep = (self1 - self0) * 1e3 / float64(c.Steps)
		res.OthersCores = max(0, (cpu1-cpu0)/wall-res.OwnCores)
	}
	res.AllocBytes = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(c.Steps)
	res.AllocsPerStep = float64(m1.Mallocs-m0.Mallocs) / float64(c.Steps)
	res.MsMedian, res.MsMin, res.MsMax = median(ms), slices.Min(ms), slices.Max(ms)
	res.SamplesPerS = float64(c.B) / (res.MsMedian / 1e3)
	res.PeakRSSMB = peakRSSMB()
	return res, nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// peakRSSMB is the process's maximum resident set size (ru_maxrss, KiB on
// Linux) in MB (10^6 bytes), or 0 where unavailable.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) * 1024 / 1e6
}

// waitQuiet waits, up to maxWait, until the CPU time other processes use
// over a 2 s window is below cores.
func waitQuiet(maxWait time.Duration, cores float64) {
	if maxWait <= 0 {
		return
	}
	deadline := time.Now().Add(maxWait)
	for {
		c0, s0, t0 := busyCPU(), selfCPU(), time.Now()
		time.Sleep(2 * time.Second)
		c1, s1 := busyCPU(), selfCPU()
		if c0 < 0 || c1 < 0 {
			return
		}
		if others := ((c1 - c0) - (s1 - s0)) / time.Since(t0).Seconds(); others < cores || time.Now().After(deadline) {
			return
		}
	}
}

// selfCPU is this process's user+system CPU time in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// busyCPU is the machine's busy CPU time in seconds from /proc/stat (user,
// nice, system, irq, softirq as the peer harness counts them), or -1.
func busyCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	total := 0.0
	for _, i := range []int{1, 2, 3, 6, 7} {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return -1
		}
		total += v
	}
	return total / 100 // USER_HZ is 100 on Linux
}
