package circuit_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// cptProduct is the product of two CP-T layers (example_custom_test.go),
// registered with RegisterProduct:
//
//	out_{k·Kb+l} = Σ_{i,j} Wa[f, k, i] Wb[f, l, j] · ∏_a x_{a, i·Kb+j}
type cptProduct struct {
	A, B *cptLayer
}

// Forward: x (F, A, B, Ka·Kb) -> Σ_a (F, B, Ka, Kb), shifted -> ·Wa, ·Wb -> (F, B, Ka'·Kb').
func (l *cptProduct) Forward(x *nn.Node) *nn.Node {
	sa, sb := l.A.spec, l.B.spec
	g := x.Graph()
	sh := x.Shape()
	prod := nn.SumAxis(x, 1)                                               // (F, B, Ka·Kb)
	m := nn.Reshape(nn.StopGradient(nn.MaxAxis(prod, 2)), sh[0], sh[2], 1) // (F, B, 1)
	e := nn.Reshape(nn.Exp(nn.Sub(prod, m)), sh[0], sh[2], sa.Kin, sb.Kin)
	t := nn.Einsum("fbij,fki->fbkj", e, sa.Weights(g, l.A.Weight))
	t = nn.Einsum("fbkj,flj->fbkl", t, sb.Weights(g, l.B.Weight))
	return nn.Add(nn.Log(nn.Reshape(t, sh[0], sh[2], sa.Kout*sb.Kout)), m)
}

func init() {
	circuit.RegisterProduct("cp-t", "cp-t", func(a, b circuit.InnerLayer, s circuit.ProductSpec) (circuit.InnerLayer, error) {
		if s.BFolds != nil {
			return nil, errPairing
		}
		return &cptProduct{A: a.(*cptLayer), B: b.(*cptLayer)}, nil
	})
}

var errPairing = errors.New("cp-t products need the folds of one region graph")

// A registered product rule multiplies registered layers: the product of
// two CP-T circuits integrates to Σ_x a(x) b(x), by enumeration; a pair of
// families without a rule is refused by name.
func TestRegisterProduct(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	build := func(layer circuit.Layer, seed uint64) *circuit.Circuit {
		c, err := circuit.Build(rg, circuit.Options{Layer: layer, Units: 3, Input: circuit.Bernoulli, DType: nn.Float64, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := build("cp-t", 1), build("cp-t", 2)
	ab, err := circuit.Multiply(a, b)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]uint8, 0, 16*4)
	for i := range 16 {
		x = append(x, uint8(i>>3&1), uint8(i>>2&1), uint8(i>>1&1), uint8(i&1))
	}
	la, err := a.LogProb(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.LogProb(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := 0.0
	for i := range la {
		s += math.Exp(la[i] + lb[i])
	}
	got, err := circuit.Expectation(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0]-math.Log(s)) > 1e-9 {
		t.Errorf("log Σ_x p q = %.12g, enumeration %.12g", got[0], math.Log(s))
	}
	lab, err := ab.LogProb(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lab {
		if want := la[i] + lb[i] - math.Log(s); math.Abs(lab[i]-want) > 1e-9 {
			t.Errorf("x %v: log p_ab %.12g, want %.12g", x[4*i:4*i+4], lab[i], want)
		}
	}
	if _, err := circuit.Multiply(a, build(circuit.CP, 3)); err == nil || !strings.Contains(err.Error(), "register one with RegisterProduct") {
		t.Errorf("cp-t × cp: %v, want a refusal naming RegisterProduct", err)
	}
}
