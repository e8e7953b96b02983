package circuit

import (
	"fmt"

	"github.com/tenpc/tenpc/nn"
)

// CPLayer is a folded CP layer (CP, CP-XS and CP-S). Fold f multiplies
// one projection of each input:
//
//	out_k = scale_{f,k} · ∏_a Σ_i W[f', a, k, i] · x_{a,i}
//
// with f' = f for CP and f' = 0 for CP-XS and CP-S (one weight tensor for
// every fold of the layer), and scale = 1 except for CP-S.
type CPLayer struct {
	// Weight is (F, A, Kout, Kin), or (1, A, Kout, Kin) for CP-XS and
	// CP-S; each unit's weights run along the last axis.
	Weight *nn.Param
	// Scale is (F, Kout), CP-S only: positive (≥ ClampMin under Clamp,
	// exp of the parameter otherwise, Softmax included).
	Scale *nn.Param
	spec  LayerSpec
}

func newCP(s LayerSpec) (InnerLayer, error) {
	l := &CPLayer{spec: s}
	if s.Layer == CP {
		l.Weight = s.NewWeight("weight", s.Folds, s.Arity, s.Kout, s.Kin)
		return l, nil
	}
	l.Weight = s.NewWeight("weight", 1, s.Arity, s.Kout, s.Kin)
	if s.Layer == CPS {
		// Scales start uniform(0.9, 1.1), the reference protocol's.
		l.Scale = nn.NewParam("scale", s.DType, s.Folds, s.Kout)
		nn.UniformInit(l.Scale, 0.9, 1.1, s.Rand)
		if s.Param == Clamp {
			l.Scale.SetMin(ClampMin)
		} else {
			logInPlace(l.Scale)
		}
	}
	return l, nil
}

func cpParamCount(s LayerSpec) int {
	switch s.Layer {
	case CPXS:
		return s.Arity * s.Kout * s.Kin
	case CPS:
		return s.Arity*s.Kout*s.Kin + s.Folds*s.Kout
	}
	return s.Folds * s.Arity * s.Kout * s.Kin
}

// shared reports whether every fold uses weight fold 0 (CP-XS, CP-S).
func (l *CPLayer) shared() bool { return l.spec.Layer != CP }

// Describe implements nn.Describer.
func (l *CPLayer) Describe() string { return describe(l.spec) }

// scaleKind is the parameterization of the scales: a scale is not a
// distribution, so Softmax circuits keep it positive by exp, and so do Real
// ones (a sign there would repeat the weights').
func (l *CPLayer) scaleKind() Param {
	if l.spec.Param == Softmax || l.spec.Param == Real {
		return Exp
	}
	return l.spec.Param
}

// logScale is log scale (F, 1, Kout), for broadcasting over the batch.
func (l *CPLayer) logScale(g *nn.Graph) *nn.Node {
	s := g.Param(l.Scale)
	if l.scaleKind() == Clamp {
		s = nn.Log(s)
	}
	return nn.Reshape(s, l.spec.Folds, 1, l.spec.Kout)
}

// Forward implements InnerLayer:
//
//	x (F, A, B, Kin) -> z (F, A, B, Kout) = log Σ_i W[f', a, k, i] e^{x_{f,a,b,i}}
//	                 -> out (F, B, Kout) = Σ_a z + log scale
func (l *CPLayer) Forward(x *nn.Node) *nn.Node {
	s := l.spec
	w := s.Weights(x.Graph(), l.Weight) // (F|1, A, Kout, Kin)
	spec := "fabi,faoi->fabo"
	if l.shared() {
		w, spec = nn.Reshape(w, s.Arity, s.Kout, s.Kin), "fabi,aoi->fabo"
	}
	out := logContractSum(spec, x, w) // (F, B, Kout)
	if l.Scale != nil {
		out = nn.Add(out, l.logScale(x.Graph()))
	}
	return out
}

// SignedForward implements SignedLayer: Forward with weights and inputs of
// either sign, the projections' signs multiplied over the inputs a.
//
//	x, sx (F, A, B, Kin) -> (F, B, Kout) log|Σ_a … |, signs
func (l *CPLayer) SignedForward(x, sx *nn.Node) (y, sy *nn.Node) {
	s := l.spec
	w := s.Weights(x.Graph(), l.Weight) // (F|1, A, Kout, Kin)
	spec := "fabi,faoi->fabo"
	if l.shared() {
		w, spec = nn.Reshape(w, s.Arity, s.Kout, s.Kin), "fabi,aoi->fabo"
	}
	y, sy = signedContractSum(spec, x, sx, w)
	if l.Scale != nil {
		y = nn.Add(y, l.logScale(x.Graph()))
	}
	return y, sy
}

// MaxForward implements MaxProduct:
//
//	out (F, B, Kout) = Σ_a max_i (log W[f', a, k, i] + x_{f,a,b,i}) + log scale
func (l *CPLayer) MaxForward(x *nn.Node) *nn.Node {
	s := l.spec
	lw := s.LogWeights(x.Graph(), l.Weight) // (F|1, A, Kout, Kin)
	lw = nn.Reshape(lw, l.Weight.Shape()[0], s.Arity, 1, s.Kout, s.Kin)
	xb := nn.Reshape(x, s.Folds, s.Arity, x.Shape()[2], 1, s.Kin)
	out := nn.SumAxis(nn.MaxAxis(nn.Add(xb, lw), 4), 1) // (F, B, Kout)
	if l.Scale != nil {
		out = nn.Add(out, l.logScale(x.Graph()))
	}
	return out
}

// Descent implements Descender: each input a independently, unit j with
// term log W[f', a, k, j] + in_{a,j} (the scale is common to all terms).
func (l *CPLayer) Descent() func(d *Downward, f, k int, in [][]float64, choice []int) {
	s := l.spec
	lw := logOf(s.EffectiveWeights(l.Weight))
	t := make([]float64, s.Kin)
	return func(d *Downward, f, k int, in [][]float64, choice []int) {
		wf := f
		if l.shared() {
			wf = 0
		}
		for a := range s.Arity {
			row := lw[((wf*s.Arity+a)*s.Kout+k)*s.Kin:][:s.Kin]
			for j := range t {
				t[j] = row[j] + in[a][j]
			}
			choice[a] = d.Pick(t)
		}
	}
}

// fusedKernel implements fusedLayer.
func (l *CPLayer) fusedKernel() kernelSpec {
	return kernelSpec{kind: kernelCP, shared: l.shared()}
}

// fusedParams implements fusedLayer: the weights, normalized along Kin,
// then the scales.
func (l *CPLayer) fusedParams() []fusedParam {
	ps := []fusedParam{lastAxis(l.Weight, l.spec.Param)}
	if l.Scale != nil {
		ps = append(ps, fusedParam{p: l.Scale, kind: l.scaleKind(), outer: l.Scale.Len(), n: 1, inner: 1})
	}
	return ps
}

// describe is the shape of a folded layer: "F=392 A=2 16 → 16".
func describe(s LayerSpec) string {
	return fmt.Sprintf("%v F=%d A=%d %d → %d", s.Layer, s.Folds, s.Arity, s.Kin, s.Kout)
}
