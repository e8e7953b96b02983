package circuit

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// testCPT is a registered layer without a fused kernel (cirkit's CP-T: the
// Hadamard product of the inputs, then a weighted sum), so that on the
// fused engine it runs on nn ops between fused layers.
type testCPT struct {
	Weight *nn.Param // (F, Kout, Kin)
	spec   LayerSpec
}

func (l *testCPT) Forward(x *nn.Node) *nn.Node {
	// x (F, A, B, Kin) -> Σ_a (F, B, Kin) -> (F, B, Kout)
	return LogEinsumExp("fbj,fkj->fbk", nn.SumAxis(x, 1), l.spec.Weights(x.Graph(), l.Weight))
}

func init() {
	RegisterLayer("test-cpt", LayerDef{Normalized: true, New: func(s LayerSpec) (InnerLayer, error) {
		return &testCPT{Weight: s.NewWeight("weight", s.Folds, s.Kout, s.Kin), spec: s}, nil
	}})
}

// A registered layer between fused layers (the fused input layer below it,
// fused mixing layers around it on a QG and a PD graph) gets exact
// gradients, and passes them on to the fused layers below: finite
// differences of every parameter.
func TestRegisteredLayerBetweenFusedLayers(t *testing.T) {
	gs := smallGraphs(t)
	rng := rand.New(rand.NewPCG(31, 32))
	for _, name := range []string{"qg", "pd"} {
		rg := gs[name]
		x := make([]uint8, 4*rg.NumVars)
		for i := range x {
			x[i] = uint8(rng.IntN(3))
		}
		for _, par := range []Param{Clamp, Softmax} {
			c, err := Build(rg, Options{Layer: "test-cpt", Units: 3, Values: 3, Param: par, LearnMixing: true, DType: nn.Float64, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			mixing := 0
			for _, l := range c.Layers {
				if _, ok := l.(*MixingLayer); ok {
					mixing++
				}
			}
			if mixing == 0 {
				t.Fatalf("%s has no mixing layer; the test needs fused layers above the registered ones", name)
			}
			t.Run(name+"/"+par.String(), func(t *testing.T) { checkCircuitGrad(t, c, x, 1e-6) })
		}
	}
}

// A registered layer's circuit answers every query its layer supports, and
// a query it needs more for fails naming what is missing.
func TestRegisteredLayerQueries(t *testing.T) {
	rg := smallGraphs(t)["qt2"]
	c, err := Build(rg, Options{Layer: "test-cpt", Units: 3, Values: 3, Param: Exp, DType: nn.Float64, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	en := enumerate(t, c)
	if s := logSumExp(en.lp); math.Abs(s) > 1e-9 {
		t.Errorf("log Σ_x p(x) = %g, want 0", s)
	}
	t.Run("compiled", func(t *testing.T) { checkAgainstProgram(t, c, en) })
	_, err = c.Sample(1, rand.New(rand.NewPCG(1, 1)))
	if err == nil || !strings.Contains(err.Error(), "Descender") || !strings.Contains(err.Error(), "test-cpt") {
		t.Errorf("Sample: err = %v, want one naming the layer and circuit.Descender", err)
	}
	_, _, err = c.MAP(make([]uint8, rg.NumVars), make([]bool, rg.NumVars))
	if err == nil || !strings.Contains(err.Error(), "Descender") {
		t.Errorf("MAP: err = %v, want one naming circuit.Descender", err)
	}
}

// A classifier head on a circuit through Wire: logits c(x) − log Z of a
// 3-class circuit into a Linear layer and a cross-entropy; every parameter,
// the circuit's on either engine and the head's, gets its finite-difference
// gradient.
func TestClassifierHeadOnWire(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	const b = 5
	rng := rand.New(rand.NewPCG(33, 34))
	x := make([]uint8, b*rg.NumVars)
	for i := range x {
		x[i] = uint8(rng.IntN(3))
	}
	labels := []int{0, 1, 1, 0, 1}
	for _, e := range []Engine{Fused, Graph} {
		t.Run(e.String(), func(t *testing.T) {
			c, err := Build(rg, Options{Layer: CP, Units: 3, Values: 3, Classes: 3, Param: Exp, Engine: e, DType: nn.Float64, Seed: 8})
			if err != nil {
				t.Fatal(err)
			}
			head := nn.NewLinear(3, 2, nn.Float64, true, rng)
			g := nn.NewGraph(nn.Float64)
			nodes, err := c.Wire(g, b, "")
			if err != nil {
				t.Fatal(err)
			}
			logits := nn.Sub(nodes.Circuit, nodes.LogZ) // (B, 3) − (1, 3)
			loss := nn.CrossEntropy(head.Forward(logits), g.Labels("y", b))
			prog, err := g.Compile(nn.Minimize(loss))
			if err != nil {
				t.Fatal(err)
			}
			feed := nn.Feed{"x": x, "missing": make([]uint8, len(x)), "y": labels}
			params := nn.Params(struct {
				Circuit *Circuit
				Head    *nn.Linear
			}{c, head})
			for _, p := range params {
				p.ZeroGrad()
			}
			if _, err := prog.Step(feed); err != nil {
				t.Fatal(err)
			}
			lossAt := func() float64 {
				if err := prog.Run(feed); err != nil {
					t.Fatal(err)
				}
				l, err := prog.Loss()
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			const h = 1e-5
			for _, p := range params {
				if p.Frozen() {
					continue
				}
				w, g := p.Float64s(), p.Grad64()
				for i := range w {
					orig := w[i]
					w[i] = orig + h
					up := lossAt()
					w[i] = orig - h
					down := lossAt()
					w[i] = orig
					fd := (up - down) / (2 * h)
					if d := math.Abs(g[i] - fd); d > 1e-6*math.Max(math.Abs(g[i]), math.Abs(fd))+1e-9 {
						t.Errorf("%s[%d]: analytic %.10g, finite difference %.10g", p.Name(), i, g[i], fd)
					}
				}
			}
		})
	}
}
