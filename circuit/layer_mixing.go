package circuit

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/nn"
)

// MixingLayer is a folded mixing layer: fold f, a region with H
// partitions, sums its partitions' units unit by unit,
//
//	out_k = Σ_h w[f, h, k] · x_{h,k}
//
// with each unit's weights running over h. They are frozen at 1/H unless
// Options.LearnMixing is set.
type MixingLayer struct {
	// Weight is w (F, H, K), normalized along H (axis 1) under Softmax.
	Weight *nn.Param
	spec   LayerSpec
}

func newMixing(s LayerSpec, learn bool) *MixingLayer {
	l := &MixingLayer{Weight: nn.NewParam("weight", s.DType, s.Folds, s.Arity, s.Kout), spec: s}
	if learn {
		initWeights(l.Weight, s.Param, s.Init, s.Rand, s.Folds, s.Arity, s.Kout)
		return l
	}
	// Frozen at uniform weights 1/H (softmax: logits 0; exp: log 1/H).
	fill := 1 / float64(s.Arity)
	switch s.Param {
	case Softmax:
		fill = 0
	case Exp:
		fill = math.Log(fill)
	}
	l.Weight.SetValue(constant(l.Weight.Len(), fill))
	l.Weight.Freeze()
	return l
}

// Describe implements nn.Describer.
func (l *MixingLayer) Describe() string {
	return fmt.Sprintf("mixing F=%d H=%d %d → %d", l.spec.Folds, l.spec.Arity, l.spec.Kin, l.spec.Kout)
}

// logWeights is log w (F, H, 1, K), for broadcasting over the batch.
func (l *MixingLayer) logWeights(g *nn.Graph) *nn.Node {
	s := l.spec
	n := g.Param(l.Weight)
	switch s.Param {
	case Clamp, Real:
		n = nn.Log(n)
	case Softmax:
		n = nn.LogSoftmax(n, 1)
	}
	return nn.Reshape(n, s.Folds, s.Arity, 1, s.Kout)
}

// Forward implements InnerLayer:
//
//	x (F, H, B, K) -> out (F, B, K) = log Σ_h w[f, h, k] e^{x_{f,h,b,k}}
func (l *MixingLayer) Forward(x *nn.Node) *nn.Node {
	return nn.LogSumExp(nn.Add(x, l.logWeights(x.Graph())), 1)
}

// SignedForward implements SignedLayer: the weighted sum for weights and
// inputs of either sign, shifted by the largest input over h.
//
//	x, sx (F, H, B, K) -> (F, B, K) log|Σ_h w[f, h, k] s e^x|, signs
func (l *MixingLayer) SignedForward(x, sx *nn.Node) (y, sy *nn.Node) {
	s := l.spec
	n := x.Graph().Param(l.Weight)
	switch s.Param {
	case Exp:
		n = nn.Exp(n)
	case Softmax:
		n = nn.Softmax(n, 1)
	}
	e, m := shiftedSigned(x, sx, 1)       // (F, H, B, K), (F, 1, B, K)
	z := nn.Einsum("fhbk,fhk->fbk", e, n) // (F, B, K)
	b := x.Shape()[2]
	return nn.Add(logAbs(z), nn.Reshape(m, s.Folds, b, s.Kout)), signOf(z)
}

// MaxForward implements MaxProduct: out (F, B, K) = max_h (log w[f, h, k] + x_{f,h,b,k}).
func (l *MixingLayer) MaxForward(x *nn.Node) *nn.Node {
	return nn.MaxAxis(nn.Add(x, l.logWeights(x.Graph())), 1)
}

// effective returns w in float64, normalized along H.
func (l *MixingLayer) effective() []float64 {
	s := l.spec
	return reparam(l.Weight.Value(), s.Param, s.Folds, s.Arity, s.Kout)
}

// descent returns the mixing layer's rule for the downward pass: the
// partition h that unit k of fold f continues to, with term
// log w[f, h, k] + in_{h,k}.
func (l *MixingLayer) descent() func(d *Downward, f, k int, in [][]float64) int {
	s := l.spec
	lw := logOf(l.effective())
	t := make([]float64, s.Arity)
	return func(d *Downward, f, k int, in [][]float64) int {
		for h := range t {
			t[h] = lw[(f*s.Arity+h)*s.Kout+k] + in[h][k]
		}
		return d.Pick(t)
	}
}

// fusedKernel implements fusedLayer.
func (l *MixingLayer) fusedKernel() kernelSpec { return kernelSpec{kind: kernelMixing} }

// fusedParams implements fusedLayer: w normalized along H.
func (l *MixingLayer) fusedParams() []fusedParam {
	s := l.spec
	return []fusedParam{{p: l.Weight, kind: s.Param, outer: s.Folds, n: s.Arity, inner: s.Kout}}
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
