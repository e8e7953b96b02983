package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/nn"
)

// This file is the reference evaluator behind the exact queries (LogProb,
// LogConditional, Sample, SampleConditional, MAP): the upward pass is the
// graph engine in float64 (every layer's Forward, or MaxForward in the
// max-product semiring), run on a float64 copy of the circuit, with every
// layer's log-values read back; the downward pass walks one induced tree
// per sample from those values, through each layer's Descent. It is the
// one float64 reference the compiled programs are tested against.

// queryRows is how many rows one upward pass holds at most: it bounds the
// evaluator's memory for large queries.
const queryRows = 256

// maxProductElems bounds, in float64 elements, the largest intermediate of
// a max-product pass (a layer's weights broadcast against its inputs), so
// that MAP runs fewer rows at a time on wide layers.
const maxProductElems = 1 << 24

// halfLog2Pi is ½·log(2π), the Gaussian log-density's constant.
var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

// refState is a circuit's reference evaluator state, kept between queries:
// its float64 copy and the upward programs compiled for it. Queries lock
// it, so one circuit answers one query at a time.
type refState struct {
	mu    sync.Mutex
	twin  *Circuit
	progs map[refKey]*nn.Program
}

type refKey struct {
	b  int
	sr semiring
}

// evaluator runs the reference passes of one query.
type evaluator struct {
	c    *Circuit // the float64 copy, with the circuit's current values
	p    *Plan
	opt  Options
	st   *refState
	in   *inputTable // nil until inputs() reads it
	done func()
}

// newEvaluator locks c's reference state and refreshes its float64 copy
// from c's current parameters. Call done when the query is over.
func newEvaluator(c *Circuit) (*evaluator, error) {
	st := &c.ref
	st.mu.Lock()
	if err := st.refresh(c); err != nil {
		st.mu.Unlock()
		return nil, err
	}
	return &evaluator{c: st.twin, p: c.plan, opt: c.opts, st: st, done: st.mu.Unlock}, nil
}

// inputs returns the input distributions in float64, read once per query
// (only the downward passes need them).
func (e *evaluator) inputs() (*inputTable, error) {
	if e.in == nil {
		t, err := newInputTable(e.c)
		if err != nil {
			return nil, err
		}
		e.in = t
	}
	return e.in, nil
}

// refresh makes (once) and updates the float64 copy of c.
func (st *refState) refresh(c *Circuit) error {
	if c.opts.DType == nn.Float64 {
		st.twin = c
		return nil
	}
	if st.twin == nil {
		t, err := c.rebuild(nn.Float64) // values are copied below
		if err != nil {
			return fmt.Errorf("circuit: a float64 copy: %w", err)
		}
		st.twin, st.progs = t, nil
	}
	src, dst := c.Params(), st.twin.Params()
	if len(src) != len(dst) {
		return fmt.Errorf("circuit: the float64 copy has %d parameters, the circuit %d", len(dst), len(src))
	}
	for i, p := range src {
		if dst[i].Name != p.Name || !slices.Equal(dst[i].Shape(), p.Shape()) {
			return fmt.Errorf("circuit: the float64 copy's parameter %s does not match the circuit's %s", dst[i].Name, p.Name)
		}
		dst[i].SetValue(p.Value())
	}
	return nil
}

// program returns the upward program of b rows in semiring sr: inputs x
// (B, V) (uint8, or float64 for Gaussian inputs) and missing (B, V);
// outputs "layer.i", layer i's log-values (F_i, B, K_i), i = 0 the input
// layer.
func (e *evaluator) program(b int, sr semiring) (*nn.Program, error) {
	k := refKey{b, sr}
	if p, ok := e.st.progs[k]; ok {
		return p, nil
	}
	g := nn.NewGraph(nn.Float64)
	var x *nn.Node
	if e.c.floatData() {
		x = g.Input("x", b, e.p.NumVars)
	} else {
		x = g.InputOf("x", nn.Uint8, b, e.p.NumVars)
	}
	missing := g.InputOf("missing", nn.Uint8, b, e.p.NumVars)
	w := newWiring(e.c, g, Graph)
	in, err := w.inputAct(x, missing, b, inputPass{}, sr)
	if err != nil {
		return nil, err
	}
	acts, err := w.pass(in, b, sr, false)
	if err != nil {
		return nil, err
	}
	for i, a := range acts {
		g.Output(fmt.Sprintf("layer.%d", i), a.logValues())
	}
	if e.c.signed() {
		root := acts[e.p.RegionLoc[e.p.Root].Layer]
		g.Output("sign.root", root.signs())
	}
	prog, err := g.Compile()
	if err != nil {
		return nil, fmt.Errorf("circuit: compile the reference pass: %w", err)
	}
	if len(e.st.progs) >= 4 {
		e.st.progs = nil // bound the memory the cache holds
	}
	if e.st.progs == nil {
		e.st.progs = map[refKey]*nn.Program{}
	}
	e.st.progs[k] = prog
	return prog, nil
}

// rows is how many rows one upward pass in sr takes.
func (e *evaluator) rows(sr semiring) int {
	if sr == sumProduct {
		return queryRows
	}
	widest := 1
	for i, l := range e.p.Layers {
		// A max over each unit's weights broadcast against its inputs:
		// (F, A, Kout, Kin) per row; Tucker's (F, Kout, Kin²); a
		// product's its own.
		w := l.F() * l.Arity * l.Kout * l.Kin
		switch m := e.c.Layers[i].(type) {
		case *TuckerLayer:
			w = l.F() * l.Kout * l.Kin * l.Kin
		case interface{ maxElems() int }:
			w = m.maxElems()
		}
		widest = max(widest, w)
	}
	return max(1, min(queryRows, maxProductElems/widest))
}

// upPass is one upward pass over rows [lo, lo+B) of an evidence.
type upPass struct {
	sr  semiring
	lo  int
	B   int
	ev  *queryData
	val [][]float64 // val[i]: layer i's log-values (F_i, B, K_i); 0 = input layer
}

// up runs the upward pass over rows [lo, lo+b) of ev in semiring sr.
func (e *evaluator) up(ev *queryData, lo, b int, sr semiring) (*upPass, error) {
	prog, err := e.program(b, sr)
	if err != nil {
		return nil, err
	}
	// Unobserved entries may hold anything (a category out of range, NaN):
	// feed zeros there, which the mask integrates out.
	V := e.p.NumVars
	miss := make([]uint8, b*V)
	feed := nn.Feed{"missing": miss}
	if ev.u8 != nil {
		x := make([]uint8, b*V)
		for i := range x {
			if ev.obs[lo*V+i] {
				x[i] = ev.u8[lo*V+i]
			} else {
				miss[i] = 1
			}
		}
		feed["x"] = x
	} else {
		x := make([]float64, b*V)
		for i := range x {
			if ev.obs[lo*V+i] {
				x[i] = ev.f64[lo*V+i]
			} else {
				miss[i] = 1
			}
		}
		feed["x"] = x
	}
	if err := prog.Run(feed); err != nil {
		return nil, err
	}
	ps := &upPass{sr: sr, lo: lo, B: b, ev: ev, val: make([][]float64, len(e.p.Layers)+1)}
	for i := range ps.val {
		out, err := prog.Output(fmt.Sprintf("layer.%d", i))
		if err != nil {
			return nil, err
		}
		ps.val[i] = out.Float64s()
	}
	if e.c.signed() {
		// A negative root value (a product of two different circuits with
		// real weights) has no logarithm: NaN.
		sign, err := prog.Output("sign.root")
		if err != nil {
			return nil, err
		}
		loc := e.p.RegionLoc[e.p.Root]
		k := e.p.Classes
		nanIfNegative(ps.val[loc.Layer][loc.Fold*b*k:(loc.Fold+1)*b*k], sign.Float64s()[loc.Fold*b*k:(loc.Fold+1)*b*k])
	}
	return ps, nil
}

// input returns fold f's a-th input row r of layer l: (Kin) log-values,
// and where it lives.
func (ps *upPass) input(l *LayerPlan, f, a, r int) (in []float64, loc Loc) {
	ref := l.Refs[f*l.Arity+a]
	loc = Loc{Layer: l.Sources[ref.Src], Fold: int(ref.Fold)}
	off := (loc.Fold*ps.B + r) * l.Kin
	return ps.val[loc.Layer][off : off+l.Kin], loc
}

// root returns the log-value of root unit c in row r of the pass.
func (ps *upPass) root(p *Plan, r, c int) float64 {
	loc := p.RegionLoc[p.Root]
	return ps.val[loc.Layer][(loc.Fold*ps.B+r)*p.Classes+c]
}

// logZ returns log Z per root unit: the sum-product value with every
// variable integrated out.
func (e *evaluator) logZ() ([]float64, error) {
	ev := &queryData{n: 1, obs: make([]bool, e.p.NumVars)}
	if e.c.floatData() {
		ev.f64 = make([]float64, e.p.NumVars)
	} else {
		ev.u8 = make([]uint8, e.p.NumVars)
	}
	ps, err := e.up(ev, 0, 1, sumProduct)
	if err != nil {
		return nil, err
	}
	z := make([]float64, e.p.Classes)
	for c := range z {
		z[c] = ps.root(e.p, 0, c)
	}
	return z, nil
}

// logLikelihood returns log c(x) − log Z per row and root unit, the
// variables not in ev.obs integrated out: (n, Classes).
func (e *evaluator) logLikelihood(ev *queryData) ([]float64, error) {
	K := e.p.Classes
	logZ, err := e.logZ()
	if err != nil {
		return nil, err
	}
	out := make([]float64, ev.n*K)
	for lo := 0; lo < ev.n; lo += queryRows {
		b := min(queryRows, ev.n-lo)
		ps, err := e.up(ev, lo, b, sumProduct)
		if err != nil {
			return nil, err
		}
		for r := range b {
			for k := range K {
				out[(lo+r)*K+k] = ps.root(e.p, r, k) - logZ[k]
			}
		}
	}
	return out, nil
}

// Downward is the downward pass of sampling or MAP as a layer's Descent
// rule sees it: Pick chooses one term of a sum, Sum combines the terms of
// a nested sum, both over log-values.
type Downward struct {
	rng *rand.Rand // nil: MAP
}

// Sampling reports whether the pass samples (true) or maximizes (MAP).
func (d *Downward) Sampling() bool { return d.rng != nil }

// Pick returns the index of the chosen term of log-terms t (at least one
// finite): drawn with probability ∝ exp(t_i) when sampling, the first
// largest for MAP. It overwrites t.
func (d *Downward) Pick(t []float64) int {
	best := 0
	for i, v := range t {
		if v > t[best] {
			best = i
		}
	}
	if d.rng == nil {
		return best
	}
	m := t[best]
	if math.IsInf(m, -1) {
		return best // unreachable from a unit of nonzero value
	}
	total := 0.0
	for i, v := range t {
		t[i] = math.Exp(v - m)
		total += t[i]
	}
	u := d.rng.Float64() * total
	cum, last := 0.0, best
	for i, p := range t {
		if p == 0 {
			continue
		}
		cum += p
		last = i
		if u < cum {
			return i
		}
	}
	return last // u fell past the rounded total
}

// Sum returns log Σ_i exp(t_i) when sampling and max_i t_i for MAP: the
// value of a sum whose terms are t, in the pass's semiring.
func (d *Downward) Sum(t []float64) float64 {
	m := math.Inf(-1)
	for _, v := range t {
		m = max(m, v)
	}
	if d.rng == nil || math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, v := range t {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// rules are every layer's descent rule for one query.
type rules struct {
	mix  []func(d *Downward, f, k int, in [][]float64) int
	prod []func(d *Downward, f, k int, in [][]float64, choice []int)
}

// descentRules collects the layers' rules, or says which layer has none.
func (c *Circuit) descentRules(t *Circuit, what string) (*rules, error) {
	r := &rules{mix: make([]func(*Downward, int, int, [][]float64) int, len(t.Layers)),
		prod: make([]func(*Downward, int, int, [][]float64, []int), len(t.Layers))}
	for i, l := range t.Layers {
		switch m := l.(type) {
		case *MixingLayer:
			r.mix[i] = m.descent()
		case Descender:
			r.prod[i] = m.Descent()
		default:
			return nil, fmt.Errorf("circuit: %s: layer %v (layers.%d, %T) does not implement circuit.Descender (Descent), which sampling and MAP need", what, c.opts.Layer, i, l)
		}
	}
	return r, nil
}

// node is a unit met on the way down: unit Unit of fold Fold of layer Layer.
type node struct{ Layer, Fold, Unit int }

// down walks one induced tree from root unit 0 for pass row r, choosing
// every sum's term with d through the layers' rules (values from ps, which
// must be a sum-product pass for sampling and a max-product pass for MAP),
// and writes the unobserved variables of dst's row dr: a sample of p_{v,k}
// at each reached input unit k (or its mode for MAP). Observed entries
// (ps.ev.obs of row ps.lo+r) are left alone.
func (e *evaluator) down(ps *upPass, r int, rl *rules, d *Downward, dst *queryData, dr int) {
	p, in := e.p, e.in // the query read e.in with inputs()
	root := p.RegionLoc[p.Root]
	stack := []node{{root.Layer, root.Fold, 0}}
	obs := ps.ev.obs[(ps.lo+r)*p.NumVars : (ps.lo+r+1)*p.NumVars]
	var ins [][]float64
	var locs []Loc
	var choice []int
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if nd.Layer == 0 {
			for idx := p.LeafOff[nd.Fold]; idx < p.LeafOff[nd.Fold+1]; idx++ {
				if v := int(p.LeafVars[idx]); !obs[v] {
					in.draw(int(p.Slots[idx]), nd.Unit, dst, dr*p.NumVars+v, d.rng)
				}
			}
			continue
		}
		i := nd.Layer - 1
		l := &p.Layers[i]
		ins, locs, choice = ins[:0], locs[:0], choice[:0]
		for a := range l.Arity {
			in, loc := ps.input(l, nd.Fold, a, r)
			ins, locs, choice = append(ins, in), append(locs, loc), append(choice, 0)
		}
		if mix := rl.mix[i]; mix != nil {
			h := mix(d, nd.Fold, nd.Unit, ins)
			stack = append(stack, node{locs[h].Layer, locs[h].Fold, nd.Unit})
			continue
		}
		rl.prod[i](d, nd.Fold, nd.Unit, ins, choice)
		for a, loc := range locs {
			stack = append(stack, node{loc.Layer, loc.Fold, choice[a]})
		}
	}
}

func logOf(w []float64) []float64 {
	if w == nil {
		return nil
	}
	l := make([]float64, len(w))
	for i, v := range w {
		l[i] = math.Log(v)
	}
	return l
}

// inputTable holds the input distributions in float64, one row per input
// slot s (Plan.Slots: the variable itself unless a variable is in several
// leaves), read from the input layer's forms (see input_forms.go): a
// discrete slot's unnormalized log-values per unit and value, a Gaussian
// slot's mean and standard deviation per unit (a product of Gaussians being
// a scaled Gaussian, whose scale a draw does not need).
type inputTable struct {
	K int
	// gauss says which slots are Gaussian; c is a discrete slot's number of
	// values and off the offset of its (K, C) block in cdf.
	gauss []bool
	c     []int
	off   []int
	// cdf is, for every discrete slot s and unit k, the running sum of
	// p_{s,k}(x) normalized over x; mode (S, K) its smallest most probable
	// value.
	cdf  []float64
	mode []uint8
	// mu and sigma (S, K) are the Gaussian slots' means and standard
	// deviations.
	mu, sigma []float64
}

// newInputTable reads c's input distributions through a float64 program
// over its input layer's forms.
func newInputTable(c *Circuit) (*inputTable, error) {
	p := c.plan
	S, K := p.NumSlots, p.InputUnits
	g := nn.NewGraph(nn.Float64)
	forms := c.Input.forms(g, false)
	for i, f := range forms {
		if f.sign != nil {
			return nil, fmt.Errorf("circuit: embedding inputs have no distributions to read (only a squared circuit takes them)")
		}
		if f.gauss {
			g.Output(fmt.Sprintf("mean.%d", i), f.mean)
			g.Output(fmt.Sprintf("log_std.%d", i), f.logStd)
		} else {
			g.Output(fmt.Sprintf("table.%d", i), f.table)
		}
	}
	prog, err := g.Compile()
	if err != nil {
		return nil, fmt.Errorf("circuit: compile the input tables: %w", err)
	}
	if err := prog.Run(nn.Feed{}); err != nil {
		return nil, err
	}
	t := &inputTable{K: K, gauss: make([]bool, S), c: make([]int, S), off: make([]int, S),
		mode: make([]uint8, S*K), mu: make([]float64, S*K), sigma: make([]float64, S*K)}
	out := func(name string, i int) ([]float64, error) {
		v, err := prog.Output(fmt.Sprintf("%s.%d", name, i))
		if err != nil {
			return nil, err
		}
		return v.Float64s(), nil
	}
	for i, f := range forms {
		if f.gauss {
			mu, err := out("mean", i)
			if err != nil {
				return nil, err
			}
			rho, err := out("log_std", i)
			if err != nil {
				return nil, err
			}
			for r, s := range f.slots {
				t.gauss[s] = true
				copy(t.mu[s*K:(s+1)*K], mu[r*K:(r+1)*K])
				for k := range K {
					t.sigma[s*K+k] = math.Exp(rho[r*K+k])
				}
			}
			continue
		}
		lp, err := out("table", i)
		if err != nil {
			return nil, err
		}
		C := f.table.Shape()[2]
		for r, s := range f.slots {
			t.c[s], t.off[s] = C, len(t.cdf)
			for k := range K {
				row := lp[(r*K+k)*C : (r*K+k+1)*C]
				best, m := 0, math.Inf(-1)
				for x, l := range row {
					if l > row[best] {
						best = x
					}
					m = max(m, l)
				}
				t.mode[s*K+k] = uint8(best)
				// Normalize: a product's table sums to its integral.
				sum := 0.0
				for _, l := range row {
					sum += math.Exp(l - m)
					t.cdf = append(t.cdf, sum)
				}
				cdf := t.cdf[len(t.cdf)-C:]
				for x := range cdf {
					cdf[x] /= sum
				}
			}
		}
	}
	return t, nil
}

// draw writes a sample of p_{s,k} (with rng) or its mode (rng nil) into
// entry i of dst: the mean of a Gaussian, the smallest most probable value
// of a discrete slot (a category is written as a float in float data).
func (t *inputTable) draw(s, k int, dst *queryData, i int, rng *rand.Rand) {
	j := s*t.K + k
	if t.gauss[s] {
		if rng == nil {
			dst.f64[i] = t.mu[j]
		} else {
			dst.f64[i] = t.mu[j] + t.sigma[j]*rng.NormFloat64()
		}
		return
	}
	v := t.mode[j]
	if rng != nil {
		// Inverse CDF over c = 0..C-1; cdf ends at 1 up to rounding, so
		// scale u by the stored total.
		C := t.c[s]
		cdf := t.cdf[t.off[s]+k*C : t.off[s]+(k+1)*C]
		u := rng.Float64() * cdf[C-1]
		prev, last := 0.0, 0
		for c, cum := range cdf {
			if cum > prev { // skip values of probability 0
				last = c
				if u < cum {
					break
				}
			}
			prev = cum
		}
		v = uint8(last)
	}
	if dst.u8 != nil {
		dst.u8[i] = v
	} else {
		dst.f64[i] = float64(v)
	}
}

// queryData is a query's data: n rows of V variables, as uint8 categories
// (u8) or float64 Gaussian values (f64), and obs, true where a value is
// known (observed, not integrated out or maximized over).
type queryData struct {
	n   int
	u8  []uint8
	f64 []float64
	obs []bool
}

// newEvidence validates a query's data and masks and wraps them: x is
// []uint8 (discrete inputs) or []float64 (Gaussian inputs) with n·V entries;
// obs (n·V) says which entries are observed. Only observed entries are
// checked (categories in range, Gaussian values finite); the others may hold
// anything.
func (c *Circuit) newEvidence(x any, obs []bool, what string) (*queryData, error) {
	V := c.plan.NumVars
	ev := &queryData{obs: obs}
	var n int
	switch xs := x.(type) {
	case []uint8:
		if c.floatData() {
			return nil, c.dataKindError(what)
		}
		ev.u8, n = xs, len(xs)
	case []float64:
		if !c.floatData() {
			return nil, c.dataKindError(what)
		}
		ev.f64, n = xs, len(xs)
	default:
		return nil, fmt.Errorf("circuit: %s: unsupported data type %T", what, x)
	}
	if n%V != 0 {
		return nil, fmt.Errorf("circuit: %s: x has %d entries, not a multiple of %d variables", what, n, V)
	}
	ev.n = n / V
	if len(obs) != n {
		return nil, fmt.Errorf("circuit: %s: mask has %d entries, want %d (the shape of x)", what, len(obs), n)
	}
	for i, o := range obs {
		if !o {
			continue
		}
		if ev.u8 != nil && int(ev.u8[i]) >= c.opts.Values {
			return nil, fmt.Errorf("circuit: %s: %w", what, &kernel.InputDataError{Sample: i / V, Variable: i % V,
				Value: float64(ev.u8[i]), Reason: fmt.Sprintf("outside 0..%d", c.opts.Values-1)})
		}
		if ev.f64 != nil && (math.IsNaN(ev.f64[i]) || math.IsInf(ev.f64[i], 0)) {
			return nil, fmt.Errorf("circuit: %s: %w", what, &kernel.InputDataError{Sample: i / V, Variable: i % V,
				Value: ev.f64[i], Reason: "not finite"})
		}
		if ev.f64 != nil && c.mixed() {
			if err := c.opts.Columns[i%V].check(ev.f64[i]); err != "" {
				return nil, fmt.Errorf("circuit: %s: %w", what, &kernel.InputDataError{Sample: i / V, Variable: i % V, Value: ev.f64[i], Reason: err})
			}
		}
	}
	return ev, nil
}
