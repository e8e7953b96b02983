package circuit

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// buildSquared builds a float64 squared circuit whose weights are N(0, 1)
// draws, so that about half are negative.
func buildSquared(t testing.TB, rg *regiongraph.Graph, layer Layer, input InputKind, values int, seed uint64) *Circuit {
	t.Helper()
	c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, Input: input, Values: values, Param: Real, Init: Normal, DType: nn.Float64, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	neg := 0
	for _, l := range c.Layers {
		if w, ok := l.(*CPLayer); ok {
			for _, v := range w.Weight.Float64s() {
				if v < 0 {
					neg++
				}
			}
		}
	}
	if _, ok := c.Layers[0].(*CPLayer); ok && neg == 0 {
		t.Fatal("no negative weight: the test would not exercise subtraction")
	}
	return c
}

// A squared circuit is a distribution: by enumeration it sums to 1 over all
// states, its marginals and conditionals are sums of the enumeration, its
// samples follow it (chi-square), its compiled programs agree with the
// reference evaluator, and MAP is refused.
func TestSquaredExact(t *testing.T) {
	for gi, qg := range productGraphs(t) {
		for li, layer := range []Layer{CP, CPR, CPS, CPXS, Tucker} {
			if layer == Tucker && !binaryOnly(qg.rg) {
				continue
			}
			t.Run(qg.name+"/"+layer.String(), func(t *testing.T) {
				c := buildSquared(t, qg.rg, layer, Categorical, qg.values, uint64(10*gi+li))
				checkSquaredExact(t, c, rand.New(rand.NewPCG(uint64(li), 9)), gi == 0 && layer == CP)
			})
		}
	}
}

// checkSquaredExact checks squared circuit c against enumeration: Σ p = 1,
// the compiled likelihoods and marginals equal the reference evaluator's
// (on c·c) and the enumeration's, conditionals (and, with samples, a
// chi-square test of Sample) follow the enumeration, and MAP is refused.
func checkSquaredExact(t *testing.T, c *Circuit, rng *rand.Rand, samples bool) {
	t.Helper()
	en := enumerate(t, c)
	if s := logSumExp(en.lp); math.Abs(s) > 1e-9 {
		t.Fatalf("log Σ_x p(x) = %g, want 0", s)
	}
	// p(x) ∝ c(x)²: the square's values against c's own.
	x := allAssignments(en.V, en.C)
	prog, err := c.Compile(64, false)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, len(en.lp))
	if err := prog.LogLikelihood(x, nil, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		// c(x) near a cancellation (p ≪ 1) is accurate in probability,
		// not to 1e-9 in log.
		if math.Abs(got[i]-en.lp[i]) > 1e-9 && math.Abs(math.Exp(got[i])-math.Exp(en.lp[i])) > 1e-13 {
			t.Fatalf("x %v: compiled 2·log|c(x)| − log Z = %.12g, LogProb (on c·c) %.12g", x[i*en.V:(i+1)*en.V], got[i], en.lp[i])
		}
	}
	xs, miss := randomRows(rng, 8, en.V, en.C, 0.4)
	lm, err := c.LogProb(xs, miss)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 8 {
		if want := en.logMarginal(xs[b*en.V:(b+1)*en.V], not(miss[b*en.V:(b+1)*en.V])); math.Abs(lm[b]-want) > 1e-9 {
			t.Errorf("marginal row %d: LogProb %.12g, enumeration %.12g", b, lm[b], want)
		}
	}
	checkConditionals(t, c, en, rng)
	if samples {
		checkSamples(t, c, en, rng)
	}
	// The compiled program with missing variables (on c·c).
	mp := make([]float64, 8)
	if err := prog.LogLikelihood(xs, miss, mp); err != nil {
		t.Fatal(err)
	}
	for b := range 8 {
		if math.Abs(mp[b]-lm[b]) > 1e-9 {
			t.Errorf("marginal row %d: compiled %.12g, LogProb %.12g", b, mp[b], lm[b])
		}
	}
	if _, _, err := c.MAP(xs, not(miss)); err == nil || !strings.Contains(err.Error(), "squared circuit") {
		t.Errorf("MAP: %v, want a refusal naming the squared circuit", err)
	}
}

// Gradients of a squared circuit's training loss, −mean 2·log|c(x)| +
// log Z, against central differences of the reference evaluator's NLL
// (which computes on c·c, independently of the training program), with
// weights set near zero and negative.
func TestSquaredGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, qg := range productGraphs(t)[:3] {
		x := make([]uint8, 6*qg.rg.NumVars)
		for i := range x {
			x[i] = uint8(rng.IntN(qg.values))
		}
		for _, layer := range []Layer{CP, CPR, CPS, Tucker} {
			if layer == Tucker && !binaryOnly(qg.rg) {
				continue
			}
			t.Run(qg.name+"/"+layer.String(), func(t *testing.T) {
				c := buildSquared(t, qg.rg, layer, Categorical, qg.values, 7)
				// Weights near zero, of both signs, beside the N(0, 1) draws.
				for _, p := range c.Params() {
					if !strings.Contains(p.Name, "weight") {
						continue
					}
					w := p.Float64s()
					w[0], w[1] = 1e-6, -1e-6
					if len(w) > 3 {
						w[2], w[3] = -0.8, -1e-3
					}
				}
				checkSquaredGrad(t, c, x, 1e-5)
			})
		}
	}
}

// checkSquaredGrad compares the training program's gradient with
// five-point central differences of step h of the reference NLL, every
// parameter.
func checkSquaredGrad(t *testing.T, c *Circuit, x []uint8, h float64) {
	t.Helper()
	n := len(x) / c.plan.NumVars
	train, err := c.Compile(n, true)
	if err != nil {
		t.Fatal(err)
	}
	nll := func() float64 {
		ll, err := c.LogProb(x, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for _, v := range ll {
			s -= v
		}
		return s / float64(n)
	}
	for _, p := range c.Params() {
		p.ZeroGrad()
	}
	loss, err := train.Step(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := nll(); math.Abs(loss-want) > 1e-9*math.Abs(want) {
		t.Errorf("Step loss %v, reference NLL %v", loss, want)
	}
	fdCheck(t, c, nll, h, 1e-5, 1e-8)
}

// Signed log-space stays finite where linear arithmetic would overflow
// (magnitudes e^800), gets an exact cancellation right (log 0 = −Inf, sign
// 0), and its gradients match finite differences at inputs and weights of
// mixed sign.
func TestSignedLogSpace(t *testing.T) {
	g := nn.NewGraph(nn.Float64)
	// x (F=1, A=1, B=1, I=3): values e^800, −e^800, e^790; w (1, 1, 2, 3).
	x := g.Const([]float64{800, 800, 790}, 1, 1, 1, 3)
	sx := g.Const([]float64{1, -1, 1}, 1, 1, 1, 3)
	w := g.Const([]float64{1, 1, 0, 2, -1, 1e-300}, 1, 1, 2, 3)
	y, sy := signedContractSum("fabi,faoi->fabo", x, sx, w)
	g.Output("y", y)
	g.Output("sy", sy)
	prog, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(nn.Feed{}); err != nil {
		t.Fatal(err)
	}
	yo, _ := prog.Output("y")
	so, _ := prog.Output("sy")
	// Unit 0: e^800 − e^800 + 0 = 0. Unit 1: 2e^800 + e^800 + 1e-300·e^790
	// = e^800·(3 + 1e-300·e^−10).
	want, wantSign := []float64{math.Inf(-1), 800 + math.Log(3)}, []float64{0, 1}
	for k := range 2 {
		got := yo.Float64s()[k]
		if (got != want[k] && math.Abs(got-want[k]) > 1e-12) || so.Float64s()[k] != wantSign[k] {
			t.Errorf("unit %d: log|Σ| %v, sign %v; want %v, sign %v", k, got, so.Float64s()[k], want[k], wantSign[k])
		}
	}

	// Gradients: loss = Σ c ⊙ log|Σ_a …| of a two-input contraction.
	rng := rand.New(rand.NewPCG(3, 3))
	px := nn.NewParam("x", nn.Float64, 2, 2, 3, 2) // (F, A, B, I)
	nn.NormalInit(px, 0, 2, rng)
	pw := nn.NewParam("w", nn.Float64, 2, 2, 4, 2) // (F, A, O, I)
	nn.NormalInit(pw, 0, 1, rng)
	signs, coef := make([]float64, px.Len()), make([]float64, 2*3*4)
	for i := range signs {
		signs[i] = float64(1 - 2*rng.IntN(2))
	}
	for i := range coef {
		coef[i] = rng.NormFloat64()
	}
	g2 := nn.NewGraph(nn.Float64)
	yy, _ := signedContractSum("fabi,faoi->fabo", g2.Param(px), g2.Const(signs, 2, 2, 3, 2), g2.Param(pw))
	loss := nn.Sum(nn.Mul(yy, g2.Const(coef, 2, 3, 4)))
	g2.Output("loss", loss)
	prog2, err := g2.Compile(nn.Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	eval := func() float64 {
		if err := prog2.Run(nn.Feed{}); err != nil {
			t.Fatal(err)
		}
		l, _ := prog2.Output("loss")
		return l.Float64s()[0]
	}
	px.ZeroGrad()
	pw.ZeroGrad()
	if _, err := prog2.Step(nn.Feed{}); err != nil {
		t.Fatal(err)
	}
	const h = 1e-5
	for _, p := range []*nn.Param{px, pw} {
		v, gr := p.Float64s(), p.Grad64()
		for i := range v {
			orig := v[i]
			at := func(d float64) float64 { v[i] = orig + d; return eval() }
			fd := (8*(at(h)-at(-h)) - (at(2*h) - at(-2*h))) / (12 * h)
			v[i] = orig
			if math.Abs(gr[i]-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: analytic %.10g, finite difference %.10g", p.Name(), i, gr[i], fd)
			}
		}
	}
}

// Squared circuits refuse what they cannot do: a region graph with a
// region of several partitions (naming it), sampling with Gaussian inputs,
// and a downward pass through a product of squared circuits.
func TestSquaredRefusals(t *testing.T) {
	qg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 2, W: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(qg, Options{Units: 2, Param: Real}); err == nil || !strings.Contains(err.Error(), "has 2 partitions") || !strings.Contains(err.Error(), "real weights") {
		t.Errorf("Build on QG with real weights: %v, want a refusal naming the mixing region", err)
	}
	rg, err := regiongraph.RandomBinaryTree(3, -1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := Build(rg, Options{Units: 2, Param: Real, Input: Gaussian, DType: nn.Float64, Init: Normal})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gc.SampleFloat(3, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), "Gaussian variable 0") {
		t.Errorf("SampleFloat of a Gaussian squared circuit: %v, want a refusal", err)
	}
	// Likelihoods of Gaussian squared circuits work: ∫ p = 1 by quadrature
	// over one variable, the others integrated out exactly.
	grid := gaussGrid()
	x := make([]float64, 3*len(grid))
	miss := make([]bool, len(x))
	for i, v := range grid {
		x[3*i] = v
		miss[3*i+1], miss[3*i+2] = true, true
	}
	lf, err := gc.LogProbFloat(x, miss)
	if err != nil {
		t.Fatal(err)
	}
	if s := trapezoid(grid, lf); math.Abs(s-1) > 1e-6 {
		t.Errorf("∫ p(x_0) dx_0 = %.9f, want 1", s)
	}
	c := buildSquared(t, rg, CP, Categorical, 2, 3)
	sq, err := Multiply(c, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sq.Sample(2, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), "non-negative weights") {
		t.Errorf("Sample of c·c: %v, want a refusal", err)
	}
}
