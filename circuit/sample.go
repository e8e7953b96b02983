package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Sampling is ancestral, top-down, and exact for every parameterization
// (clamp and exp circuits are unnormalized, so weights alone are not
// probabilities). An upward sum-product pass gives every unit's value v(·)
// with the unobserved variables integrated out; then, from root unit 0,
// each sum picks one term with probability ∝ weight × value of what it
// multiplies:
//
//	CP, CP-XS, CP-S  per input a, independently: j ∝ W[wf,a,k,j]·v(in_a,j)
//	CP-R             r ∝ O[f,k,r]·∏_a Σ_j U[f,a,r,j]·v(in_a,j), then per input
//	                 a: j ∝ U[f,a,r,j]·v(in_a,j)
//	Tucker           (i, j) ∝ W[f,k,i·Kin+j]·v(in_1,i)·v(in_2,j)
//	mixing           h ∝ w[f,h,k]·v(in_h,k)
//
// and every input unit k reached draws its unobserved variables from
// p_{v,k}. By decomposability each variable is reached exactly once. The
// draws are a sample of p(x) (no evidence) or p(x_u | x_o) (evidence x_o
// entering the upward pass). Randomness comes only from the given
// *rand.Rand, consumed row by row: same seed, same samples.

// Sample draws n samples of p(x) (circuits with one root unit): (n, V)
// categories.
func (c *Circuit) Sample(n int, rng *rand.Rand) ([]uint8, error) {
	x, err := c.sample(n, rng, false, "Sample")
	if err != nil {
		return nil, err
	}
	return x.u8, nil
}

// SampleFloat is Sample for Gaussian inputs.
func (c *Circuit) SampleFloat(n int, rng *rand.Rand) ([]float64, error) {
	x, err := c.sample(n, rng, true, "SampleFloat")
	if err != nil {
		return nil, err
	}
	return x.f64, nil
}

func (c *Circuit) sample(n int, rng *rand.Rand, float bool, what string) (*queryData, error) {
	if err := c.checkDownward(rng, true, what); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("circuit: %s: n = %d samples, want ≥ 0", what, n)
	}
	if c.floatData() != float {
		return nil, c.dataKindError(what)
	}
	if c.squared() {
		ev := &queryData{n: n, obs: make([]bool, n*c.plan.NumVars)}
		if float {
			ev.f64 = make([]float64, n*c.plan.NumVars)
		} else {
			ev.u8 = make([]uint8, n*c.plan.NumVars)
		}
		return c.sampleSquared(ev, rng, what)
	}
	V := c.plan.NumVars
	// One upward pass serves every sample: nothing is observed.
	marg := &queryData{n: 1, obs: make([]bool, V)}
	dst := &queryData{n: n, obs: make([]bool, n*V)}
	if c.floatData() {
		marg.f64, dst.f64 = make([]float64, V), make([]float64, n*V)
	} else {
		marg.u8, dst.u8 = make([]uint8, V), make([]uint8, n*V)
	}
	e, err := newEvaluator(c)
	if err != nil {
		return nil, err
	}
	defer e.done()
	rl, err := c.descentRules(e.c, what)
	if err != nil {
		return nil, err
	}
	if _, err := e.inputs(); err != nil {
		return nil, err
	}
	ps, err := e.up(marg, 0, 1, sumProduct)
	if err != nil {
		return nil, err
	}
	if v := ps.root(e.p, 0, 0); math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, fmt.Errorf("circuit: %s: partition function is %v", what, math.Exp(v))
	}
	d := &Downward{rng: rng}
	for b := range n {
		e.down(ps, 0, rl, d, dst, b)
	}
	return dst, nil
}

// SampleConditional completes every row of x (n, V): the entries marked in
// observed (n, V) keep their values, the others are drawn exactly from
// p(x_u | x_o) of that row (one draw per row; repeat rows for several
// draws). It returns a new (n, V) slice; x is not modified, and its
// unobserved entries are ignored. A row whose evidence has probability 0 is
// an error.
func (c *Circuit) SampleConditional(x []uint8, observed []bool, rng *rand.Rand) ([]uint8, error) {
	out, err := c.sampleConditional(x, observed, rng, "SampleConditional")
	if err != nil {
		return nil, err
	}
	return out.u8, nil
}

// SampleConditionalFloat is SampleConditional for Gaussian inputs.
func (c *Circuit) SampleConditionalFloat(x []float64, observed []bool, rng *rand.Rand) ([]float64, error) {
	out, err := c.sampleConditional(x, observed, rng, "SampleConditionalFloat")
	if err != nil {
		return nil, err
	}
	return out.f64, nil
}

func (c *Circuit) sampleConditional(x any, observed []bool, rng *rand.Rand, what string) (*queryData, error) {
	if err := c.checkDownward(rng, true, what); err != nil {
		return nil, err
	}
	ev, err := c.newEvidence(x, observed, what)
	if err != nil {
		return nil, err
	}
	if c.squared() {
		return c.sampleSquared(ev, rng, what)
	}
	return c.complete(ev, sumProduct, &Downward{rng: rng}, what, nil)
}

// complete runs the upward pass in semiring sr over ev in chunks of rows,
// and one downward pass per row, into a copy of ev's data. It fails on a
// row whose root value is not finite and > 0. With values non-nil, it
// stores each row's root log-value there, less log Z.
func (c *Circuit) complete(ev *queryData, sr semiring, d *Downward, what string, values []float64) (*queryData, error) {
	dst := &queryData{n: ev.n, obs: ev.obs}
	if ev.u8 != nil {
		dst.u8 = append([]uint8(nil), ev.u8...)
	} else {
		dst.f64 = append([]float64(nil), ev.f64...)
	}
	e, err := newEvaluator(c)
	if err != nil {
		return nil, err
	}
	defer e.done()
	rl, err := c.descentRules(e.c, what)
	if err != nil {
		return nil, err
	}
	if _, err := e.inputs(); err != nil {
		return nil, err
	}
	logZ := 0.0
	if values != nil {
		z, err := e.logZ()
		if err != nil {
			return nil, err
		}
		logZ = z[0]
	}
	step := e.rows(sr)
	for lo := 0; lo < ev.n; lo += step {
		b := min(step, ev.n-lo)
		ps, err := e.up(ev, lo, b, sr)
		if err != nil {
			return nil, err
		}
		for r := range b {
			v := ps.root(e.p, r, 0)
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("circuit: %s: sample %d: the evidence has circuit value %v (log %v); nothing to complete from", what, lo+r, math.Exp(v), v)
			}
			if values != nil {
				values[lo+r] = v - logZ
			}
			e.down(ps, r, rl, d, dst, lo+r)
		}
	}
	return dst, nil
}

// checkDownward checks what every downward query needs: one root unit,
// for sampling a source of randomness, and layers that implement what the
// pass runs (Descender; MaxProduct for MAP).
func (c *Circuit) checkDownward(rng *rand.Rand, sampling bool, what string) error {
	if c.plan.Classes != 1 {
		return fmt.Errorf("circuit: %s needs a circuit with one root unit, this one has %d (Classes)", what, c.plan.Classes)
	}
	if sampling && rng == nil {
		return fmt.Errorf("circuit: %s: rng is nil", what)
	}
	switch {
	case c.squared() && !sampling:
		return fmt.Errorf("circuit: %s: a squared circuit (real weights) has no max-product pass: a maximum of c(x)² is not a maximum of c(x), whose terms have either sign", what)
	case c.squared():
		return c.checkSquaredSampling(what)
	case c.signed():
		return fmt.Errorf("circuit: %s: the circuit has real weights (a product of a squared circuit): a downward pass needs non-negative weights; sample the squared circuit itself", what)
	}
	for i, l := range c.Layers {
		if _, ok := l.(*MixingLayer); ok {
			continue
		}
		if _, ok := l.(Descender); !ok {
			return fmt.Errorf("circuit: %s: layer %v (layers.%d, %T) does not implement circuit.Descender (Descent), which sampling and MAP need", what, c.opts.Layer, i, l)
		}
		if _, ok := l.(MaxProduct); !ok && !sampling {
			return fmt.Errorf("circuit: %s: layer %v (layers.%d, %T) does not implement circuit.MaxProduct (MaxForward), which MAP needs", what, c.opts.Layer, i, l)
		}
	}
	return nil
}

func (c *Circuit) dataKindError(what string) error {
	if c.mixed() {
		return fmt.Errorf("circuit: %s: mixed inputs take []float64 data, a category as its index (use the …Float query)", what)
	}
	if c.floatData() {
		return fmt.Errorf("circuit: %s: Gaussian inputs take []float64 data (use the …Float query)", what)
	}
	return fmt.Errorf("circuit: %s: %v inputs take []uint8 data (use the query without Float)", what, c.opts.Input)
}
