package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/tenpc/tenpc/nn"
)

// InputLayer is the input layer as a module: the input distributions'
// parameters, one row per input slot (Plan.Slots): Logits (S, K, C) for
// categorical inputs (for embedding inputs, the values themselves),
// Logits (S, K) for Bernoulli/binomial, Mean and LogStd (S, K) for
// Gaussian. Leaf f's unit k is the product, over the leaf's variables, of
// their slots' distribution k.
//
// Two kinds of input layer are built from others: a product circuit's
// (Multiply), whose Factors are the input layers of the two circuits
// multiplied, and a circuit with mixed inputs (Options.Columns), whose
// Groups are single-family layers over the slots of their columns. Their
// own fields are then nil.
type InputLayer struct {
	Logits *nn.Param
	Mean   *nn.Param
	LogStd *nn.Param
	// Groups are the single-family layers of mixed inputs.
	Groups []*InputLayer
	// Factors are the two input layers of a product circuit.
	Factors []*InputLayer

	plan  *Plan
	kind  InputKind
	c     int   // values of discrete inputs (C)
	slots []int // a group's slots (nil: every slot)
	bSlot []int // a product's slot of Factors[1] for each of its slots
}

// plain reports whether the layer is a single family over every slot, the
// layer the fused engine and EM have kernels for.
func (in *InputLayer) plain() bool { return in.Factors == nil && in.Groups == nil }

func newInputLayer(p *Plan, o *Options, rng *rand.Rand) *InputLayer {
	if o.Columns != nil {
		in := &InputLayer{plan: p}
		for _, g := range columnGroups(p, o.Columns) {
			in.Groups = append(in.Groups, newFamilyLayer(p, g.col, g.slots, o.DType, rng))
		}
		return in
	}
	return newFamilyLayer(p, Column{o.Input, o.Values}, nil, o.DType, rng)
}

// newFamilyLayer is a single-family input layer over slots (nil: every
// slot), one parameter row per slot.
func newFamilyLayer(p *Plan, col Column, slots []int, dt nn.DType, rng *rand.Rand) *InputLayer {
	v, k := p.NumSlots, p.InputUnits
	if slots != nil {
		v = len(slots)
	}
	in := &InputLayer{plan: p, kind: col.Kind, c: col.Values, slots: slots}
	switch col.Kind {
	case Categorical:
		in.Logits = nn.NewParam("logits", dt, v, k, col.Values)
		nn.NormalInit(in.Logits, 0, 1, rng)
	case Embedding:
		// The probabilities a categorical unit starts from, so that the
		// squared circuit starts as it would with categorical inputs.
		in.Logits = nn.NewParam("embedding", dt, v, k, col.Values)
		nn.NormalInit(in.Logits, 0, 1, rng)
		softmaxRows(in.Logits, col.Values)
	case Bernoulli, Binomial:
		in.Logits = nn.NewParam("logits", dt, v, k)
		nn.NormalInit(in.Logits, 0, 1, rng)
	case Gaussian:
		in.Mean = nn.NewParam("mean", dt, v, k)
		nn.NormalInit(in.Mean, 0, 1, rng)
		in.LogStd = nn.NewParam("log_std", dt, v, k)
	}
	return in
}

// flatten redraws the discrete families' parameters near a constant unit
// (logits from N(0, 0.01²); embedding values near 1/C), so that a circuit
// over them starts near a constant function of its inputs. Gaussian units
// keep theirs.
func (in *InputLayer) flatten(rng *rand.Rand) {
	for _, g := range in.Groups {
		g.flatten(rng)
	}
	if in.Logits == nil {
		return
	}
	nn.NormalInit(in.Logits, 0, 0.01, rng)
	if in.kind == Embedding {
		softmaxRows(in.Logits, in.c)
	}
}

// slotGroup is the slots whose variables have one input distribution.
type slotGroup struct {
	col   Column
	slots []int
}

// columnGroups groups the slots of p by their variable's column, in the
// order the columns first appear; each group's slots are increasing.
func columnGroups(p *Plan, cols []Column) []slotGroup {
	var gs []slotGroup
	at := map[Column]int{}
	for _, c := range cols {
		if _, ok := at[c]; !ok {
			at[c] = len(gs)
			gs = append(gs, slotGroup{col: c})
		}
	}
	for s := range p.NumSlots {
		g := &gs[at[cols[p.slotVar(s)]]]
		g.slots = append(g.slots, s)
	}
	// A column kind no slot reads (a variable outside every leaf cannot
	// occur: leaves cover every variable) would leave an empty group.
	out := gs[:0]
	for _, g := range gs {
		if len(g.slots) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// inputParamCount is the closed form of the input layer's parameter count:
// S·Kin·C (categorical), S·Kin (Bernoulli, binomial), 2·S·Kin (Gaussian),
// S being the number of input slots (Plan.NumSlots); with mixed inputs the
// sum over the slots of each family.
func inputParamCount(p *Plan, o *Options) int {
	if o.Columns != nil {
		n := 0
		for _, g := range columnGroups(p, o.Columns) {
			n += len(g.slots) * familyParams(g.col, p.InputUnits)
		}
		return n
	}
	return p.NumSlots * familyParams(Column{o.Input, o.Values}, p.InputUnits)
}

// familyParams is the parameter count of one slot's k units of family col.
func familyParams(col Column, k int) int {
	switch col.Kind {
	case Categorical, Embedding:
		return k * col.Values
	case Gaussian:
		return 2 * k
	}
	return k
}

// slotLayer returns the single-family layer holding slot s and the slot's
// row in its parameters (the layer itself and s unless inputs are mixed).
// It panics on a product's input layer, whose slots pair two layers'.
func (in *InputLayer) slotLayer(s int) (*InputLayer, int) {
	switch {
	case in.Factors != nil:
		panic("circuit: a product's input slot has no single distribution")
	case in.Groups == nil:
		return in, s
	}
	for _, g := range in.Groups {
		if r, ok := slices.BinarySearch(g.slots, s); ok {
			return g, r
		}
	}
	panic(fmt.Sprintf("circuit: input slot %d is in no group", s))
}

// Describe implements nn.Describer.
func (in *InputLayer) Describe() string {
	p := in.plan
	if in.Factors != nil {
		return fmt.Sprintf("product F=%d slots=%d → %d·%d", len(p.Leaves), p.NumSlots, in.Factors[0].plan.InputUnits, in.Factors[1].plan.InputUnits)
	}
	if in.Groups != nil {
		parts := make([]string, len(in.Groups))
		for i, g := range in.Groups {
			parts[i] = fmt.Sprintf("%d %v", len(g.slots), Column{g.kind, g.c})
		}
		return fmt.Sprintf("mixed F=%d slots=%d → %d: %s", len(p.Leaves), p.NumSlots, p.InputUnits, strings.Join(parts, ", "))
	}
	if in.slots != nil {
		return fmt.Sprintf("%v over %d slots", Column{in.kind, in.c}, len(in.slots))
	}
	s := fmt.Sprintf("%v F=%d slots=%d → %d", in.kind, len(p.Leaves), p.NumSlots, p.InputUnits)
	if in.kind != Gaussian {
		s += fmt.Sprintf(", %d values", in.c)
	}
	return s
}

// Forward builds the leaves' log-values, with the variables marked in
// missing integrated out (their units read log 1 = 0):
//
//	x (B, V) Uint8 categories (float for Gaussian inputs), missing (B, V) Uint8
//	-> lp (S, B, K) per slot -> (F, B, K) per leaf (the sum over its slots)
//
// For embedding inputs, whose values have signs, it returns the
// log-magnitudes; SignedForward returns the signs too.
func (in *InputLayer) Forward(x, missing *nn.Node) *nn.Node {
	lp, _ := in.forward(x, missing, inputPass{})
	return lp
}

// SignedForward is Forward with the values' signs (nil when every value is
// positive, as for every family but embedding).
func (in *InputLayer) SignedForward(x, missing *nn.Node) (lp, sign *nn.Node) {
	return in.forward(x, missing, inputPass{})
}

// MaxForward is Forward in the max-product semiring: a missing variable
// contributes log max_x p(x) (the mode's log-probability; the log-density
// at the mean for Gaussian inputs) instead of 0.
func (in *InputLayer) MaxForward(x, missing *nn.Node) *nn.Node {
	lp, _ := in.forward(x, missing, inputPass{max: true})
	return lp
}

// gatherCols selects columns of x (B, V): (B, len(cols)), or x for nil.
func gatherCols(x *nn.Node, cols []int) *nn.Node {
	if cols == nil {
		return x
	}
	return nn.Gather(x, 1, cols)
}

// softmaxRows replaces every run of c values of p by its softmax.
func softmaxRows(p *nn.Param, c int) {
	v := p.Value()
	for r := 0; r < len(v); r += c {
		row := v[r : r+c]
		m := slices.Max(row)
		s := 0.0
		for i, t := range row {
			row[i] = math.Exp(t - m)
			s += row[i]
		}
		for i := range row {
			row[i] /= s
		}
	}
	p.SetValue(v)
}

// table is the discrete inputs' log-value table (S, K, C): log p of slot
// s, unit k at value c, and the values' signs (nil: all positive).
//
//	categorical  log-softmax of the logits over C (EM: the logits themselves)
//	binomial     log C(N, c) + c·log σ(q) + (N − c)·log σ(−q),  N = C − 1
//	embedding    log|θ| and sign(θ), θ the values
func (in *InputLayer) table(g *nn.Graph, em bool) (t, sign *nn.Node) {
	th := g.Param(in.Logits)
	if in.kind == Embedding {
		return logAbs(th), signOf(th)
	}
	t = in.logTable(g, th, em)
	return t, nil
}

// logTable is table for the normalized families.
func (in *InputLayer) logTable(g *nn.Graph, th *nn.Node, em bool) *nn.Node {
	if in.kind == Categorical {
		if em {
			return th
		}
		return nn.LogSoftmax(th, 2)
	}
	C := in.c
	n := C - 1
	ls := logSigmoids(th)
	counts := make([]float64, 2*C) // (2, C): c and N − c
	lbinom := make([]float64, C)   // log C(N, c)
	lg := func(a int) float64 { r, _ := math.Lgamma(float64(a + 1)); return r }
	for c := range C {
		counts[c], counts[C+c] = float64(c), float64(n-c)
		lbinom[c] = lg(n) - lg(c) - lg(n-c)
	}
	t := nn.Einsum("skt,tc->skc", ls, g.Const(counts, 2, C))
	return nn.Add(t, g.Const(lbinom, 1, 1, C))
}

// logSigmoids returns log σ(q) and log σ(−q) of logits q (S, K) as the
// log-softmax of (q, 0): (S, K, 2).
func logSigmoids(q *nn.Node) *nn.Node {
	sh := q.Shape()
	return nn.LogSoftmax(nn.Stack(2, q, q.Graph().Const(make([]float64, sh[0]*sh[1]), sh[0], sh[1])), 2)
}

// leaves sums the slots of each leaf: lp (S, B, K) -> (F, B, K).
func (in *InputLayer) leaves(lp *nn.Node) *nn.Node {
	p := in.plan
	F, S := len(p.Leaves), p.NumSlots
	size := int(p.LeafOff[1] - p.LeafOff[0])
	equal := true
	for f := range F {
		equal = equal && int(p.LeafOff[f+1]-p.LeafOff[f]) == size
	}
	slots := make([]int, len(p.Slots))
	identity := len(slots) == S
	for i, s := range p.Slots {
		slots[i] = int(s)
		identity = identity && int(s) == i
	}
	sh := lp.Shape()
	if equal {
		if !identity {
			lp = nn.Gather(lp, 0, slots) // (F·size, B, K), leaf by leaf
		}
		if size == 1 {
			return lp
		}
		return nn.SumAxis(nn.Reshape(lp, F, size, sh[1], sh[2]), 1)
	}
	// Leaves of different sizes: a 0/1 matrix (F, S) sums each leaf's slots.
	m := make([]float64, F*S)
	for f := range F {
		for i := p.LeafOff[f]; i < p.LeafOff[f+1]; i++ {
			m[f*S+int(p.Slots[i])] = 1
		}
	}
	return nn.Einsum("fs,sbk->fbk", lp.Graph().Const(m, F, S), lp)
}

// leafSigns multiplies the signs of each leaf's slots: sp (S, B, K) ->
// (F, B, K). A leaf of fewer slots than the largest reads a row of ones
// (row S) in the places it lacks.
func (in *InputLayer) leafSigns(sp *nn.Node) *nn.Node {
	p := in.plan
	F, S := len(p.Leaves), p.NumSlots
	sh := sp.Shape()
	size := 0
	for f := range F {
		size = max(size, int(p.LeafOff[f+1]-p.LeafOff[f]))
	}
	if size == 1 && int(p.LeafOff[F]) == F && S == F {
		return nn.Gather(sp, 0, slotsOf(p.Slots))
	}
	ones := sp.Graph().Const(constant(sh[1]*sh[2], 1), 1, sh[1], sh[2])
	padded := nn.Concat(0, sp, ones)
	idx := make([]int, F*size)
	for f := range F {
		for i := range size {
			j := int(p.LeafOff[f]) + i
			idx[f*size+i] = S
			if j < int(p.LeafOff[f+1]) {
				idx[f*size+i] = int(p.Slots[j])
			}
		}
	}
	return signProd(nn.Reshape(nn.Gather(padded, 0, idx), F, size, sh[1], sh[2]), 1)
}

// slotsOf converts the plan's slot indices to ints.
func slotsOf[T ~int32 | ~int64 | ~int](s []T) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

// anyParam is a parameter of the layer (to anchor a node in a graph).
func (in *InputLayer) anyParam() *nn.Param {
	if in.Logits != nil {
		return in.Logits
	}
	return in.Mean
}
