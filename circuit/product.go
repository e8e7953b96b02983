package circuit

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/tenpc/tenpc/nn"
)

// Products of circuits. Multiply(a, b) returns the circuit c(x) =
// a(x)·b(x) over the structure the two share (see Compatible): every
// region carries K_a·K_b units, unit i·K_b + j being the product of a's
// unit i and b's unit j of that region, and every layer is the Kronecker
// product of the two layers it pairs. The product is a Circuit like any
// other, folded like its factors, and answers the same queries on the
// graph engine: its partition function is Z = ∫ a(x) b(x) dx, so
//
//	∫ p(x) q(x) dx = Z_ab / (Z_a Z_b)    (LogPartition of the three)
//
// and Expectation gives E_p[q]. Its parameters are its factors' own
// (layers.<i>.a.weight, input.factors.0.logits, …): training the product
// trains them. A circuit with real weights is a squared circuit, whose
// partition function comes from Multiply(c, c).
//
// The product's layers are registered per pair of families (RegisterProduct)
// and built-in for the CP family (CP, CP-XS, CP-S and CP-R in any pairing,
// and products of those) and for Tucker with Tucker. They have graph-engine
// forwards only: there is no fused kernel for a product layer.

// Product is the layer family name of product circuits.
const Product Layer = "product"

// ProductSpec is what a product rule gets besides the two layers: the
// shape of the product layer and how folds and inputs pair up.
type ProductSpec struct {
	// Folds and Arity are the product layer's (those of the first layer).
	Folds, Arity int
	// BFolds[f] is the fold of the second layer that fold f pairs with,
	// and BInputs[f·Arity + i] the input of that fold that input i pairs
	// with (the one of the same scope). Both are nil when they are the
	// identity (the two circuits fold the same region graph alike).
	BFolds, BInputs []int
	// DType is the element type.
	DType nn.DType
}

// ProductRule builds the product of two folded layers a and b (a of the
// first circuit, b of the second): a module whose Forward (and
// SignedForward, for real weights) computes, for fold f and inputs whose
// unit i·Kin_b + j is the product of a's input unit i and b's unit j, the
// units k·Kout_b + l = (a's unit k)·(b's unit l). Its parameters must be
// a's and b's own, so that training the product trains the factors.
type ProductRule func(a, b InnerLayer, s ProductSpec) (InnerLayer, error)

var (
	productMu    sync.RWMutex
	productRules = map[[2]Layer]ProductRule{}
)

// RegisterProduct makes Multiply able to multiply a circuit of layer
// family a with one of family b, by rule. Built-in families need no rule
// (see Multiply). It panics when the pair is taken or rule is nil.
func RegisterProduct(a, b Layer, rule ProductRule) {
	if rule == nil {
		panic(fmt.Sprintf("circuit.RegisterProduct(%q, %q): nil rule", a, b))
	}
	productMu.Lock()
	defer productMu.Unlock()
	k := [2]Layer{a, b}
	if _, dup := productRules[k]; dup {
		panic(fmt.Sprintf("circuit.RegisterProduct: %q × %q is registered twice", a, b))
	}
	productRules[k] = rule
}

// multiplyLayers finds how to multiply la (of family fa) and lb.
func multiplyLayers(la, lb InnerLayer, fa, fb Layer, s ProductSpec) (InnerLayer, error) {
	productMu.RLock()
	rule, ok := productRules[[2]Layer{fa, fb}]
	productMu.RUnlock()
	if ok {
		return rule(la, lb, s)
	}
	ca, okA := la.(cpFormer)
	cb, okB := lb.(cpFormer)
	if okA && okB {
		return newCPProduct(la, lb, ca.cpForm(), cb.cpForm(), s), nil
	}
	ta, okA := la.(tuckerFormer)
	tb, okB := lb.(tuckerFormer)
	if okA && okB {
		return newTuckerProduct(la, lb, ta.tuckerForm(), tb.tuckerForm(), s), nil
	}
	return nil, fmt.Errorf("circuit: no product of %v (%T) and %v (%T) layers: register one with RegisterProduct", fa, la, fb, lb)
}

// Multiply returns the product circuit a·b (see the top of this file). It
// refuses incompatible circuits with Compatible's error. The product's
// root has Classes_a·Classes_b units, unit y·C_b + y' being a's root unit y
// times b's y'.
func Multiply(a, b *Circuit) (*Circuit, error) {
	m, err := matchCircuits(a, b)
	if err != nil {
		return nil, err
	}
	pa, pb := a.plan, b.plan
	plan := *pa
	plan.InputUnits, plan.Units, plan.Classes = pa.InputUnits*pb.InputUnits, pa.Units*pb.Units, pa.Classes*pb.Classes
	plan.Layers = slices.Clone(pa.Layers)
	c := &Circuit{plan: &plan, factors: []*Circuit{a, b}}
	for i := range plan.Layers {
		l := &plan.Layers[i]
		s := ProductSpec{Folds: l.F(), Arity: l.Arity, DType: a.opts.DType}
		// b's layer, fold and inputs of every fold of a's layer i.
		j := -1
		bf, bi := make([]int, l.F()), make([]int, l.F()*l.Arity)
		for f, r := range l.Regions {
			loc := pb.RegionLoc[m.region[r]]
			if j < 0 {
				j = loc.Layer - 1
			} else if loc.Layer-1 != j {
				return nil, fmt.Errorf("circuit: Multiply: b folds the partitions of a's layers.%d into two layers (%d and %d); build both circuits with equal unit counts", i, j, loc.Layer-1)
			}
			bf[f] = loc.Fold
			copy(bi[f*l.Arity:], m.inputs[l.Partitions[f]])
		}
		if !isRange(bf, len(bf)) || !isIdentityPerm(bi, l.Arity) {
			s.BFolds, s.BInputs = bf, bi
		}
		lb := &pb.Layers[j]
		l.Kin, l.Kout = l.Kin*lb.Kin, l.Kout*lb.Kout
		mod, err := multiplyLayers(a.Layers[i], b.Layers[j], a.opts.Layer, b.opts.Layer, s)
		if err != nil {
			return nil, fmt.Errorf("circuit: Multiply: layers.%d: %w", i, err)
		}
		c.Layers = append(c.Layers, mod)
	}
	// Slot s of the product is a's; its partner in b is the slot of the
	// same variable in b's leaf of the same scope.
	bSlot := make([]int, pa.NumSlots)
	for f, r := range pa.Leaves {
		fb := pb.RegionLoc[m.region[r]].Fold
		for i := pa.LeafOff[f]; i < pa.LeafOff[f+1]; i++ {
			bSlot[pa.Slots[i]] = pb.slotOf(fb, int(pa.LeafVars[i]))
		}
	}
	c.Input = &InputLayer{Factors: []*InputLayer{a.Input, b.Input}, plan: &plan, kind: a.opts.Input, c: a.opts.Values, bSlot: bSlot}
	o := a.opts
	o.Layer, o.Engine = Product, Graph
	o.InputUnits, o.Units, o.Classes = plan.InputUnits, plan.Units, plan.Classes
	o.Rank = 0
	o.Param = Clamp
	if a.signed() || b.signed() {
		o.Param = Real
	}
	c.opts = o
	return c, nil
}

// isIdentityPerm reports whether idx is (0, 1, …, a−1) repeated.
func isIdentityPerm(idx []int, a int) bool {
	for i, v := range idx {
		if v != i%a {
			return false
		}
	}
	return true
}

// Factors returns the two circuits of a product circuit (Multiply), nil
// for another circuit.
func (c *Circuit) Factors() (a, b *Circuit) {
	if c.factors == nil {
		return nil, nil
	}
	return c.factors[0], c.factors[1]
}

// densityCircuit is the circuit whose normalized value is c's
// distribution: c itself, or c·c for a squared circuit.
func (c *Circuit) densityCircuit() (*Circuit, error) {
	if c.squared() {
		return c.square()
	}
	return c, nil
}

// Expectation returns log E_{x∼p}[q(x)] = log ∫ p(x) q(x) dx, p and q
// being the normalized distributions of two compatible circuits (a squared
// circuit's c(x)²/Z), computed exactly as log Z_{pq} − log Z_p − log Z_q on
// the product of the two (of three, for a squared circuit). With several
// root units it returns Classes_p·Classes_q values, row-major, one per pair
// of root units.
func Expectation(p, q *Circuit) ([]float64, error) {
	dp, err := p.densityCircuit()
	if err != nil {
		return nil, err
	}
	dq, err := q.densityCircuit()
	if err != nil {
		return nil, err
	}
	pq, err := Multiply(dp, dq)
	if err != nil {
		return nil, err
	}
	zpq, err := pq.LogPartition()
	if err != nil {
		return nil, err
	}
	zp, err := dp.LogPartition()
	if err != nil {
		return nil, err
	}
	zq, err := dq.LogPartition()
	if err != nil {
		return nil, err
	}
	cq := len(zq)
	out := make([]float64, len(zpq))
	for i := range out {
		out[i] = zpq[i] - zp[i/cq] - zq[i%cq]
	}
	return out, nil
}

// LogPartition returns log Z per root unit, Z being c with every variable
// integrated out, computed exactly by the reference evaluator. It is 0 for
// a circuit normalized by construction; a product's is log ∫ a(x) b(x) dx;
// a squared circuit's log ∫ c(x)² dx.
// A root unit whose Z is negative (a product of two different circuits
// with real weights) gives NaN.
func (c *Circuit) LogPartition() ([]float64, error) {
	if c.squared() {
		return c.onSquare((*Circuit).LogPartition)
	}
	e, err := newEvaluator(c)
	if err != nil {
		return nil, err
	}
	defer e.done()
	return e.logZ()
}

// square returns Multiply(c, c), or Multiply(m, Multiply(c, c)) for a
// squared circuit with a monotonic factor m, made once: the circuit whose
// values are a squared circuit's unnormalized density and whose partition
// function is its Z.
func (c *Circuit) square() (*Circuit, error) {
	c.sqMu.Lock()
	defer c.sqMu.Unlock()
	if c.sq == nil {
		sq, err := Multiply(c, c)
		if err != nil {
			return nil, err
		}
		if c.Mono != nil {
			if sq, err = Multiply(c.Mono, sq); err != nil {
				return nil, fmt.Errorf("circuit: the monotonic factor times the square: %w", err)
			}
		}
		c.sq = sq
	}
	return c.sq, nil
}

// squared reports whether c is a squared circuit: real weights, and not
// itself a product.
func (c *Circuit) squared() bool { return c.opts.Param == Real && c.factors == nil }

// signed reports whether c's values may be negative: real weights, its own
// or a factor's.
func (c *Circuit) signed() bool { return c.opts.Param == Real }

// diagonal is the root units y·C + y of a square's C² root units: the
// squares of the C root units of the circuit it squares.
func diagonal(classes int) []int {
	d := make([]int, classes)
	for y := range d {
		d[y] = y*classes + y
	}
	return d
}

// nanIfNegative returns log|v| where sign ≥ 0, NaN where it is negative.
func nanIfNegative(logAbs, sign []float64) {
	for i, s := range sign {
		if s < 0 {
			logAbs[i] = math.NaN()
		}
	}
}
