package circuit

import (
	"fmt"

	"github.com/tenpc/tenpc/nn"
)

// CPRLayer is a folded uncollapsed CP layer of rank R (CP-R). Fold f
// projects each input to R values, multiplies them, and mixes the product
// into Kout units:
//
//	z_r = ∏_a Σ_i U[f, a, r, i] · x_{a,i},   out_k = Σ_r O[f, k, r] · z_r
type CPRLayer struct {
	// Weight is U (F, A, R, Kin): each rank unit's weights along Kin.
	Weight *nn.Param
	// Out is O (F, Kout, R): each output unit's weights along R.
	Out  *nn.Param
	spec LayerSpec
}

func newCPR(s LayerSpec) (InnerLayer, error) {
	l := &CPRLayer{spec: s}
	l.Weight = s.NewWeight("weight", s.Folds, s.Arity, s.Rank, s.Kin)
	l.Out = s.NewWeight("out", s.Folds, s.Kout, s.Rank)
	return l, nil
}

func cprParamCount(s LayerSpec) int {
	return s.Folds * (s.Arity*s.Rank*s.Kin + s.Kout*s.Rank)
}

// Describe implements nn.Describer.
func (l *CPRLayer) Describe() string { return fmt.Sprintf("%s rank %d", describe(l.spec), l.spec.Rank) }

// Forward implements InnerLayer:
//
//	x (F, A, B, Kin) -> z (F, B, R) = Σ_a log Σ_i U[f, a, r, i] e^{x_{f,a,b,i}}
//	                 -> out (F, B, Kout) = log Σ_r O[f, k, r] e^{z_{f,b,r}}
func (l *CPRLayer) Forward(x *nn.Node) *nn.Node {
	g := x.Graph()
	z := logContractSum("fabi,fari->fabr", x, l.spec.Weights(g, l.Weight)) // (F, B, R)
	return LogEinsumExp("fbr,for->fbo", z, l.spec.Weights(g, l.Out))
}

// SignedForward implements SignedLayer: Forward for weights and inputs of
// either sign.
//
//	x, sx (F, A, B, Kin) -> z, sz (F, B, R) -> (F, B, Kout) log-magnitudes, signs
func (l *CPRLayer) SignedForward(x, sx *nn.Node) (y, sy *nn.Node) {
	g := x.Graph()
	z, sz := signedContractSum("fabi,fari->fabr", x, sx, l.spec.Weights(g, l.Weight))
	return signedLogEinsumExp("fbr,for->fbo", z, sz, l.spec.Weights(g, l.Out))
}

// MaxForward implements MaxProduct:
//
//	z (F, B, R) = Σ_a max_i (log U[f, a, r, i] + x_{f,a,b,i})
//	out (F, B, Kout) = max_r (log O[f, k, r] + z_{f,b,r})
func (l *CPRLayer) MaxForward(x *nn.Node) *nn.Node {
	s, g := l.spec, x.Graph()
	b := x.Shape()[2]
	lu := nn.Reshape(s.LogWeights(g, l.Weight), s.Folds, s.Arity, 1, s.Rank, s.Kin)
	z := nn.SumAxis(nn.MaxAxis(nn.Add(nn.Reshape(x, s.Folds, s.Arity, b, 1, s.Kin), lu), 4), 1) // (F, B, R)
	lo := nn.Reshape(s.LogWeights(g, l.Out), s.Folds, 1, s.Kout, s.Rank)
	return nn.MaxAxis(nn.Add(nn.Reshape(z, s.Folds, b, 1, s.Rank), lo), 3)
}

// Descent implements Descender: first a rank r with term
// log O[f, k, r] + Σ_a ⊕_j (log U[f, a, r, j] + in_{a,j}) (⊕ = d.Sum),
// then per input a a unit j with term log U[f, a, r, j] + in_{a,j}.
func (l *CPRLayer) Descent() func(d *Downward, f, k int, in [][]float64, choice []int) {
	s := l.spec
	lu, lo := logOf(s.EffectiveWeights(l.Weight)), logOf(s.EffectiveWeights(l.Out))
	R, A, Kin := s.Rank, s.Arity, s.Kin
	z, t := make([]float64, R), make([]float64, Kin)
	row := func(f, a, r int) []float64 { return lu[((f*A+a)*R+r)*Kin:][:Kin] }
	return func(d *Downward, f, k int, in [][]float64, choice []int) {
		for r := range R {
			z[r] = lo[(f*s.Kout+k)*R+r]
			for a := range A {
				for j, w := range row(f, a, r) {
					t[j] = w + in[a][j]
				}
				z[r] += d.Sum(t)
			}
		}
		r := d.Pick(z)
		for a := range A {
			for j, w := range row(f, a, r) {
				t[j] = w + in[a][j]
			}
			choice[a] = d.Pick(t)
		}
	}
}

// fusedKernel implements fusedLayer.
func (l *CPRLayer) fusedKernel() kernelSpec { return kernelSpec{kind: kernelCPR, rank: l.spec.Rank} }

// fusedParams implements fusedLayer: U along Kin, O along R.
func (l *CPRLayer) fusedParams() []fusedParam {
	return []fusedParam{lastAxis(l.Weight, l.spec.Param), lastAxis(l.Out, l.spec.Param)}
}
