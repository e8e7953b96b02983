package experiments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/nn"
)

// The streams of the query generators, so sampling and masking drawn from
// the same seed are independent.
const (
	sampleStream = 0x73616d70 // "samp"
	maskStream   = 0x6d61736b // "mask"
)

// EvalConfig configures Evaluate.
type EvalConfig struct {
	// Model is the model file.
	Model string
	// Dataset overrides the model's training dataset ("" keeps it); the
	// split protocol (validation fraction and seed, data directory) is the
	// training run's.
	Dataset string
	// Split is "test" (default), "valid" or "train".
	Split string
	// Limit keeps the first Limit samples of the split (0: all).
	Limit int
	// Engine computes the layers (default circuit.Fused).
	Engine circuit.Engine
	// PerSample, when set, is a CSV file to write with one row per sample:
	// index,loglik (natural log, normalized).
	PerSample string
	// MaxMemory, when positive, refuses a model whose evaluation program
	// would need more bytes than this, before compiling it (0: the memory
	// the system reports available, as circuit.Options.MaxMemory).
	MaxMemory int64
}

// loadModelData loads m's training dataset (or the dataset named) with the
// training run's split protocol and checks it fits m.
func loadModelData(m *Model, path, dataset string, limit int) (data.Splits, error) {
	tc := DefaultTrainConfig()
	if m.Info.Config != nil {
		tc = *m.Info.Config
	}
	if dataset != "" {
		tc.Dataset = dataset
	}
	if tc.Dataset == "" {
		return data.Splits{}, inputErrorf("model %s does not record its dataset; pass -dataset", path)
	}
	tc.Limit = limit
	sp, err := LoadData(&tc)
	if err != nil {
		return data.Splits{}, err
	}
	o := m.Circuit.Options()
	if sp.Train.D != m.Circuit.Plan().NumVars {
		return data.Splits{}, inputErrorf("model %s is over %d variables; dataset %s has %d", path, m.Circuit.Plan().NumVars, tc.Dataset, sp.Train.D)
	}
	if o.Input != circuit.Gaussian && sp.Train.Values > o.Values {
		return data.Splits{}, inputErrorf("model %s takes %d values per variable; dataset %s has %d", path, o.Values, tc.Dataset, sp.Train.Values)
	}
	return sp, nil
}

// Evaluate computes the mean log-likelihood and bpd of a model on a split,
// with the batch size the model was trained with, so that it reproduces the
// training run's test result exactly.
func Evaluate(cfg EvalConfig) (*SplitResult, error) {
	if cfg.Split == "" {
		cfg.Split = "test"
	}
	if cfg.Limit < 0 {
		return nil, inputErrorf("limit must be ≥ 0, got %d", cfg.Limit)
	}
	if cfg.MaxMemory < 0 {
		return nil, inputErrorf("max memory must be ≥ 0, got %d", cfg.MaxMemory)
	}
	m, err := LoadModel(cfg.Model)
	if err != nil {
		return nil, err
	}
	if m.Info.Table != nil {
		return evaluateTable(cfg, m)
	}
	sp, err := loadModelData(m, cfg.Model, cfg.Dataset, cfg.Limit)
	if err != nil {
		return nil, err
	}
	ds, err := split(sp, cfg.Split)
	if err != nil {
		return nil, err
	}
	if ds.N == 0 {
		return nil, inputErrorf("the %s split of %s is empty", cfg.Split, ds.Name)
	}
	b := m.Info.BatchSize
	if b < 1 {
		b = 256
	}
	if err := checkMemory(m.Circuit, b, false, cfg.MaxMemory, "model "+cfg.Model); err != nil {
		return nil, err
	}
	if err := m.Circuit.SetEngine(cfg.Engine); err != nil {
		return nil, &InputError{err}
	}
	prog, err := m.Circuit.Compile(b, false)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", cfg.Model, err)
	}
	ll := make([]float64, ds.N)
	res, err := evalSplit(prog, ds, cfg.Split, newFeeder(m.Circuit.Options().Input, m.Info.Scale), ll)
	if err != nil {
		return nil, err
	}
	if cfg.PerSample != "" {
		var sb strings.Builder
		sb.WriteString("index,loglik\n")
		for i, v := range ll {
			sb.WriteString(strconv.Itoa(i))
			sb.WriteByte(',')
			sb.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			sb.WriteByte('\n')
		}
		if err := writeFileAtomic(cfg.PerSample, []byte(sb.String())); err != nil {
			return nil, err
		}
	}
	return &res, nil
}

// imageShape returns m's data shape as (C, H, W), or an error when the
// model was not trained on images.
func imageShape(m *Model, path string) (c, h, w int, err error) {
	s := m.Info.Shape
	if len(s) != 3 {
		return 0, 0, 0, inputErrorf("model %s was trained on data of shape %v, not images (C, H, W)", path, s)
	}
	return s[0], s[1], s[2], nil
}

// drawSamples draws n samples of m as category values (Gaussian samples are
// mapped back through the model's scaling, rounded and clipped to
// [0, Values)).
func drawSamples(m *Model, n int, rng *rand.Rand) ([][]uint8, error) {
	v := m.Circuit.Plan().NumVars
	var flat []uint8
	if m.Circuit.Options().Input == circuit.Gaussian {
		f, err := m.Circuit.SampleFloat(n, rng)
		if err != nil {
			return nil, err
		}
		flat = m.toBytes(f)
	} else {
		var err error
		if flat, err = m.Circuit.Sample(n, rng); err != nil {
			return nil, err
		}
	}
	out := make([][]uint8, n)
	for i := range out {
		out[i] = flat[i*v : (i+1)*v]
	}
	return out, nil
}

// toBytes maps a Gaussian model's real values back to category values:
// through the inverse of its scaling, rounded and clipped to [0, Values).
func (m *Model) toBytes(z []float64) []uint8 {
	if m.Info.Scale != nil {
		z = m.Info.Scale.inverse(z)
	}
	return clipToBytes(z, max(m.Info.Values, 2))
}

// toReals maps category values to a Gaussian model's real inputs.
func (m *Model) toReals(x []uint8) []float64 {
	if m.Info.Scale != nil {
		return m.Info.Scale.forward64(x)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func clipToBytes(f []float64, values int) []uint8 {
	out := make([]uint8, len(f))
	for i, x := range f {
		out[i] = uint8(math.Max(0, math.Min(float64(values-1), math.Round(x))))
	}
	return out
}

// writeSampleGrid writes a grid of n samples of m to path (PNG).
func writeSampleGrid(path string, m *Model, n int, seed uint64) error {
	c, h, w, err := imageShape(m, path)
	if err != nil {
		return err
	}
	imgs, err := drawSamples(m, n, rand.New(rand.NewPCG(seed, sampleStream)))
	if err != nil {
		return err
	}
	return writePNG(path, ImageGrid(imgs, nil, c, h, w, m.Info.Values, gridCols(n)))
}

// SampleConfig configures Sample.
type SampleConfig struct {
	Model string
	N     int
	Seed  uint64
	// Out is the PNG grid to write, or a .csv file (one sample per row)
	// for data that are not images.
	Out string
}

// Sample draws cfg.N samples of a model and writes them to cfg.Out.
func Sample(cfg SampleConfig) error {
	if cfg.N < 1 {
		return inputErrorf("number of samples must be ≥ 1, got %d", cfg.N)
	}
	if cfg.Out == "" {
		return inputErrorf("no output file given")
	}
	m, err := LoadModel(cfg.Model)
	if err != nil {
		return err
	}
	if strings.EqualFold(filepath.Ext(cfg.Out), ".csv") {
		imgs, err := drawSamples(m, cfg.N, rand.New(rand.NewPCG(cfg.Seed, sampleStream)))
		if err != nil {
			return err
		}
		var sb strings.Builder
		for _, x := range imgs {
			for j, v := range x {
				if j > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(strconv.Itoa(int(v)))
			}
			sb.WriteByte('\n')
		}
		return writeFileAtomic(cfg.Out, []byte(sb.String()))
	}
	return writeSampleGrid(cfg.Out, m, cfg.N, cfg.Seed)
}

// CompleteConfig configures Complete.
type CompleteConfig struct {
	Model   string
	Dataset string // "" = the model's
	Split   string // default "test"
	// Mask is the missing part: left, right, top, bottom (half the image)
	// or random:P (each pixel missing with probability P).
	Mask string
	N    int
	Seed uint64
	Out  string
}

// Mask returns which variables of a C×H×W image are missing under spec
// (all channels of a pixel together); rng draws random masks.
func Mask(spec string, c, h, w int, rng *rand.Rand) ([]bool, error) {
	miss := make([]bool, c*h*w)
	pixel := func(y, x int) bool {
		switch spec {
		case "left":
			return x < w/2
		case "right":
			return x >= w/2
		case "top":
			return y < h/2
		case "bottom":
			return y >= h/2
		}
		return false
	}
	var p float64
	switch spec {
	case "left", "right", "top", "bottom":
	default:
		s, ok := strings.CutPrefix(spec, "random:")
		var err error
		if p, err = strconv.ParseFloat(s, 64); !ok || err != nil || !(p > 0 && p < 1) {
			return nil, inputErrorf("unknown mask %q (want left, right, top, bottom or random:P with 0 < P < 1)", spec)
		}
		pixel = func(int, int) bool { return rng.Float64() < p }
	}
	for y := range h {
		for x := range w {
			if pixel(y, x) {
				for ch := range c {
					miss[ch*h*w+y*w+x] = true
				}
			}
		}
	}
	return miss, nil
}

// Complete fills the masked part of cfg.N images of the split by
// conditional sampling and by MAP and writes a grid to cfg.Out: one column
// per image; rows original, masked input (missing pixels red), conditional
// sample, MAP completion.
func Complete(cfg CompleteConfig) error {
	if cfg.Split == "" {
		cfg.Split = "test"
	}
	if cfg.N < 1 {
		return inputErrorf("number of images must be ≥ 1, got %d", cfg.N)
	}
	if cfg.Out == "" {
		return inputErrorf("no output file given")
	}
	m, err := LoadModel(cfg.Model)
	if err != nil {
		return err
	}
	c, h, w, err := imageShape(m, cfg.Model)
	if err != nil {
		return err
	}
	// Validate the mask before loading data (the generator is a throwaway).
	if _, err := Mask(cfg.Mask, c, h, w, rand.New(rand.NewPCG(0, 0))); err != nil {
		return err
	}
	sp, err := loadModelData(m, cfg.Model, cfg.Dataset, 0)
	if err != nil {
		return err
	}
	ds, err := split(sp, cfg.Split)
	if err != nil {
		return err
	}
	n := min(cfg.N, ds.N)
	if n == 0 {
		return inputErrorf("the %s split of %s is empty", cfg.Split, ds.Name)
	}
	d := ds.D
	x := append([]uint8(nil), ds.X[:n*d]...)
	observed := make([]bool, n*d)
	masks := make([][]bool, n)
	mrng := rand.New(rand.NewPCG(cfg.Seed, maskStream))
	for i := range n {
		miss, err := Mask(cfg.Mask, c, h, w, mrng)
		if err != nil {
			return err
		}
		masks[i] = miss
		for j, mv := range miss {
			observed[i*d+j] = !mv
		}
	}
	sampled, mapped, err := completeRows(m, x, observed, rand.New(rand.NewPCG(cfg.Seed, sampleStream)))
	if err != nil {
		return err
	}
	imgs := make([][]uint8, 0, 4*n)
	gridMasks := make([][]bool, 0, 4*n)
	rows := [][]uint8{x, x, sampled, mapped}
	for r, src := range rows {
		for i := range n {
			imgs = append(imgs, src[i*d:(i+1)*d])
			if r == 1 {
				gridMasks = append(gridMasks, masks[i])
			} else {
				gridMasks = append(gridMasks, nil)
			}
		}
	}
	return writePNG(cfg.Out, ImageGrid(imgs, gridMasks, c, h, w, m.Info.Values, n))
}

// completeRows fills the unobserved values of the rows x by conditional
// sampling and by MAP, for discrete and (through the model's scaling)
// Gaussian inputs.
func completeRows(m *Model, x []uint8, observed []bool, rng *rand.Rand) (sampled, mapped []uint8, err error) {
	if m.Circuit.Options().Input != circuit.Gaussian {
		if sampled, err = m.Circuit.SampleConditional(x, observed, rng); err != nil {
			return nil, nil, fmt.Errorf("conditional sampling: %w", err)
		}
		if mapped, _, err = m.Circuit.MAP(x, observed); err != nil {
			return nil, nil, fmt.Errorf("MAP: %w", err)
		}
		return sampled, mapped, nil
	}
	z := m.toReals(x)
	zs, err := m.Circuit.SampleConditionalFloat(z, observed, rng)
	if err != nil {
		return nil, nil, fmt.Errorf("conditional sampling: %w", err)
	}
	zm, _, err := m.Circuit.MAPFloat(z, observed)
	if err != nil {
		return nil, nil, fmt.Errorf("MAP: %w", err)
	}
	return m.toBytes(zs), m.toBytes(zm), nil
}

// Info describes a model file: architecture, parameter count, region graph,
// training history and results.
func Info(path string) (string, error) {
	m, err := LoadModel(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "model:        %s (%s, format version %d)\n", path, m.Kind, ModelVersion)
	fmt.Fprintf(&b, "architecture: %s\n", m.Arch.Describe())
	total, trainable := 0, 0
	for _, p := range m.Circuit.Params() {
		total += p.Len()
		if !p.Frozen() {
			trainable += p.Len()
		}
	}
	fmt.Fprintf(&b, "parameters:   %d (%d trainable)\n", total, trainable)
	fmt.Fprintf(&b, "layers:       %d folded inner layers\n", len(m.Circuit.Layers))
	b.WriteString("modules:\n")
	for _, line := range strings.Split(strings.TrimRight(nn.Summary(m.Circuit), "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	if m.Info.Config != nil {
		cf := m.Info.Config
		fmt.Fprintf(&b, "trained on:   %s, region graph %s, %v lr %g, batch %d, seed %d\n", cf.Dataset, cf.RG, cf.Optimizer, cf.LR, cf.BatchSize, cf.Seed)
	} else if m.Info.Dataset != "" {
		fmt.Fprintf(&b, "trained on:   %s\n", m.Info.Dataset)
	}
	fmt.Fprintf(&b, "data:         shape %v, %d values\n", m.Info.Shape, m.Info.Values)
	if sc := m.Info.Scale; sc != nil {
		fmt.Fprintf(&b, "scaling:      %s: z = (x/%g − mean) / std, mean %.4g, std %.4g per channel\n", sc.Kind, sc.Div, sc.Mean, sc.Std)
	}
	b.WriteString("region graph:\n")
	for _, line := range strings.Split(strings.TrimRight(m.RG.Stats().String(), "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	if len(m.Info.History) > 0 {
		fmt.Fprintf(&b, "history (best epoch %d):\n  epoch  train bpd  valid bpd  seconds\n", m.Info.BestEpoch)
		for _, e := range m.Info.History {
			mark := ""
			if e.Epoch == m.Info.BestEpoch {
				mark = "  *"
			}
			fmt.Fprintf(&b, "  %5d  %9.4f  %9.4f  %7.1f%s\n", e.Epoch, e.TrainBPD, e.ValidBPD, e.Seconds, mark)
		}
	}
	if t := m.Info.Test; t != nil {
		fmt.Fprintf(&b, "test:         LL %.4f nats, %.4f bpd (%d samples)\n", t.LL, t.BPD, t.N)
	}
	return b.String(), nil
}
