package circuit

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/nn"
)

// An input layer's distributions, as graph nodes, in one of two forms that
// every input family and every product of them reduces to:
//
//   - a discrete table (S, K, C): the log-value of slot s, unit k at each
//     value c. Categorical, Bernoulli and binomial units are normalized
//     tables; the product of two discrete units is the table
//     log p_i(c) + log q_j(c), whose integral is log Σ_c p_i(c) q_j(c).
//   - a scaled Gaussian: log-scale, mean and log-std (S, K), the log-value
//     at x being logscale + log N(x; mean, std). A Gaussian unit has scale 1;
//     the product of two is again one,
//
//	N(x; μ₁, σ₁) N(x; μ₂, σ₂) = N(μ₁; μ₂, √(σ₁² + σ₂²)) · N(x; μ, σ),
//	σ² = σ₁²σ₂² / (σ₁² + σ₂²),   μ = (μ₁σ₂² + μ₂σ₁²) / (σ₁² + σ₂²),
//
//     so its integral is the scale.
//
// Embedding units are tables too, of log-magnitudes, with a sign table
// beside them: not normalized, and their product's signs multiply.
//
// A unit's value at an observed variable is the form's log-value there; at
// a missing one, its integral over the variable (0 for normalized units);
// in the max-product semiring, its largest value over the variable.

// inputForm is one form over a set of the layer's slots.
type inputForm struct {
	// slots are the slots the form covers (increasing), one row each.
	slots []int
	// gauss selects the scaled-Gaussian form; otherwise table is set.
	gauss bool
	// table is (S_f, K, C) log-values; normalized when every row of
	// exp(table) sums to 1 (the integral is then 0 and is not computed).
	table      *nn.Node
	normalized bool
	// sign is the table's signs (S_f, K, C), nil when every value is
	// positive.
	sign *nn.Node
	// logScale (nil: 0), mean and logStd are (S_f, K).
	logScale, mean, logStd *nn.Node
}

// forms returns the layer's distributions as forms covering every slot;
// em reads categorical logits as log-probabilities (EM keeps them so).
func (in *InputLayer) forms(g *nn.Graph, em bool) []inputForm {
	switch {
	case in.Factors != nil:
		return in.productForms(g, em)
	case in.Groups != nil:
		var fs []inputForm
		for _, gr := range in.Groups {
			fs = append(fs, gr.forms(g, em)...)
		}
		return fs
	}
	f := inputForm{slots: in.slotList()}
	if in.kind == Gaussian {
		f.gauss, f.mean, f.logStd = true, g.Param(in.Mean), g.Param(in.LogStd)
	} else {
		f.table, f.sign = in.table(g, em)
		f.normalized = f.sign == nil
	}
	return []inputForm{f}
}

// slotList is the slots of a single-family layer: its group's, or all.
func (in *InputLayer) slotList() []int {
	if in.slots != nil {
		return in.slots
	}
	s := make([]int, in.plan.NumSlots)
	for i := range s {
		s[i] = i
	}
	return s
}

// productForms pairs the forms of the two factors slot by slot: slot s of
// the product is slot s of Factors[0] and slot bSlot[s] of Factors[1]; a
// product form covers the slots whose two factors' forms are the same two.
// Unit i·K_b + j of the product is unit i of the first factor times unit j
// of the second.
func (in *InputLayer) productForms(g *nn.Graph, em bool) []inputForm {
	fa, fb := in.Factors[0].forms(g, em), in.Factors[1].forms(g, em)
	type where struct{ form, row int }
	inB := map[int]where{}
	for j, f := range fb {
		for r, s := range f.slots {
			inB[s] = where{j, r}
		}
	}
	var out []inputForm
	for _, a := range fa {
		// The slots of a, split by the form of their partner in b.
		rowsA, rowsB, slots := make([][]int, len(fb)), make([][]int, len(fb)), make([][]int, len(fb))
		for r, s := range a.slots {
			w := inB[in.bSlot[s]]
			rowsA[w.form] = append(rowsA[w.form], r)
			rowsB[w.form] = append(rowsB[w.form], w.row)
			slots[w.form] = append(slots[w.form], s)
		}
		for j, b := range fb {
			if len(slots[j]) == 0 {
				continue
			}
			if a.gauss != b.gauss {
				panic(fmt.Sprintf("circuit: product input: slot %d pairs a Gaussian with a discrete unit", slots[j][0]))
			}
			out = append(out, multiplyForms(a, b, rowsA[j], rowsB[j], slots[j]))
		}
	}
	return out
}

// multiplyForms is the product of rows rowsA of form a and rows rowsB of
// form b, covering slots:
//
//	tables  (S', Ka, C) ⊗ (S', Kb, C) -> (S', Ka·Kb, C) = ta[s, i, c] + tb[s, j, c]
//	Gaussians (S', Ka) ⊗ (S', Kb) -> (S', Ka·Kb) by the product rule above
func multiplyForms(a, b inputForm, rowsA, rowsB, slots []int) inputForm {
	pick := func(n *nn.Node, rows []int) *nn.Node {
		if n == nil || isRange(rows, n.Shape()[0]) {
			return n
		}
		return nn.Gather(n, 0, rows)
	}
	s := len(slots)
	out := inputForm{slots: slots, gauss: a.gauss}
	if !a.gauss {
		ta, tb := pick(a.table, rowsA), pick(b.table, rowsB)
		ka, kb, c := ta.Shape()[1], tb.Shape()[1], ta.Shape()[2]
		if tb.Shape()[2] != c {
			panic(fmt.Sprintf("circuit: product input: tables of %d and %d values", c, tb.Shape()[2]))
		}
		t := nn.Add(nn.Reshape(ta, s, ka, 1, c), nn.Reshape(tb, s, 1, kb, c))
		out.table = nn.Reshape(t, s, ka*kb, c)
		if sa, sb := pick(a.sign, rowsA), pick(b.sign, rowsB); sa != nil || sb != nil {
			g := ta.Graph()
			if sa == nil {
				sa = g.Const(constant(s*ka*c, 1), s, ka, c)
			}
			if sb == nil {
				sb = g.Const(constant(s*kb*c, 1), s, kb, c)
			}
			out.sign = nn.Reshape(nn.Mul(nn.Reshape(sa, s, ka, 1, c), nn.Reshape(sb, s, 1, kb, c)), s, ka*kb, c)
		}
		return out
	}
	ma, ra := pick(a.mean, rowsA), pick(a.logStd, rowsA)
	mb, rb := pick(b.mean, rowsB), pick(b.logStd, rowsB)
	ka, kb := ma.Shape()[1], mb.Shape()[1]
	g := ma.Graph()
	col := func(n *nn.Node) *nn.Node { return nn.Reshape(n, s, ka, 1) }
	row := func(n *nn.Node) *nn.Node { return nn.Reshape(n, s, 1, kb) }
	va, vb := nn.Exp(nn.Scale(col(ra), 2)), nn.Exp(nn.Scale(row(rb), 2)) // σ₁², σ₂²
	v := nn.Add(va, vb)                                                  // (S', Ka, Kb)
	logV := nn.Log(v)
	mean := nn.Div(nn.Add(nn.Mul(col(ma), vb), nn.Mul(row(mb), va)), v)
	logStd := nn.Sub(nn.Add(col(ra), row(rb)), nn.Scale(logV, 0.5))
	d := nn.Sub(col(ma), row(mb))
	// log N(μ₁; μ₂, √v) = −½ log 2π − ½ log v − ½ (μ₁ − μ₂)² / v
	logScale := nn.Neg(nn.Add(nn.Add(nn.Scale(logV, 0.5), nn.Scale(nn.Div(nn.Square(d), v), 0.5)), g.Const([]float64{halfLog2Pi}, 1, 1, 1)))
	if la, lb := pick(a.logScale, rowsA), pick(b.logScale, rowsB); la != nil || lb != nil {
		if la != nil {
			logScale = nn.Add(logScale, col(la))
		}
		if lb != nil {
			logScale = nn.Add(logScale, row(lb))
		}
	}
	flat := func(n *nn.Node) *nn.Node { return nn.Reshape(n, s, ka*kb) }
	out.mean, out.logStd, out.logScale = flat(mean), flat(logStd), flat(logScale)
	return out
}

// inputPass selects how an input layer's pass reads its parameters: em
// (categorical logits as log-probabilities), train (a training program's),
// max (the max-product semiring) and soften (Softened's β; 0: off).
type inputPass struct {
	em, train, max bool
	soften         float64
}

// forward builds the leaves' log-values from the forms, with the variables
// marked in missing integrated out (max: maximized over), and their signs
// (nil when every form is positive):
//
//	x (B, V), missing (B, V) -> per form (S_f, B, K) -> (S, B, K) in slot order -> (F, B, K) per leaf
func (in *InputLayer) forward(x, missing *nn.Node, m inputPass) (lp, sign *nn.Node) {
	g := x.Graph()
	forms := in.forms(g, m.em)
	parts, signs := make([]*nn.Node, len(forms)), make([]*nn.Node, len(forms))
	var order []int
	signed := false
	for i, f := range forms {
		if softens(m.soften) && f.table != nil && f.normalized {
			f.table = softenLogits(f.table, m.soften)
		}
		parts[i], signs[i] = in.evalForm(f, x, missing, m.max)
		order = append(order, f.slots...)
		signed = signed || signs[i] != nil
	}
	if signed {
		for i, sp := range signs {
			if sp == nil {
				sh := parts[i].Shape()
				signs[i] = g.Const(constant(sh[0]*sh[1]*sh[2], 1), sh...)
			}
		}
	}
	cat := func(ns []*nn.Node) *nn.Node {
		if len(ns) > 1 {
			return nn.Concat(0, ns...)
		}
		return ns[0]
	}
	lp = cat(parts)
	if signed {
		sign = cat(signs)
	}
	if !isRange(order, len(order)) {
		pos := make([]int, len(order)) // slot s is row pos[s] of lp
		for r, s := range order {
			pos[s] = r
		}
		lp = nn.Gather(lp, 0, pos)
		if signed {
			sign = nn.Gather(sign, 0, pos)
		}
	}
	if signed {
		sign = in.leafSigns(sign)
	}
	return in.leaves(lp), sign
}

// evalForm is one form's log-values at the data, (S_f, B, K), and their
// signs (nil: positive). missing is a uint8 mask, or a float one (the
// partition function's constant input).
func (in *InputLayer) evalForm(f inputForm, x, missing *nn.Node, max bool) (lp, sign *nn.Node) {
	g := x.Graph()
	b := x.Shape()[0]
	cols := in.plan.slotCols(f.slots)
	s := len(f.slots)
	var mode, integral, isign *nn.Node // each (S_f, 1, K), or nil
	if f.gauss {
		k := f.mean.Shape()[1]
		xs := nn.Reshape(nn.Transpose(gatherCols(x, cols), 1, 0), s, b, 1)
		mu := nn.Reshape(f.mean, s, 1, k)
		rho := nn.Reshape(f.logStd, s, 1, k)
		z := nn.Mul(nn.Sub(xs, mu), nn.Exp(nn.Neg(rho)))
		mode = nn.Neg(nn.Add(rho, g.Const([]float64{halfLog2Pi}, 1, 1, 1)))
		if f.logScale != nil {
			integral = nn.Reshape(f.logScale, s, 1, k)
			mode = nn.Add(mode, integral)
		}
		lp = nn.Sub(mode, nn.Scale(nn.Square(z), 0.5))
	} else {
		k := f.table.Shape()[1]
		lp = lookup(f.table, x, cols)
		switch {
		case f.sign != nil && max:
			panic("circuit: the max-product semiring on signed inputs (a squared circuit has no MAP)")
		case f.sign != nil:
			sign = lookup(f.sign, x, cols)
			// Σ_c θ(c), in signed log-space.
			e, m := shiftedSigned(f.table, f.sign, 2)
			z := nn.SumAxis(e, 2)
			integral = nn.Reshape(nn.Add(logAbs(z), nn.Reshape(m, s, k)), s, 1, k)
			isign = nn.Reshape(signOf(z), s, 1, k)
		default:
			mode = nn.Reshape(nn.MaxAxis(f.table, 2), s, 1, k)
			if !f.normalized {
				integral = nn.Reshape(nn.LogSumExp(f.table, 2), s, 1, k)
			}
		}
	}
	if missing.DType() != g.DType() {
		missing = nn.ToFloat(missing)
	}
	miss := nn.Reshape(nn.Transpose(gatherCols(missing, cols), 1, 0), s, b, 1)
	obs := nn.Sub(g.Const([]float64{1}, 1, 1, 1), miss)
	lp = nn.Mul(lp, obs)
	switch {
	case max:
		lp = nn.Add(lp, nn.Mul(miss, mode))
	case integral != nil:
		lp = nn.Add(lp, nn.Mul(miss, integral))
	}
	if sign != nil {
		// miss is 0 or 1: the observed value's sign or the integral's.
		sign = nn.Add(nn.Mul(sign, obs), nn.Mul(miss, isign))
	}
	return lp, sign
}

// lookup reads a discrete table at the data: table (S_f, K, C), x (B, V)
// category data (uint8, or floats holding whole numbers for mixed inputs),
// cols the data column of each row (nil: row s is column s) -> (S_f, B, K).
func lookup(table, x *nn.Node, cols []int) *nn.Node {
	if x.DType() == nn.Uint8 {
		return nn.Lookup(table, 2, x, cols)
	}
	return lookupFloat(table, x, cols)
}

// slotCols is the data column of each slot in slots, nil when slots are
// every variable in order (slot s is variable s).
func (p *Plan) slotCols(slots []int) []int {
	if p.NumSlots == p.NumVars && isRange(slots, p.NumVars) {
		return nil
	}
	cols := make([]int, len(slots))
	for i, s := range slots {
		cols[i] = p.slotVar(s)
	}
	return cols
}

// slotVar is the variable of slot s.
func (p *Plan) slotVar(s int) int {
	if p.NumSlots == p.NumVars {
		return s
	}
	return int(p.LeafVars[s])
}

// slotOf returns the slot of variable v in leaf fold f.
func (p *Plan) slotOf(f, v int) int {
	for i := p.LeafOff[f]; i < p.LeafOff[f+1]; i++ {
		if int(p.LeafVars[i]) == v {
			return int(p.Slots[i])
		}
	}
	panic(fmt.Sprintf("circuit: variable %d is not in leaf %d", v, f))
}

// lookupFloat is nn.Lookup for category data held in floats (the data of
// a circuit with mixed inputs, whose Gaussian columns need floats): table
// (S, K, C), x (B, V) floats, cols the column of each row (nil: row s is
// column s) -> (S, B, K), out[s, b, :] = table[s, :, x[b, cols[s]]]. An
// entry that is not a category in [0, C) (a missing value, which the mask
// integrates out) reads category 0.
func lookupFloat(table, x *nn.Node, cols []int) *nn.Node {
	ts, xs := table.Shape(), x.Shape()
	if cols == nil {
		cols = make([]int, ts[0])
		for i := range cols {
			cols[i] = i
		}
	}
	return nn.Apply(&lookupFloatOp{s: ts[0], k: ts[1], c: ts[2], b: xs[0], v: xs[1], cols: cols}, table, x)
}

type lookupFloatOp struct {
	s, k, c, b, v int
	cols          []int
}

func (o *lookupFloatOp) Name() string { return fmt.Sprintf("LookupFloat(%d×%d×%d)", o.s, o.k, o.c) }
func (o *lookupFloatOp) OutShape(in [][]int) ([]int, error) {
	if len(in[0]) != 3 || len(in[1]) != 2 || in[1][1] != o.v {
		return nil, fmt.Errorf("want table (S, K, C) and x (B, %d), got %v and %v", o.v, in[0], in[1])
	}
	return []int{o.s, o.b, o.k}, nil
}
func (o *lookupFloatOp) DiffWRT(i int) bool { return i == 0 }

// category is the table column that sample b reads in row s.
func (o *lookupFloatOp) category(x float64) int {
	if c := int(x); x >= 0 && x < float64(o.c) && float64(c) == x && !math.IsNaN(x) {
		return c
	}
	return 0
}

func (o *lookupFloatOp) Forward(in []nn.Buf, out nn.Buf) {
	if out.F64 != nil {
		lookupFloatRun(o, in[0].F64, in[1].F64, out.F64, false)
		return
	}
	lookupFloatRun(o, in[0].F32, in[1].F32, out.F32, false)
}

func (o *lookupFloatOp) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	if g.F64 != nil {
		lookupFloatRun(o, dIn[0].F64, in[1].F64, g.F64, true)
		return
	}
	lookupFloatRun(o, dIn[0].F32, in[1].F32, g.F32, true)
}

// lookupFloatRun copies table entries into y (forward), or adds y into
// the table entries it was read from (backward, table being the gradient).
func lookupFloatRun[T kernel.Float](o *lookupFloatOp, table, x, y []T, backward bool) {
	for s, col := range o.cols {
		for b := range o.b {
			c := o.category(float64(x[b*o.v+col]))
			for k := range o.k {
				t, v := (s*o.k+k)*o.c+c, (s*o.b+b)*o.k+k
				if backward {
					table[t] += y[v]
				} else {
					y[v] = table[t]
				}
			}
		}
	}
}
