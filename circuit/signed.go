package circuit

import (
	"fmt"
	"math"
	"slices"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/nn"
)

// Signed log-space. A circuit with real weights (Param Real, and the
// product of such circuits) computes values of either sign. Between layers
// a value v travels as two nodes of one shape: its log-magnitude log|v|,
// which carries the gradient, and its sign sign(v) ∈ {−1, 0, 1}, which does
// not (a constant almost everywhere). A sum of signed terms is computed as
// a contraction shifted by the largest log-magnitude m, as LogEinsumExp
// does for positive values,
//
//	log|Σ_i w_i s_i e^{l_i}| = m + log|Σ_i w_i s_i e^{l_i − m}|,   sign = sign(Σ_i …)
//
// so that no magnitude is exponentiated far from 1; a product adds the
// log-magnitudes and multiplies the signs. A nil sign node means every
// value is positive.

// logAbs returns log|z| elementwise; its gradient is 1/z (∂log|z|/∂z).
func logAbs(z *nn.Node) *nn.Node { return nn.Apply(logAbsOp{}, z) }

// signOf returns sign(z) ∈ {−1, 0, 1} elementwise, with no gradient.
func signOf(z *nn.Node) *nn.Node { return nn.Apply(signOp{}, z) }

// signProd returns the product of signs s along axis, dropping it: the
// sign of a product of signed factors. No gradient.
func signProd(s *nn.Node, axis int) *nn.Node {
	sh := s.Shape()
	if axis < 0 || axis >= len(sh) {
		panic(fmt.Sprintf("circuit: signProd: axis %d of a %d-dimensional tensor", axis, len(sh)))
	}
	pre, post := 1, 1
	for _, d := range sh[:axis] {
		pre *= d
	}
	for _, d := range sh[axis+1:] {
		post *= d
	}
	out := slices.Concat(sh[:axis:axis], sh[axis+1:])
	return nn.Apply(&signProdOp{pre: pre, n: sh[axis], post: post, out: out}, s)
}

// mulSigns multiplies two sign nodes, either of which may be nil (positive).
func mulSigns(a, b *nn.Node) *nn.Node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return nn.Mul(a, b)
}

// shiftedSigned returns e = s·exp(x − m) with m the maximum of x along axis
// (kept as an axis of size 1, no gradient): the linear values of a signed
// log-space tensor, scaled so that the largest magnitude along axis is 1.
func shiftedSigned(x, sx *nn.Node, axis int) (e, m *nn.Node) {
	xs := x.Shape()
	ms := slices.Clone(xs)
	ms[axis] = 1
	m = nn.Reshape(nn.StopGradient(nn.MaxAxis(x, axis)), ms...)
	e = nn.Exp(nn.Sub(x, m))
	if sx != nil {
		e = nn.Mul(e, sx)
	}
	return e, m
}

// signedLogEinsumExp is LogEinsumExp for signed values and real weights: x
// holds log|values|, sx their signs (nil: positive), spec sums out x's last
// axis, and the output's leading letters are x's other letters in their
// order. It returns log|einsum(spec, sx·e^x, w)| and its signs.
func signedLogEinsumExp(spec string, x, sx, w *nn.Node) (y, sy *nn.Node) {
	n := len(x.Shape())
	e, m := shiftedSigned(x, sx, n-1)
	z := nn.Einsum(spec, e, w)
	ms := slices.Concat(m.Shape()[:n-1], slices.Repeat([]int{1}, len(z.Shape())-(n-1)))
	return nn.Add(logAbs(z), nn.Reshape(m, ms...)), signOf(z)
}

// signedContractSum is Σ_a signedLogEinsumExp(spec, x, sx, w) over axis 1
// (the inputs a) of x (F, A, B, I), the signs multiplied over a: the
// Hadamard product of a CP layer's projections, for signed values.
func signedContractSum(spec string, x, sx, w *nn.Node) (y, sy *nn.Node) {
	e, m := shiftedSigned(x, sx, 3)
	z := nn.Einsum(spec, e, w) // (F, A, B, O)
	ms := m.Shape()
	y = nn.Add(nn.SumAxis(logAbs(z), 1), nn.Reshape(nn.SumAxis(m, 1), ms[0], ms[2], 1))
	return y, signProd(signOf(z), 1)
}

// logAbsOp is y = log|z|, dz = g/z.
type logAbsOp struct{}

func (logAbsOp) Name() string                       { return "LogAbs" }
func (logAbsOp) OutShape(in [][]int) ([]int, error) { return in[0], nil }
func (logAbsOp) DiffWRT(int) bool                   { return true }
func (logAbsOp) Forward(in []nn.Buf, out nn.Buf) {
	if out.F64 != nil {
		logAbsForward(in[0].F64, out.F64)
		return
	}
	logAbsForward(in[0].F32, out.F32)
}
func (logAbsOp) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	if g.F64 != nil {
		logAbsBackward(in[0].F64, g.F64, dIn[0].F64)
		return
	}
	logAbsBackward(in[0].F32, g.F32, dIn[0].F32)
}

func logAbsForward[T kernel.Float](z, y []T) {
	for i, v := range z {
		y[i] = T(math.Log(math.Abs(float64(v))))
	}
}

// logAbsBackward adds g/z; a zero z (log-magnitude −Inf) passes no
// gradient, as a zero unit of a positive circuit does.
func logAbsBackward[T kernel.Float](z, g, d []T) {
	for i, v := range z {
		if v != 0 {
			d[i] += g[i] / v
		}
	}
}

// signOp is y = sign(z), no gradient.
type signOp struct{}

func (signOp) Name() string                                      { return "Sign" }
func (signOp) OutShape(in [][]int) ([]int, error)                { return in[0], nil }
func (signOp) DiffWRT(int) bool                                  { return false }
func (signOp) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {}
func (signOp) Forward(in []nn.Buf, out nn.Buf) {
	if out.F64 != nil {
		signForward(in[0].F64, out.F64)
		return
	}
	signForward(in[0].F32, out.F32)
}

func signForward[T kernel.Float](z, y []T) {
	for i, v := range z {
		switch {
		case v > 0:
			y[i] = 1
		case v < 0:
			y[i] = -1
		default:
			y[i] = 0
		}
	}
}

// signProdOp multiplies a tensor seen as (pre, n, post) along n, no
// gradient.
type signProdOp struct {
	pre, n, post int
	out          []int
}

func (o *signProdOp) Name() string                                      { return fmt.Sprintf("SignProd(%d)", o.n) }
func (o *signProdOp) OutShape(in [][]int) ([]int, error)                { return o.out, nil }
func (o *signProdOp) DiffWRT(int) bool                                  { return false }
func (o *signProdOp) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {}
func (o *signProdOp) Forward(in []nn.Buf, out nn.Buf) {
	if out.F64 != nil {
		prodAxis(in[0].F64, out.F64, o.pre, o.n, o.post)
		return
	}
	prodAxis(in[0].F32, out.F32, o.pre, o.n, o.post)
}

func prodAxis[T kernel.Float](s, y []T, pre, n, post int) {
	for p := range pre {
		for q := range post {
			v := T(1)
			for j := range n {
				v *= s[(p*n+j)*post+q]
			}
			y[p*post+q] = v
		}
	}
}
