package experiments

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/optim"
	"github.com/tenpc/tenpc/regiongraph"
)

// BenchMode is what one timed step of Bench does.
type BenchMode int

const (
	// BenchTrain is forward, backward and an Adam step (lr 0.01) with the
	// clamp projection.
	BenchTrain BenchMode = iota
	// BenchEval is the forward pass (log-likelihood) only.
	BenchEval
)

var benchModes = enum[BenchMode]{"mode", []string{"train", "eval"}}

func (m BenchMode) String() string { return benchModes.name(m) }

// ParseBenchMode parses "train" or "eval".
func ParseBenchMode(s string) (BenchMode, error) { return benchModes.parse(s) }

// Bench's defaults: the steps and warm-up steps of `tenpc bench`, and the
// seed of its region graphs (cirkit's data_modalities.image_data seeds its
// random binary tree with 42; tenpc's generator differs, so the scopes
// differ but the shape is the same).
const (
	DefaultBenchSteps  = 20
	DefaultBenchWarmup = 3
	benchRGSeed        = 42
	benchLR            = 0.01 // Adam's learning rate in train mode
)

// benchShape is the image every bench circuit is built for: MNIST's
// 1×28×28 pixels with categorical(256) inputs, as the peer harness uses.
var benchShape = []int{1, 28, 28}

// BenchConfig is one configuration Bench times.
type BenchConfig struct {
	// RG is built over a 1×28×28 image (seed 42); cl, which learns from
	// data, is not available.
	RG    RGSpec
	Layer circuit.Layer
	// Engine computes the layers (default circuit.Fused).
	Engine circuit.Engine
	// Units is K, the units per region.
	Units     int
	BatchSize int
	Mode      BenchMode
	// Steps are timed (≥ 1) after Warmup untimed ones (≥ 0).
	Steps, Warmup int
}

// Validate reports the first bad setting as an *InputError.
func (c BenchConfig) Validate() error {
	switch {
	case !knownLayer(c.Layer):
		_, err := circuit.ParseLayer(string(c.Layer))
		return &InputError{err}
	case c.Engine != circuit.Fused && c.Engine != circuit.Graph:
		return inputErrorf("unknown engine %v", c.Engine)
	case c.Mode != BenchTrain && c.Mode != BenchEval:
		return inputErrorf("unknown mode %v", c.Mode)
	case c.Units < 1:
		return inputErrorf("K %d: want at least 1", c.Units)
	case c.BatchSize < 1:
		return inputErrorf("batch size %d: want at least 1", c.BatchSize)
	case c.Steps < 1:
		return inputErrorf("steps %d: want at least 1", c.Steps)
	case c.Warmup < 0:
		return inputErrorf("warm-up steps %d: want at least 0", c.Warmup)
	}
	return nil
}

// BenchResult is what Bench measured, one JSON line of `tenpc bench -json`.
type BenchResult struct {
	RG            string  `json:"rg"`
	Layer         string  `json:"layer"`
	Engine        string  `json:"engine,omitempty"` // "" or "fused": the fused engine
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
	// OthersCores is the CPU other processes used during the timed steps,
	// in cores; OwnCores this process's.
	OthersCores float64 `json:"others_cores"`
	OwnCores    float64 `json:"own_cores"`
	// CPUMsPerStep is this process's CPU time per step: less sensitive to
	// contention than wall time.
	CPUMsPerStep float64 `json:"cpu_ms_per_step"`
	Error        string  `json:"error,omitempty"`
}

// newBenchResult is the configuration part of c's result.
func newBenchResult(c BenchConfig) BenchResult {
	p := CurrentPlatform()
	r := BenchResult{RG: c.RG.String(), Layer: orCP(c.Layer).String(), K: c.Units, BatchSize: c.BatchSize, Mode: c.Mode.String(),
		Steps: c.Steps, BLAS: p.BLAS, Kernels: p.Kernels, GOMAXPROCS: p.GOMAXPROCS}
	if c.Engine != circuit.Fused {
		r.Engine = c.Engine.String()
	}
	return r
}

// benchRG builds rg over the bench image.
func benchRG(rg RGSpec) (*regiongraph.Graph, error) {
	return rg.Build(&data.Dataset{Name: "the bench image 1x28x28", Shape: benchShape, D: 28 * 28}, benchRGSeed)
}

// benchBatches returns n seeded batches of b pixels of v variables.
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

// Bench builds the circuit of cfg over a 1×28×28 image with categorical(256)
// inputs and times its steps on synthetic pixels (8 fixed seeded batches,
// cycled), in this process. With profile set, it receives a CPU profile
// of the timed steps. Bad settings are *InputErrors; cancelling ctx stops
// between steps.
func Bench(ctx context.Context, cfg BenchConfig, profile io.Writer) (BenchResult, error) {
	res := newBenchResult(cfg)
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	t0 := time.Now()
	rg, err := benchRG(cfg.RG)
	if err != nil {
		return res, err
	}
	pc, err := circuit.Build(rg, circuit.Options{Layer: cfg.Layer, Engine: cfg.Engine, Units: cfg.Units, Seed: 1})
	if err != nil {
		return res, fmt.Errorf("build circuit: %w", err)
	}
	prog, err := pc.Compile(cfg.BatchSize, cfg.Mode == BenchTrain)
	if err != nil {
		return res, fmt.Errorf("compile circuit: %w", err)
	}
	for _, p := range pc.Params() {
		res.Params += int64(p.Len())
	}
	res.BuildS = time.Since(t0).Seconds()
	batches := benchBatches(8, cfg.BatchSize, pc.Plan().NumVars)
	var step func(i int) error
	if cfg.Mode == BenchTrain {
		opt := optim.NewAdam(pc.Params(), optim.AdamConfig{LR: benchLR})
		step = func(i int) error {
			if _, err := prog.Step(batches[i%len(batches)]); err != nil {
				return err
			}
			opt.Step()
			return nil
		}
	} else {
		dst := make([]float64, cfg.BatchSize*pc.Plan().Classes)
		step = func(i int) error { return prog.LogLikelihood(batches[i%len(batches)], nil, dst) }
	}
	for i := range cfg.Warmup {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := step(i); err != nil {
			return res, err
		}
	}
	ms := make([]float64, cfg.Steps)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return res, err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0, self0 := busyCPU(), selfCPU()
	wall0 := time.Now()
	for i := range cfg.Steps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t := time.Now()
		if err := step(cfg.Warmup + i); err != nil {
			return res, err
		}
		ms[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	wall := time.Since(wall0).Seconds()
	runtime.ReadMemStats(&m1)
	cpu1, self1 := busyCPU(), selfCPU()
	if wall > 0 && cpu0 >= 0 && cpu1 >= 0 {
		res.OwnCores = (self1 - self0) / wall
		res.CPUMsPerStep = (self1 - self0) * 1e3 / float64(cfg.Steps)
		res.OthersCores = max(0, (cpu1-cpu0)/wall-res.OwnCores)
	}
	res.AllocBytes = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(cfg.Steps)
	res.AllocsPerStep = float64(m1.Mallocs-m0.Mallocs) / float64(cfg.Steps)
	res.MsMedian, res.MsMin, res.MsMax = median(ms), slices.Min(ms), slices.Max(ms)
	res.SamplesPerS = float64(cfg.BatchSize) / (res.MsMedian / 1e3)
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

// BenchGrid lists values of each setting; Configs times every combination.
type BenchGrid struct {
	RGs        []RGSpec
	Layers     []circuit.Layer
	Units      []int
	BatchSizes []int
	Modes      []BenchMode
	// Steps are timed after Warmup untimed ones in every configuration.
	Steps, Warmup int
}

// Configs returns every combination of g's values, ordered by region
// graph, layer, K, batch size and mode. Bad values are *InputErrors.
func (g BenchGrid) Configs() ([]BenchConfig, error) {
	if len(g.RGs) == 0 || len(g.Layers) == 0 || len(g.Units) == 0 || len(g.BatchSizes) == 0 || len(g.Modes) == 0 {
		return nil, inputErrorf("the region graphs, layers, K, batch sizes and modes need at least one value each")
	}
	var cfgs []BenchConfig
	for _, r := range g.RGs {
		for _, l := range g.Layers {
			for _, k := range g.Units {
				for _, b := range g.BatchSizes {
					for _, m := range g.Modes {
						c := BenchConfig{RG: r, Layer: l, Units: k, BatchSize: b, Mode: m, Steps: g.Steps, Warmup: g.Warmup}
						if err := c.Validate(); err != nil {
							return nil, err
						}
						cfgs = append(cfgs, c)
					}
				}
			}
		}
	}
	return cfgs, nil
}

// BenchEngines returns every configuration of cfgs on every engine of
// engines, in that order (none: cfgs as they are).
func BenchEngines(cfgs []BenchConfig, engines []circuit.Engine) []BenchConfig {
	if len(engines) == 0 {
		return cfgs
	}
	out := make([]BenchConfig, 0, len(cfgs)*len(engines))
	for _, c := range cfgs {
		for _, e := range engines {
			c.Engine = e
			out = append(out, c)
		}
	}
	return out
}

// BenchPresetNames are the configuration lists BenchPreset knows: "peers",
// the rows of the peer matrix (bench/peers-matrix.txt) that tenpc can run
// (categorical(256) inputs: cirkit's rows and Einsum Networks' comparable
// ones), and "scaling", K × B for QG-CP and K for QT2-Tucker.
var BenchPresetNames = []string{"peers", "scaling"}

// BenchPreset returns the configurations of a preset (see
// BenchPresetNames), each timing steps after warmup.
func BenchPreset(name string, steps, warmup int) ([]BenchConfig, error) {
	qg, qt2, qt4 := RGSpec{Kind: RGQuadGraph}, RGSpec{Kind: RGQuadTree2}, RGSpec{Kind: RGQuadTree4}
	rbt := RGSpec{Kind: RGRandomBinaryTree, Repetitions: 1}
	pd := RGSpec{Kind: RGPoonDomingos, Delta: [2]float64{pdDelta, pdDelta}}
	// Einsum Networks' PD on MNIST (demo_mnist.py, pd_num_pieces 4: 7-pixel
	// cells) with categorical leaves; its einsum layer is a Tucker layer.
	pd7 := RGSpec{Kind: RGPoonDomingos, Delta: [2]float64{7, 7}}
	type row struct {
		rg    RGSpec
		layer circuit.Layer
		k, b  int
		mode  BenchMode
	}
	var rows []row
	switch name {
	case "peers":
		rows = []row{
			{qg, circuit.CP, 32, 100, BenchTrain}, {qg, circuit.CP, 32, 100, BenchEval},
			{qg, circuit.CP, 32, 256, BenchTrain}, {qg, circuit.CP, 32, 256, BenchEval},
			{qg, circuit.CP, 10, 100, BenchTrain}, {qg, circuit.CP, 10, 256, BenchTrain},
			{qt4, circuit.CP, 32, 100, BenchTrain}, {qt2, circuit.CP, 32, 100, BenchTrain},
			{rbt, circuit.CP, 32, 100, BenchTrain},
			{pd, circuit.CP, 32, 100, BenchTrain}, {pd, circuit.CP, 10, 100, BenchTrain}, {pd, circuit.CP, 32, 100, BenchEval},
			{qt2, circuit.Tucker, 32, 100, BenchTrain},
			{pd7, circuit.Tucker, 10, 100, BenchTrain}, {pd7, circuit.Tucker, 32, 100, BenchTrain},
		}
	case "scaling":
		for _, k := range []int{8, 16, 32, 64, 128} {
			for _, b := range []int{64, 256, 1024} {
				rows = append(rows, row{qg, circuit.CP, k, b, BenchTrain})
			}
		}
		for _, k := range []int{8, 16, 32} {
			rows = append(rows, row{qt2, circuit.Tucker, k, 100, BenchTrain})
		}
	default:
		return nil, inputErrorf("unknown preset %q (want %s)", name, strings.Join(BenchPresetNames, " or "))
	}
	cfgs := make([]BenchConfig, len(rows))
	for i, r := range rows {
		cfgs[i] = BenchConfig{RG: r.rg, Layer: r.layer, Units: r.k, BatchSize: r.b, Mode: r.mode, Steps: steps, Warmup: warmup}
		if err := cfgs[i].Validate(); err != nil {
			return nil, err
		}
	}
	return cfgs, nil
}

// BenchSuite times a list of configurations one after the other.
type BenchSuite struct {
	Configs []BenchConfig
	// Child, when set, runs each configuration in a process of its own, so
	// that its peak RSS is its own: Child(c) is the command line (program
	// first) of a process that times c and prints its BenchResult as a JSON
	// line, as `tenpc bench -json -in-process` does. Nil: in this process
	// (peak RSS is then the process's largest so far).
	Child func(BenchConfig) []string
	// QuietWait, when positive, is how long to wait before each
	// configuration for the machine to go quiet: other processes using less
	// than QuietCores cores over 2 s, as the peer harness waits.
	QuietWait  time.Duration
	QuietCores float64
	// CPUProfile, when set, is the file that receives a CPU profile of the
	// timed steps; it needs a single configuration, run in this process.
	CPUProfile string
}

// Validate checks every configuration, its region graph included, and
// the suite's settings; a failure is an *InputError.
func (s BenchSuite) Validate() error {
	if len(s.Configs) == 0 {
		return inputErrorf("no configurations to time")
	}
	if s.CPUProfile != "" && (len(s.Configs) != 1 || s.Child != nil) {
		return inputErrorf("a CPU profile needs a single configuration run in this process")
	}
	built := map[RGSpec]bool{}
	for _, c := range s.Configs {
		if err := c.Validate(); err != nil {
			return err
		}
		if !built[c.RG] {
			if _, err := benchRG(c.RG); err != nil {
				return err
			}
			built[c.RG] = true
		}
	}
	return nil
}

// Run validates the suite, then times the configurations in order and
// hands each result to emit. A configuration that fails while it runs gets
// a result with Error set and the suite goes on; bad input (an
// *InputError) fails before anything runs, and a cancelled ctx stops the
// suite.
func (s BenchSuite) Run(ctx context.Context, emit func(BenchResult) error) error {
	if err := s.Validate(); err != nil {
		return err
	}
	for _, c := range s.Configs {
		waitQuiet(ctx, s.QuietWait, s.QuietCores)
		var (
			res BenchResult
			err error
		)
		switch {
		case s.Child != nil:
			res, err = benchChild(ctx, s.Child(c))
		case s.CPUProfile != "":
			res, err = benchProfiled(ctx, c, s.CPUProfile)
		default:
			res, err = Bench(ctx, c, nil)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if IsInputError(err) {
				return err
			}
			res = newBenchResult(c)
			res.Error = err.Error()
		}
		if err := emit(res); err != nil {
			return err
		}
	}
	return nil
}

// benchProfiled runs Bench with a CPU profile written to path.
func benchProfiled(ctx context.Context, c BenchConfig, path string) (res BenchResult, err error) {
	f, err := os.Create(path)
	if err != nil {
		return BenchResult{}, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write CPU profile: %w", cerr)
		}
	}()
	return Bench(ctx, c, f)
}

// benchChild runs argv and reads the BenchResult it prints.
func benchChild(ctx context.Context, argv []string) (BenchResult, error) {
	if len(argv) == 0 {
		return BenchResult{}, errors.New("bench: empty child command line")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return BenchResult{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		var res BenchResult
		if err := json.Unmarshal(sc.Bytes(), &res); err == nil {
			return res, nil
		}
	}
	return BenchResult{}, fmt.Errorf("no result from %s", argv[0])
}
