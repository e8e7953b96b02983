package circuit

import (
	"fmt"
)

// Exact queries on a circuit, computed in float64 by the reference
// evaluator (see query_eval.go): likelihoods with missing variables,
// conditionals, samples (sample.go) and MAP completions (map.go). They read
// the circuit's current parameters at every call.
//
// Data are (n, V) row-major: []uint8 categories for categorical, Bernoulli
// and binomial inputs (the plain names), []float64 values for Gaussian
// inputs (the …Float names). Masks have the shape of the data. With several
// root units (Options.Classes), likelihood queries return n·Classes values,
// row-major, one per root unit, like Program.LogLikelihood.

// LogProb returns log p(x_b) (natural log, normalized: log c(x) − log Z)
// for every row of x (n, V), with the variables marked in missing (nil:
// none; otherwise (n, V)) integrated out exactly. It is the reference path;
// Program.LogLikelihood is the fast one. The result has n·Classes entries.
func (c *Circuit) LogProb(x []uint8, missing []bool) ([]float64, error) {
	return c.logProb(x, missing, "LogProb")
}

// LogProbFloat is LogProb for Gaussian inputs: log-densities, a missing
// variable's Gaussian integrating to 1.
func (c *Circuit) LogProbFloat(x []float64, missing []bool) ([]float64, error) {
	return c.logProb(x, missing, "LogProbFloat")
}

func (c *Circuit) logProb(x any, missing []bool, what string) ([]float64, error) {
	if c.squared() {
		return c.onSquare(func(sq *Circuit) ([]float64, error) { return sq.logProb(x, missing, what) })
	}
	n, err := c.rowsOf(x, what)
	if err != nil {
		return nil, err
	}
	obs := make([]bool, n*c.plan.NumVars)
	if missing != nil && len(missing) != len(obs) {
		return nil, fmt.Errorf("circuit: %s: missing has %d entries, want %d (the shape of x)", what, len(missing), len(obs))
	}
	for i := range obs {
		obs[i] = missing == nil || !missing[i]
	}
	ev, err := c.newEvidence(x, obs, what)
	if err != nil {
		return nil, err
	}
	e, err := newEvaluator(c)
	if err != nil {
		return nil, err
	}
	defer e.done()
	return e.logLikelihood(ev)
}

// LogPosterior returns log p(y | x_o) for every row of x (n, V) and class
// y of a class-conditional circuit (n·Classes values, row-major): the
// root units' likelihoods p(x_o | y) (LogProb, the variables marked in
// missing integrated out) normalized over the classes, under a uniform
// class prior.
func (c *Circuit) LogPosterior(x []uint8, missing []bool) ([]float64, error) {
	lp, err := c.LogProb(x, missing)
	if err != nil {
		return nil, err
	}
	normalizeRows(lp, c.plan.Classes)
	return lp, nil
}

// LogConditional returns log p(x_q | x_e) = log p(x_q, x_e) − log p(x_e)
// for every row of x (n, V), where query and evidence ((n, V) each, disjoint)
// mark the variables of q and e; variables in neither are integrated out. An
// empty evidence gives the marginal log p(x_q). Rows whose evidence has
// probability 0 give NaN. The result has n·Classes entries.
func (c *Circuit) LogConditional(x []uint8, query, evidence []bool) ([]float64, error) {
	return c.logConditional(x, query, evidence, "LogConditional")
}

// LogConditionalFloat is LogConditional for Gaussian inputs (log-densities).
func (c *Circuit) LogConditionalFloat(x []float64, query, evidence []bool) ([]float64, error) {
	return c.logConditional(x, query, evidence, "LogConditionalFloat")
}

func (c *Circuit) logConditional(x any, query, evidence []bool, what string) ([]float64, error) {
	if c.squared() {
		return c.onSquare(func(sq *Circuit) ([]float64, error) { return sq.logConditional(x, query, evidence, what) })
	}
	n, err := c.rowsOf(x, what)
	if err != nil {
		return nil, err
	}
	joint, marg, err := conditionalMasks(query, evidence, n*c.plan.NumVars, c.plan.NumVars, what)
	if err != nil {
		return nil, err
	}
	evJ, err := c.newEvidence(x, joint, what)
	if err != nil {
		return nil, err
	}
	evE := &queryData{n: evJ.n, u8: evJ.u8, f64: evJ.f64, obs: marg}
	e, err := newEvaluator(c)
	if err != nil {
		return nil, err
	}
	defer e.done()
	lj, err := e.logLikelihood(evJ)
	if err != nil {
		return nil, err
	}
	le, err := e.logLikelihood(evE)
	if err != nil {
		return nil, err
	}
	for i := range lj {
		lj[i] -= le[i]
	}
	return lj, nil
}

// onSquare answers a query of a squared circuit on its square c·c, whose
// root units y·C + y are the squares of c's C root units: it runs q on the
// square and keeps those units of its n·C² results.
func (c *Circuit) onSquare(q func(sq *Circuit) ([]float64, error)) ([]float64, error) {
	sq, err := c.square()
	if err != nil {
		return nil, err
	}
	v, err := q(sq)
	if err != nil {
		return nil, err
	}
	k := c.plan.Classes
	if k == 1 {
		return v, nil
	}
	n := len(v) / (k * k)
	out := make([]float64, n*k)
	for i := range n {
		for y := range k {
			out[i*k+y] = v[i*k*k+y*k+y]
		}
	}
	return out, nil
}

// conditionalMasks checks query and evidence (len n each, disjoint) and
// returns the observed masks of the joint (q ∪ e) and of the evidence.
func conditionalMasks(query, evidence []bool, n, V int, what string) (joint, ev []bool, err error) {
	if len(query) != n {
		return nil, nil, fmt.Errorf("circuit: %s: query has %d entries, want %d (the shape of x)", what, len(query), n)
	}
	if len(evidence) != n {
		return nil, nil, fmt.Errorf("circuit: %s: evidence has %d entries, want %d (the shape of x)", what, len(evidence), n)
	}
	joint = make([]bool, n)
	for i := range joint {
		if query[i] && evidence[i] {
			return nil, nil, fmt.Errorf("circuit: %s: sample %d, variable %d is in both query and evidence", what, i/V, i%V)
		}
		joint[i] = query[i] || evidence[i]
	}
	return joint, evidence, nil
}

// rowsOf returns the number of rows of x ([]uint8 or []float64).
func (c *Circuit) rowsOf(x any, what string) (int, error) {
	var n int
	switch xs := x.(type) {
	case []uint8:
		n = len(xs)
	case []float64:
		n = len(xs)
	default:
		return 0, fmt.Errorf("circuit: %s: unsupported data type %T", what, x)
	}
	if v := c.plan.NumVars; n%v != 0 {
		return 0, fmt.Errorf("circuit: %s: x has %d entries, not a multiple of %d variables", what, n, v)
	}
	return n / c.plan.NumVars, nil
}

// LogConditional is the compiled program's log p(x_q | x_e) = log p(x_q,
// x_e) − log p(x_e), from two LogLikelihood runs (one with the variables
// outside q ∪ e missing, one with those outside e missing). x, query and
// evidence are (n, V) (query and evidence disjoint); x is []uint8, or
// []float32/[]float64 for Gaussian inputs, as for LogLikelihood. dst has
// n·Classes entries.
func (p *Program) LogConditional(x any, query, evidence []bool, dst []float64) error {
	n, err := p.rows(x)
	if err != nil {
		return err
	}
	v := p.c.plan.NumVars
	joint, ev, err := conditionalMasks(query, evidence, n*v, v, "LogConditional")
	if err != nil {
		return err
	}
	if len(dst) != n*p.c.plan.Classes {
		return fmt.Errorf("circuit: dst has %d entries, want %d", len(dst), n*p.c.plan.Classes)
	}
	miss := make([]bool, n*v)
	for i := range miss {
		miss[i] = !joint[i]
	}
	if err := p.LogLikelihood(x, miss, dst); err != nil {
		return err
	}
	for i := range miss {
		miss[i] = !ev[i]
	}
	le := make([]float64, len(dst))
	if err := p.LogLikelihood(x, miss, le); err != nil {
		return err
	}
	for i := range dst {
		dst[i] -= le[i]
	}
	return nil
}
