package circuit

import (
	"github.com/tenpc/tenpc/nn"
)

// TuckerLayer is a folded Tucker layer: fold f contracts the outer product
// of its two inputs with a core,
//
//	out_k = Σ_{i,j} W[f, k, i·Kin + j] · x_{1,i} · x_{2,j}
//
// It takes two inputs, so Build binarizes wider partitions first.
type TuckerLayer struct {
	// Weight is W (F, Kout, Kin·Kin): each unit's weights along the last
	// axis.
	Weight *nn.Param
	spec   LayerSpec
}

func newTucker(s LayerSpec) (InnerLayer, error) {
	return &TuckerLayer{Weight: s.NewWeight("weight", s.Folds, s.Kout, s.Kin*s.Kin), spec: s}, nil
}

func tuckerParamCount(s LayerSpec) int { return s.Folds * s.Kout * s.Kin * s.Kin }

// Describe implements nn.Describer.
func (l *TuckerLayer) Describe() string { return describe(l.spec) }

// outer returns the log-values of the inputs' outer product:
// x (F, 2, B, Kin) -> (F, B, Kin·Kin), entry i·Kin + j = x_{1,i} + x_{2,j}.
func (l *TuckerLayer) outer(x *nn.Node) *nn.Node {
	s := l.spec
	b := x.Shape()[2]
	x1 := nn.Reshape(nn.Gather(x, 1, []int{0}), s.Folds, b, s.Kin, 1)
	x2 := nn.Reshape(nn.Gather(x, 1, []int{1}), s.Folds, b, 1, s.Kin)
	return nn.Reshape(nn.Add(x1, x2), s.Folds, b, s.Kin*s.Kin)
}

// Forward implements InnerLayer:
//
//	x (F, 2, B, Kin) -> y (F, B, Kin²) -> out (F, B, Kout) = log Σ_ij W[f, k, ij] e^{y_{f,b,ij}}
func (l *TuckerLayer) Forward(x *nn.Node) *nn.Node {
	return LogEinsumExp("fbi,foi->fbo", l.outer(x), l.spec.Weights(x.Graph(), l.Weight))
}

// SignedForward implements SignedLayer: Forward for weights and inputs of
// either sign, the outer product's signs s_{1,i}·s_{2,j}.
//
//	x, sx (F, 2, B, Kin) -> (F, B, Kin²) -> (F, B, Kout) log-magnitudes, signs
func (l *TuckerLayer) SignedForward(x, sx *nn.Node) (y, sy *nn.Node) {
	var so *nn.Node
	if sx != nil {
		s := l.spec
		b := x.Shape()[2]
		s1 := nn.Reshape(nn.Gather(sx, 1, []int{0}), s.Folds, b, s.Kin, 1)
		s2 := nn.Reshape(nn.Gather(sx, 1, []int{1}), s.Folds, b, 1, s.Kin)
		so = nn.Reshape(nn.Mul(s1, s2), s.Folds, b, s.Kin*s.Kin)
	}
	return signedLogEinsumExp("fbi,foi->fbo", l.outer(x), so, l.spec.Weights(x.Graph(), l.Weight))
}

// MaxForward implements MaxProduct:
//
//	out (F, B, Kout) = max_ij (log W[f, k, ij] + y_{f,b,ij})
func (l *TuckerLayer) MaxForward(x *nn.Node) *nn.Node {
	s := l.spec
	y := l.outer(x)
	b := x.Shape()[2]
	lw := nn.Reshape(s.LogWeights(x.Graph(), l.Weight), s.Folds, 1, s.Kout, s.Kin*s.Kin)
	return nn.MaxAxis(nn.Add(nn.Reshape(y, s.Folds, b, 1, s.Kin*s.Kin), lw), 3)
}

// Descent implements Descender: one pair (i, j) with term
// log W[f, k, i·Kin + j] + in_{1,i} + in_{2,j}.
func (l *TuckerLayer) Descent() func(d *Downward, f, k int, in [][]float64, choice []int) {
	s := l.spec
	lw := logOf(s.EffectiveWeights(l.Weight))
	K := s.Kin
	t := make([]float64, K*K)
	return func(d *Downward, f, k int, in [][]float64, choice []int) {
		row := lw[(f*s.Kout+k)*K*K:][:K*K]
		for i := range K {
			for j := range K {
				t[i*K+j] = row[i*K+j] + in[0][i] + in[1][j]
			}
		}
		ij := d.Pick(t)
		choice[0], choice[1] = ij/K, ij%K
	}
}

// fusedKernel implements fusedLayer.
func (l *TuckerLayer) fusedKernel() kernelSpec { return kernelSpec{kind: kernelTucker} }

// fusedParams implements fusedLayer: W along Kin².
func (l *TuckerLayer) fusedParams() []fusedParam {
	return []fusedParam{lastAxis(l.Weight, l.spec.Param)}
}
