package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/tenpc/tenpc/nn"
)

// Layer names a sum-product layer family: one of the built-in families
// below, or one a package registered with RegisterLayer. ParseLayer finds a
// registered one by name.
type Layer string

// The built-in sum-product layers. Each has a reference forward composed of
// nn ops (the graph engine) and a fused kernel (the fused engine).
const (
	// CP is the collapsed CP layer: one Kout×Kin matrix per input, Hadamard
	// product of the projections.
	CP Layer = "cp"
	// CPR is the uncollapsed CP layer of rank R: A[(Bᵀl1) ⊙ (Cᵀl2) ⊙ …].
	CPR Layer = "cp-r"
	// CPS is CP-XS plus a per-fold, per-output scale.
	CPS Layer = "cp-s"
	// CPXS is CP with one weight tensor shared by all folds of a layer
	// (partitions of equal height).
	CPXS Layer = "cp-xs"
	// Tucker is W (l1 ⊗ l2): it takes two inputs, so Build binarizes a
	// region graph with wider partitions first (see PlanFor).
	Tucker Layer = "tucker"
)

func (l Layer) String() string { return string(l) }

// InnerLayer is the module of one folded inner layer: F folds, each
// combining A inputs of Kin units into Kout units. Its parameters are its
// exported *nn.Param fields (found by nn.NamedParams, saved as
// "layers.<i>.<field>"); Forward builds its part of the graph from nn ops.
//
// The built-in sum-product layers (*CPLayer, *CPRLayer, *TuckerLayer) and
// the mixing layer (*MixingLayer) implement it, and so does any layer
// registered with RegisterLayer.
type InnerLayer interface {
	// Forward maps the gathered log-values x (F, A, B, Kin), x[f, a, b, :]
	// being the a-th input of fold f for sample b, to the log-values of
	// the layer's units (F, B, Kout). It runs in the sum-product semiring:
	// the circuit it computes is the layer's units' value.
	Forward(x *nn.Node) *nn.Node
}

// MaxProduct is implemented by a layer that MAP can run through: its
// forward in the max-product semiring, every sum of Forward replaced by a
// max (in log space: log-sum-exp by max), with the shapes of Forward.
type MaxProduct interface {
	MaxForward(x *nn.Node) *nn.Node
}

// Descender is implemented by a layer that sampling and MAP can descend
// through. Descent reads the layer's current parameters once and returns
// its rule for the downward pass: choose(d, f, k, in, choice) writes into
// choice[a] the unit of input a that output unit k of fold f continues to,
// given the log-values in[a] ((Kin) each) of fold f's inputs for the
// sample at hand: sum-product values when sampling, max-product values for
// MAP. The rule picks each sum's term with d.Pick (drawn in proportion to
// its value when sampling, the largest for MAP) and combines nested sums
// with d.Sum. It is called from one goroutine.
type Descender interface {
	Descent() func(d *Downward, f, k int, in [][]float64, choice []int)
}

// SignedLayer is implemented by a layer that computes with real weights
// (Param Real: squared circuits, and products of such circuits):
// SignedForward is Forward in signed log-space, x (F, A, B, Kin) holding
// log|value| and sx the values' signs (−1, 0 or 1; nil when every value is
// positive), with the shapes of Forward, returning the outputs' log|value|
// (F, B, Kout) and signs. Gradients flow through the log-magnitudes; the
// signs are constants. See signedLogEinsumExp for the stable form.
type SignedLayer interface {
	SignedForward(x, sx *nn.Node) (y, sy *nn.Node)
}

// LayerSpec is what a layer factory gets: the shape of one folded layer and
// the circuit's options that concern it.
type LayerSpec struct {
	// Layer is the family's name.
	Layer Layer
	// Folds F, Arity A, Kin and Kout: F folds of A inputs, Kin units in,
	// Kout out (Options.Classes for the root's partitions).
	Folds, Arity, Kin, Kout int
	// Rank is Options.Rank (default Units), for layers with an inner rank.
	Rank int
	// Param, Init and DType are the circuit's parameterization, weight
	// initializer and element type.
	Param Param
	Init  Init
	DType nn.DType
	// Rand draws the initial weights (seeded by Options.Seed): use it only
	// while building the layer.
	Rand *rand.Rand
}

// NewWeight returns a parameter of the given shape holding non-negative
// weights drawn by s.Init from s.Rand, each unit's weights running along
// the last axis (the axis Weights normalizes under Softmax), stored as the
// parameterization wants them: as they are with a lower bound of ClampMin
// (Clamp), as they are (Real; Normal draws keep their sign), or as their
// logarithm (Softmax, Exp).
func (s LayerSpec) NewWeight(name string, shape ...int) *nn.Param {
	p := nn.NewParam(name, s.DType, shape...)
	last := shape[len(shape)-1]
	initWeights(p, s.Param, s.Init, s.Rand, p.Len()/last, last, 1)
	return p
}

// Weights binds p into g and returns the weights it parameterizes (shape
// of p): p itself (Clamp, Real), exp p (Exp), or the softmax of p along its
// last axis (Softmax).
func (s LayerSpec) Weights(g *nn.Graph, p *nn.Param) *nn.Node {
	n := g.Param(p)
	switch s.Param {
	case Exp:
		return nn.Exp(n)
	case Softmax:
		return nn.Softmax(n, len(p.Shape())-1)
	}
	return n
}

// LogWeights is the logarithm of Weights: log p, p, or the log-softmax of
// p along its last axis (NaN for a negative Real weight: signed layers use
// Weights).
func (s LayerSpec) LogWeights(g *nn.Graph, p *nn.Param) *nn.Node {
	n := g.Param(p)
	switch s.Param {
	case Exp:
		return n
	case Softmax:
		return nn.LogSoftmax(n, len(p.Shape())-1)
	}
	return nn.Log(n)
}

// EffectiveWeights returns the weights p parameterizes (as Weights) in
// float64, each unit's weights along the last axis.
func (s LayerSpec) EffectiveWeights(p *nn.Param) []float64 {
	sh := p.Shape()
	last := sh[len(sh)-1]
	return reparam(p.Value(), s.Param, p.Len()/last, last, 1)
}

// LogEinsumExp contracts log-space values with linear weights: it returns
// log einsum(spec, exp(x), w), spec summing out x's last axis, computed
// stably as m + log einsum(spec, exp(x − m), w) with m the maximum of x
// along its last axis (no gradient flows through m: its contributions
// cancel). The output's leading letters must be x's other letters, in
// their order ("fabi,faoi->fabo"), so that m lines up with them. A row of
// x that is all −Inf gives NaN: a layer's inputs are finite in practice
// (clamped weights are positive, inputs are normalized distributions).
func LogEinsumExp(spec string, x, w *nn.Node) *nn.Node {
	z, m := shiftedLogEinsum(spec, x, w)
	zs, ms := z.Shape(), m.Shape()
	ms = append(ms, slices.Repeat([]int{1}, len(zs)-len(ms))...)
	return nn.Add(z, nn.Reshape(m, ms...))
}

// shiftedLogEinsum is LogEinsumExp in two parts: z = log einsum(spec,
// exp(x − m), w) and the shift m, x's maximum along its last axis, so that
// a caller summing over an axis can sum m over it before adding it back.
func shiftedLogEinsum(spec string, x, w *nn.Node) (z, m *nn.Node) {
	xs := x.Shape()
	n := len(xs)
	m = nn.StopGradient(nn.MaxAxis(x, n-1))               // (x's letters but the last)
	mk := nn.Reshape(m, append(xs[:n-1:n-1], 1)...)       // (…, 1)
	z = nn.Log(nn.Einsum(spec, nn.Exp(nn.Sub(x, mk)), w)) // output letters
	if zs := z.Shape(); len(zs) < n-1 || !slices.Equal(zs[:n-1], xs[:n-1]) {
		panic(fmt.Sprintf("circuit.LogEinsumExp %q: the output %v must start with x's other axes %v", spec, zs, xs[:n-1]))
	}
	return z, m
}

// logContractSum is Σ_a LogEinsumExp(spec, x, w) over axis 1 (the inputs
// a) of x (F, A, B, I): z (F, A, B, O) summed over a, plus the shifts m
// (F, A, B) summed over a and added once to the (F, B, O) result.
func logContractSum(spec string, x, w *nn.Node) *nn.Node {
	z, m := shiftedLogEinsum(spec, x, w)
	ms := m.Shape()
	return nn.Add(nn.SumAxis(z, 1), nn.Reshape(nn.SumAxis(m, 1), ms[0], ms[2], 1))
}

// LayerDef registers a sum-product layer family (see RegisterLayer).
type LayerDef struct {
	// New builds the module of one folded layer. It is called once per
	// sum-product layer of the plan, in plan order, with weights to draw
	// from s.Rand.
	New func(s LayerSpec) (InnerLayer, error)
	// Binary says that a fold takes exactly two inputs: Build then
	// binarizes a region graph with wider partitions first (see PlanFor).
	Binary bool
	// Normalized says that with Softmax weights every unit the layer
	// computes is a normalized distribution when its inputs are (each unit
	// a convex combination of products of inputs over disjoint scopes), so
	// the circuit needs no partition function. When false, log Z is
	// computed; it is always correct.
	Normalized bool
	// ParamCount, when set, is the number of parameter elements New makes
	// for s, so that Build refuses a circuit over Options.MaxParams before
	// allocating it. Without it Build counts after building.
	ParamCount func(s LayerSpec) int
}

var (
	layerMu   sync.RWMutex
	layerDefs = map[Layer]LayerDef{}
)

func init() {
	RegisterLayer(CP, LayerDef{New: newCP, Normalized: true, ParamCount: cpParamCount})
	RegisterLayer(CPR, LayerDef{New: newCPR, Normalized: true, ParamCount: cprParamCount})
	// CP-S scales are not weights of a convex combination.
	RegisterLayer(CPS, LayerDef{New: newCP, ParamCount: cpParamCount})
	RegisterLayer(CPXS, LayerDef{New: newCP, Normalized: true, ParamCount: cpParamCount})
	RegisterLayer(Tucker, LayerDef{New: newTucker, Binary: true, Normalized: true, ParamCount: tuckerParamCount})
}

// builtinLayers are the built-in families in the order ParseLayer lists
// them.
var builtinLayers = []Layer{CP, CPR, CPS, CPXS, Tucker}

// RegisterLayer makes a sum-product layer family available by name to
// Options.Layer, ParseLayer and so `tenpc train -layer NAME` (in a binary
// that imports the registering package). Call it from an init function. It
// panics when the name is empty, holds a space or a comma, is taken, or
// def.New is nil.
func RegisterLayer(name Layer, def LayerDef) {
	if name == "" || strings.ContainsAny(string(name), " \t\n,") {
		panic(fmt.Sprintf("circuit.RegisterLayer: bad name %q", name))
	}
	if def.New == nil {
		panic(fmt.Sprintf("circuit.RegisterLayer(%q): nil New", name))
	}
	layerMu.Lock()
	defer layerMu.Unlock()
	if _, dup := layerDefs[name]; dup {
		panic(fmt.Sprintf("circuit.RegisterLayer: %q is registered twice", name))
	}
	layerDefs[name] = def
}

func layerDef(l Layer) (LayerDef, bool) {
	layerMu.RLock()
	defer layerMu.RUnlock()
	d, ok := layerDefs[l]
	return d, ok
}

// LayerNames lists the registered layer families: the built-in ones, then
// the others in name order.
func LayerNames() []Layer {
	layerMu.RLock()
	defer layerMu.RUnlock()
	out := slices.Clone(builtinLayers)
	var more []Layer
	for l := range layerDefs {
		if !slices.Contains(builtinLayers, l) {
			more = append(more, l)
		}
	}
	slices.Sort(more)
	return append(out, more...)
}

// ParseLayer returns the registered layer family named s.
func ParseLayer(s string) (Layer, error) {
	if _, ok := layerDef(Layer(s)); ok {
		return Layer(s), nil
	}
	names := make([]string, 0, 8)
	for _, l := range LayerNames() {
		names = append(names, string(l))
	}
	return "", fmt.Errorf("unknown layer %q (want %s)", s, strings.Join(names, ", "))
}

// initWeights draws positive weights for a parameter seen as (outer, n,
// inner), n being the axis a unit's weights are normalized over, then
// stores them as the parameterization wants: as they are (clamp, with the
// lower bound set, and real) or as their logarithm (softmax, exp), so every
// parameterization starts from the same circuit up to normalization (real
// weights from Normal keep the draw's sign instead).
func initWeights(p *nn.Param, par Param, init Init, rng *rand.Rand, outer, n, inner int) {
	w := make([]float64, p.Len())
	switch init {
	case Uniform:
		// The reference protocol's uniform(0.01, 0.99).
		for i := range w {
			w[i] = 0.01 + 0.98*rng.Float64()
		}
	case Normal:
		for i := range w {
			w[i] = math.Abs(rng.NormFloat64()) + ClampMin
			if par == Real {
				// Real weights keep the normal draw's sign.
				w[i] = rng.NormFloat64()
			}
		}
	case Dirichlet:
		// Dirichlet(1): normalized standard exponentials along n.
		for a := range outer {
			for c := range inner {
				s := 0.0
				for j := range n {
					i := a*n*inner + j*inner + c
					w[i] = rng.ExpFloat64() + ClampMin
					s += w[i]
				}
				for j := range n {
					w[a*n*inner+j*inner+c] /= s
				}
			}
		}
	}
	if par == Softmax || par == Exp {
		for i := range w {
			w[i] = math.Log(w[i])
		}
	}
	p.SetValue(w)
	if par == Clamp {
		p.SetMin(ClampMin)
	}
}
