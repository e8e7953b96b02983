package experiments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/decomp"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// Compression (docs/COMPRESSION.md). Each fold of a Tucker layer holds a
// tensor W (Kout × Kin × Kin): unit k of the fold computes
// Σ_ij W[k,i,j]·l1_i·l2_j. A rank-R CP of it,
//
//	W[k,i,j] ≈ Σ_r λ_r·A[k,r]·B[i,r]·C[j,r],
//
// is exactly an uncollapsed CP (CP-R) fold: U[0,r,:] = B[:,r] and
// U[1,r,:] = C[:,r] project the two inputs onto R units, their product is
// taken, and O[k,r] = λ_r·A[k,r] mixes the R products into Kout outputs. The
// input and mixing layers carry over as they are, so the compressed circuit
// has the Tucker circuit's structure with every Tucker fold replaced.

// CompressConfig configures Compress. Zero fields take the defaults given.
type CompressConfig struct {
	// Model is the Tucker model file (a model or a training checkpoint).
	Model string
	// Rank is the rank R of the CP-R layers (≥ 1).
	Rank int
	// Out is the model file to write.
	Out string
	// Force replaces Out if it exists; otherwise an existing Out is an
	// error.
	Force bool
	// MaxIter bounds the non-negative CP sweeps per fold (0: decomp's
	// default, 100).
	MaxIter int
	// Tol stops a fold's sweeps once its relative error changes by less
	// than Tol (0: decomp's default, 1e-8).
	Tol float64
	// RandomInit starts every fold's factorization from random factors
	// (decomp.InitRandom) drawn from Seed; the default starts from the
	// absolute values of the unfoldings' leading singular vectors
	// (decomp.InitSVD, TensorLy's default), with random columns (from Seed)
	// only where R exceeds a dimension.
	RandomInit bool
	// Seed seeds the factorizations: fold f of layer i draws from a PCG
	// generator seeded with (Seed, i<<32 | f), so the result does not
	// depend on the number of workers.
	Seed uint64
	// Workers is the number of folds factorized at once (0: GOMAXPROCS,
	// a worker per core).
	Workers int
	// SkipEval skips the test-set evaluations before and after.
	SkipEval bool
	// Limit evaluates on the first Limit test samples only (0: all).
	Limit int
	// MaxMemory, when positive, refuses models whose evaluation program
	// would need more bytes than this (see EvalConfig.MaxMemory).
	MaxMemory int64
	// Log receives a line per layer (nil: none).
	Log *logrus.Logger
}

// CompressedLayer reports the compression of one folded Tucker layer.
type CompressedLayer struct {
	// Layer is the layer's 1-based position among the circuit's inner
	// layers (as Plan.Write and `tenpc info` number them).
	Layer int `json:"layer"`
	// Folds is the number of folds F; every fold's tensor is
	// Kout × Kin × Kin.
	Folds int `json:"folds"`
	Kout  int `json:"kout"`
	Kin   int `json:"kin"`
	// ParamsBefore (F·Kout·Kin²) and ParamsAfter (F·(2·R·Kin + Kout·R))
	// count the layer's weights.
	ParamsBefore int `json:"params_before"`
	ParamsAfter  int `json:"params_after"`
	// MeanError and MaxError summarize over the folds the relative
	// Frobenius error ‖W − Ŵ‖/‖W‖ of the effective weights: W the Tucker
	// model's, Ŵ the product of the compressed model's, as stored.
	MeanError float64 `json:"mean_error"`
	MaxError  float64 `json:"max_error"`
	// Exact counts the folds written exactly, without fitting (R at least
	// the product of two of the tensor's dimensions); Sweeps is the mean
	// number of sweeps of the others, Converged how many of them stopped
	// on the tolerance.
	Exact     int     `json:"exact"`
	Sweeps    float64 `json:"sweeps"`
	Converged int     `json:"converged"`
	// Seconds is the layer's wall time (factorization and conversion).
	Seconds float64 `json:"seconds"`
}

// CompressResult is what Compress did.
type CompressResult struct {
	Model string `json:"model"` // the Tucker model file
	Out   string `json:"out"`   // the compressed model file
	Rank  int    `json:"rank"`
	// Arch describes the compressed model; TuckerArch the original.
	Arch       string            `json:"arch"`
	TuckerArch string            `json:"tucker_arch"`
	Layers     []CompressedLayer `json:"layers"`
	// ParamsBefore and ParamsAfter count every parameter of the two
	// models (input layers and mixing weights included).
	ParamsBefore int `json:"params_before"`
	ParamsAfter  int `json:"params_after"`
	// Before and After are the test-set results of the Tucker model and
	// the compressed one, evaluated as `tenpc eval` does (nil with
	// SkipEval).
	Before *SplitResult `json:"before,omitempty"`
	After  *SplitResult `json:"after,omitempty"`
	// Seconds is the factorization's wall time over all layers; Workers
	// the number of folds factorized at once.
	Seconds float64 `json:"seconds"`
	Workers int     `json:"workers"`
}

// Compress factorizes every fold of a Tucker model's Tucker layers by
// non-negative CP of rank cfg.Rank into a CP-R model, which it writes to
// cfg.Out as an ordinary model file (layer cp-r, rank R; eval, sample,
// complete, info and train -init take it). The input and mixing layers
// are copied. Weights are factorized as the circuit uses them
// (circuit.EffectiveWeights) and stored in the model's own
// parameterization (see compressParams). A graph that the Tucker model
// binarized (partitions of more than two inputs) is stored binarized, so
// the compressed model has the Tucker model's folds.
//
// Bad input (a rank below 1, a missing or unreadable model, a model that
// is not Tucker, an existing Out without Force, a bad option) is an
// *InputError, reported before anything is computed or written.
func Compress(cfg CompressConfig) (*CompressResult, error) {
	switch {
	case cfg.Rank < 1:
		return nil, inputErrorf("rank must be ≥ 1, got %d", cfg.Rank)
	case cfg.Out == "":
		return nil, inputErrorf("no output file given")
	case cfg.Workers < 0:
		return nil, inputErrorf("workers must be ≥ 0, got %d", cfg.Workers)
	case cfg.MaxIter < 0:
		return nil, inputErrorf("sweeps must be ≥ 0, got %d", cfg.MaxIter)
	case !(cfg.Tol >= 0):
		return nil, inputErrorf("tolerance must be ≥ 0, got %v", cfg.Tol)
	case cfg.Limit < 0:
		return nil, inputErrorf("limit must be ≥ 0, got %d", cfg.Limit)
	case cfg.MaxMemory < 0:
		return nil, inputErrorf("max memory must be ≥ 0, got %d", cfg.MaxMemory)
	}
	if _, err := os.Stat(cfg.Out); err == nil && !cfg.Force {
		return nil, inputErrorf("output %s exists; pass -force to replace it", cfg.Out)
	}
	m, err := LoadModel(cfg.Model)
	if err != nil {
		return nil, err
	}
	if m.Arch.Layer != circuit.Tucker.String() {
		return nil, inputErrorf("model %s has %s layers (%s); compress takes a Tucker model", cfg.Model, m.Arch.Layer, m.Arch.Describe())
	}
	var test *SplitResult
	var sp data.Splits
	if !cfg.SkipEval {
		if sp, err = loadModelData(m, cfg.Model, "", cfg.Limit); err != nil {
			return nil, err
		}
		if sp.Test.N == 0 {
			return nil, inputErrorf("the test split of %s is empty", sp.Test.Name)
		}
		if err := checkMemory(m.Circuit, evalBatch(m), false, cfg.MaxMemory, "model "+cfg.Model); err != nil {
			return nil, err
		}
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	fit := foldFit{rank: cfg.Rank, maxIter: cfg.MaxIter, tol: cfg.Tol, random: cfg.RandomInit, seed: cfg.Seed}
	t0 := time.Now()
	cm, layers, err := compressModel(m, fit, workers, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("compress %s: %w", cfg.Model, err)
	}
	res := &CompressResult{
		Model: cfg.Model, Out: cfg.Out, Rank: cfg.Rank, Arch: cm.Arch.Describe(), TuckerArch: m.Arch.Describe(),
		Layers: layers, ParamsBefore: nn.ParamCount(m.Circuit), ParamsAfter: nn.ParamCount(cm.Circuit),
		Seconds: time.Since(t0).Seconds(), Workers: workers,
	}
	if !cfg.SkipEval {
		before, err := evalModel(m, sp.Test, "test")
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", cfg.Model, err)
		}
		after, err := evalModel(cm, sp.Test, "test")
		if err != nil {
			return nil, fmt.Errorf("evaluate the compressed model: %w", err)
		}
		res.Before, res.After, test = &before, &after, &after
	}
	cm.Info.Test = test
	if dir := filepath.Dir(cfg.Out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := cm.Save(cfg.Out); err != nil {
		return nil, err
	}
	return res, nil
}

// foldFit is how one Tucker fold is factorized.
type foldFit struct {
	rank    int
	maxIter int
	tol     float64
	random  bool
	seed    uint64
}

// compressModel builds the CP-R model of m (a Tucker model) as Compress
// describes, factorizing with workers goroutines, and reports per layer.
func compressModel(m *Model, fit foldFit, workers int, log *logrus.Logger) (*Model, []CompressedLayer, error) {
	rg := m.RG
	if hasWidePartition(rg) {
		bin, err := regiongraph.Binarize(rg)
		if err != nil {
			return nil, nil, fmt.Errorf("binarize the region graph: %w", err)
		}
		rg = bin
	}
	opts := m.Circuit.Options()
	opts.Layer, opts.Rank, opts.MaxParams = circuit.CPR, fit.rank, 0
	c, err := circuit.Build(rg, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("build the cp-r circuit: %w", err)
	}
	if err := samePlan(m.Circuit.Plan(), c.Plan()); err != nil {
		return nil, nil, err
	}
	// Every parameter but the Tucker layers' moves over as it is, found by
	// its saved name ("input.logits", "layers.<i>.weight", …).
	tp, cp := paramsByName(m.Circuit), paramsByName(c)
	var layers []CompressedLayer
	for name, p := range cp {
		if i, ok := layerIndex(name); ok && c.Plan().Layers[i].Kind != circuit.Mixing {
			continue
		}
		from := tp[name]
		if from == nil || !slices.Equal(from.Shape(), p.Shape()) {
			return nil, nil, fmt.Errorf("the cp-r circuit's parameter %s (%v) has no counterpart in the Tucker circuit", name, p.Shape())
		}
		p.SetValue(from.Value())
	}
	for i, l := range c.Plan().Layers {
		if l.Kind == circuit.Mixing {
			continue
		}
		t0 := time.Now()
		cl, err := compressLayer(m.Circuit, c, tp, cp, i, fit, workers)
		if err != nil {
			return nil, nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		cl.Seconds = time.Since(t0).Seconds()
		layers = append(layers, cl)
		if log != nil {
			log.WithFields(logrus.Fields{
				"layer": cl.Layer, "folds": cl.Folds, "tensor": fmt.Sprintf("%d×%d×%d", cl.Kout, cl.Kin, cl.Kin),
				"mean_error": round4(cl.MeanError), "max_error": round4(cl.MaxError), "seconds": round4(cl.Seconds),
			}).Info("layer compressed")
		}
	}
	arch, err := archOf(rg, c)
	if err != nil {
		return nil, nil, err
	}
	info := m.Info
	info.History, info.BestEpoch, info.Test = nil, 0, nil
	if m.Info.Config != nil {
		tc := *m.Info.Config
		tc.Layer, tc.Rank = circuit.CPR, fit.rank
		info.Config = &tc
	}
	return &Model{Circuit: c, RG: rg, Arch: arch, Info: info}, layers, nil
}

// paramsByName maps c's parameters by the names they are saved under.
func paramsByName(c *circuit.Circuit) map[string]*nn.Param {
	ps := map[string]*nn.Param{}
	for _, p := range nn.NamedParams(c) {
		ps[p.Name] = p.Param
	}
	return ps
}

// layerIndex returns i for a parameter named "layers.<i>.…".
func layerIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "layers.")
	if !ok {
		return 0, false
	}
	idx, _, _ := strings.Cut(rest, ".")
	i, err := strconv.Atoi(idx)
	return i, err == nil
}

// hasWidePartition reports whether a partition of g has more than two
// inputs (circuit.PlanFor binarizes such a graph for Tucker layers).
func hasWidePartition(g *regiongraph.Graph) bool {
	for _, pt := range g.Partitions {
		if len(pt.Inputs) > 2 {
			return true
		}
	}
	return false
}

// samePlan checks that the CP-R plan b folds exactly as the Tucker plan
// a, so that parameters can move between them layer by layer and fold by
// fold.
func samePlan(a, b *circuit.Plan) error {
	if len(a.Layers) != len(b.Layers) || a.NumSlots != b.NumSlots {
		return fmt.Errorf("the cp-r plan has %d layers over %d input slots, the Tucker plan %d over %d", len(b.Layers), b.NumSlots, len(a.Layers), a.NumSlots)
	}
	for i := range a.Layers {
		x, y := &a.Layers[i], &b.Layers[i]
		same := x.Kind == y.Kind && x.F() == y.F() && x.Arity == y.Arity && x.Kin == y.Kin && x.Kout == y.Kout && len(x.Refs) == len(y.Refs)
		for j := 0; same && j < len(x.Refs); j++ {
			same = x.Refs[j] == y.Refs[j]
		}
		if !same {
			return fmt.Errorf("layer %d of the cp-r plan does not fold as the Tucker plan's", i+1)
		}
	}
	return nil
}

// compressLayer factorizes every fold of Tucker layer i of t into layer i
// of c, converts the factors to c's parameterization, and measures the
// error of the stored weights.
func compressLayer(t, c *circuit.Circuit, tp, cp map[string]*nn.Param, i int, fit foldFit, workers int) (CompressedLayer, error) {
	tw := tp[fmt.Sprintf("layers.%d.weight", i)]
	cu, co := cp[fmt.Sprintf("layers.%d.weight", i)], cp[fmt.Sprintf("layers.%d.out", i)]
	if tw == nil || cu == nil || co == nil {
		return CompressedLayer{}, fmt.Errorf("no Tucker weight or CP-R weight and out parameters")
	}
	l := &t.Plan().Layers[i]
	F, Kout, Kin, R := l.F(), l.Kout, l.Kin, fit.rank
	if l.Arity != 2 {
		return CompressedLayer{}, fmt.Errorf("a Tucker layer of arity %d", l.Arity)
	}
	w, _, _ := t.EffectiveWeights(i) // (F, Kout, Kin·Kin)
	size := Kout * Kin * Kin
	u := make([]float64, F*2*R*Kin) // (F, 2, R, Kin)
	o := make([]float64, F*Kout*R)  // (F, Kout, R)
	sweeps := make([]int, F)        // -1: written exactly
	conv := make([]bool, F)
	param := c.Options().Param
	err := parallelFolds(F, workers, func(f int) error {
		rng := rand.New(rand.NewPCG(fit.seed, uint64(i)<<32|uint64(f)))
		uf, of := u[f*2*R*Kin:][:2*R*Kin], o[f*Kout*R:][:Kout*R]
		var err error
		sweeps[f], conv[f], err = fitFold(w[f*size:][:size], Kout, Kin, fit, rng, uf, of)
		if err != nil {
			return fmt.Errorf("fold %d: %w", f, err)
		}
		toParam(uf, of, Kout, Kin, R, param)
		return nil
	})
	if err != nil {
		return CompressedLayer{}, err
	}
	cu.SetValue(u)
	co.SetValue(o)

	// The error of what the compressed circuit computes: its effective
	// weights as stored (rounded to the model's dtype, clamped, normalized).
	eu, _, eo := c.EffectiveWeights(i)
	errs := make([]float64, F)
	err = parallelFolds(F, workers, func(f int) error {
		errs[f] = foldError(w[f*size:][:size], eu[f*2*R*Kin:][:2*R*Kin], eo[f*Kout*R:][:Kout*R], Kout, Kin, R)
		return nil
	})
	if err != nil {
		return CompressedLayer{}, err
	}
	cl := CompressedLayer{
		Layer: i + 1, Folds: F, Kout: Kout, Kin: Kin,
		ParamsBefore: tw.Len(), ParamsAfter: cu.Len() + co.Len(),
	}
	fitted := 0
	for f := range F {
		cl.MeanError += errs[f] / float64(F)
		cl.MaxError = max(cl.MaxError, errs[f])
		if sweeps[f] < 0 {
			cl.Exact++
			continue
		}
		fitted++
		cl.Sweeps += float64(sweeps[f])
		if conv[f] {
			cl.Converged++
		}
	}
	if fitted > 0 {
		cl.Sweeps /= float64(fitted)
	}
	return cl, nil
}

// parallelFolds runs do(f) for f = 0 … n−1 on workers goroutines and
// returns the first error.
func parallelFolds(n, workers int, do func(f int) error) error {
	next := make(chan int)
	errs := make([]error, max(workers, 1))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				if errs[w] == nil {
					errs[w] = do(f)
				}
			}
		}()
	}
	for f := range n {
		next <- f
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fitFold writes the rank-R factors of one fold's effective weights w
// (Kout, Kin, Kin) into u (2, R, Kin) and o (Kout, R), in linear space,
// with λ folded into o. When R is at least the product of two of the
// tensor's dimensions the fold is written exactly (exactFold) and sweeps
// is −1; otherwise it is fitted by non-negative CP (HALS) and sweeps and
// converged report the fit.
func fitFold(w []float64, Kout, Kin int, fit foldFit, rng *rand.Rand, u, o []float64) (sweeps int, converged bool, err error) {
	R := fit.rank
	if exactFold(w, Kout, Kin, R, u, o) {
		return -1, true, nil
	}
	t, err := decomp.FromSlice(w, Kout, Kin, Kin)
	if err != nil {
		return 0, false, err
	}
	opts := &decomp.CPOptions{MaxIter: fit.maxIter, Tol: fit.tol, Rand: rng, Init: decomp.InitSVD}
	if fit.random {
		opts.Init = decomp.InitRandom
	}
	cp, err := decomp.NonNegativeCP(t, R, opts)
	if err != nil {
		return 0, false, err
	}
	a, b, cc := cp.Factors[0], cp.Factors[1], cp.Factors[2]
	for r := range R {
		for k := range Kout {
			o[k*R+r] = cp.Weights[r] * a.At(k, r)
		}
		for j := range Kin {
			u[r*Kin+j] = b.At(j, r)
			u[(R+r)*Kin+j] = cc.At(j, r)
		}
	}
	return len(cp.Trace) - 1, cp.Converged, nil
}

// exactFold writes w (Kout, Kin, Kin) exactly as a CP of rank R when R is at
// least the product P of two of its dimensions: one component per pair of
// indices of those two modes, with unit vectors as their factors and the
// fiber of the third mode as its own; components beyond P are zero. It
// reports whether it did (R ≥ P).
func exactFold(w []float64, Kout, Kin, R int, u, o []float64) bool {
	clear(u)
	clear(o)
	switch {
	case R >= Kin*Kin:
		// Component (i, j): U0 = e_i, U1 = e_j, O[:, r] = W[:, i, j].
		for i := range Kin {
			for j := range Kin {
				r := i*Kin + j
				u[r*Kin+i], u[(R+r)*Kin+j] = 1, 1
				for k := range Kout {
					o[k*R+r] = w[(k*Kin+i)*Kin+j]
				}
			}
		}
	case R >= Kout*Kin:
		// Component (k, i): O[:, r] = e_k, U0 = e_i, U1 = W[k, i, :].
		for k := range Kout {
			for i := range Kin {
				r := k*Kin + i
				o[k*R+r], u[r*Kin+i] = 1, 1
				copy(u[(R+r)*Kin:][:Kin], w[(k*Kin+i)*Kin:][:Kin])
			}
		}
	default:
		return false
	}
	return true
}

// toParam turns the linear-space factors u (2, R, Kin) and o (Kout, R) of
// one fold into parameters of kind param, in place:
//
//   - clamp: the factors themselves, at least circuit.ClampMin (the bound
//     training keeps);
//   - exp: their logarithms (of at least ClampMin);
//   - softmax: the logarithms, after each input factor's R columns are
//     scaled to sum to 1 over Kin and their sums moved into o's columns.
//     The softmax then leaves the input factors as they are and scales
//     each of o's Kout rows to sum to 1 over R. A Tucker softmax unit's
//     weights sum to 1, so the rows of an exact factorization already do,
//     and the normalization only takes the fit's error out of the row
//     sums: the circuit stays normalized by construction.
func toParam(u, o []float64, Kout, Kin, R int, param circuit.Param) {
	if param == circuit.Softmax {
		for a := range 2 {
			for r := range R {
				col := u[(a*R+r)*Kin:][:Kin]
				s := floats.Sum(col)
				if s == 0 {
					continue // o's column is 0 or the component has no weight
				}
				floats.Scale(1/s, col)
				for k := range Kout {
					o[k*R+r] *= s
				}
			}
		}
	}
	for _, xs := range [][]float64{u, o} {
		for i, v := range xs {
			v = max(v, circuit.ClampMin)
			if param != circuit.Clamp {
				v = math.Log(v)
			}
			xs[i] = v
		}
	}
}

// foldError is ‖W − Ŵ‖/‖W‖ for one fold: w (Kout, Kin, Kin) and Ŵ[k,i,j] =
// Σ_r o[k,r]·u[0,r,i]·u[1,r,j], all effective (linear-space) weights.
func foldError(w, u, o []float64, Kout, Kin, R int) float64 {
	ones := make([]float64, R)
	for r := range ones {
		ones[r] = 1
	}
	var b, c mat.Dense
	b.CloneFrom(mat.NewDense(R, Kin, u[:R*Kin]).T())
	c.CloneFrom(mat.NewDense(R, Kin, u[R*Kin:]).T())
	cp := &decomp.CP{Weights: ones, Factors: []*mat.Dense{mat.NewDense(Kout, R, o), &b, &c}}
	ref := &decomp.Tensor{Shape: []int{Kout, Kin, Kin}, Data: w}
	e, err := decomp.RelativeError(ref, cp.Full())
	if err != nil {
		panic(fmt.Sprintf("experiments: fold error: %v", err)) // the shapes agree by construction
	}
	return e
}

// evalBatch is the batch size a model is evaluated with: its training one.
func evalBatch(m *Model) int {
	if m.Info.BatchSize >= 1 {
		return m.Info.BatchSize
	}
	return 256
}

// evalModel evaluates m on ds as Evaluate does (the training batch size,
// the model's scaling), without the per-sample output.
func evalModel(m *Model, ds *data.Dataset, split string) (SplitResult, error) {
	prog, err := m.Circuit.Compile(evalBatch(m), false)
	if err != nil {
		return SplitResult{}, err
	}
	return evalSplit(prog, ds, split, newFeeder(m.Circuit.Options().Input, m.Info.Scale), nil)
}
