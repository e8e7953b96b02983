package nn

// Elementwise binary ops on operands of different shapes, computed in one
// pass that reads each operand through its broadcast strides (no repeated
// copy of the smaller one), in parallel chunks:
//
//	y = a ⊕ b   a, b broadcast to y's shape (NumPy's rules, see broadcast.go)
//	add: da = Σ dy,        db = Σ dy
//	sub: da = Σ dy,        db = −Σ dy
//	mul: da = Σ dy ⊙ b,    db = Σ dy ⊙ a
//	div: da = Σ dy ⊘ b,    db = −Σ dy ⊙ y ⊘ b
//
// each Σ summing over the axes the operand was repeated along
// (broadcastOp's reduce). The gradients are built from these ops
// themselves, so they differentiate again.

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	"github.com/tenpc/tenpc/internal/vec"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

type binKind int

const (
	binAdd binKind = iota
	binSub
	binMul
	binDiv
)

var binNames = [...]string{"add", "sub", "mul", "div"}

// broadcastBinary applies kind to a and b of broadcastable shapes.
func broadcastBinary(kind binKind, a, b *gorgonia.Node) (*gorgonia.Node, error) {
	sa, sb := nodeShape(a), nodeShape(b)
	out, ok := broadcastShape(sa, sb)
	if !ok {
		return nil, fmt.Errorf("%s: shapes %v and %v do not broadcast", binNames[kind], sa, sb)
	}
	for _, x := range []*gorgonia.Node{a, b} {
		if err := checkFloat(binNames[kind], x); err != nil {
			return nil, err
		}
	}
	op := &binaryOp{kind: kind, sa: slices.Clone(sa), sb: slices.Clone(sb), out: out,
		noGrad: [2]bool{!differentiable(a), !differentiable(b)}}
	return gorgonia.ApplyOp(op, a, b)
}

// differentiable reports whether a gradient can flow into n: false for a
// StopGradient's output and a reshape of one (the shift of a
// log-sum-exp), whose gradient would be computed only to be dropped.
func differentiable(n *gorgonia.Node) bool {
	for {
		switch op := n.Op().(type) {
		case fusedFwd:
			if _, stop := op.s.f.(stopGradOp); stop {
				return false
			}
			return true
		case *reshapeOp:
			it := n.Graph().From(n.ID()) // its one operand
			if !it.Next() {
				return true
			}
			n = it.Node().(*gorgonia.Node)
		default:
			return true
		}
	}
}

// reduceTo sums g (of shape big) down to small, or returns it when the
// shapes are equal.
func reduceTo(g *gorgonia.Node, big, small []int) (*gorgonia.Node, error) {
	if slices.Equal(big, small) {
		return g, nil
	}
	return gorgonia.ApplyOp(&broadcastOp{small: slices.Clone(small), big: slices.Clone(big), reduce: true}, g)
}

type binaryOp struct {
	buf         kept
	kind        binKind
	sa, sb, out []int
	noGrad      [2]bool // operands no gradient flows into
}

func (op *binaryOp) Arity() int { return 2 }
func (op *binaryOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorTypeOf(len(op.sa), a), tensorTypeOf(len(op.sb), a), tensorTypeOf(len(op.out), a))
}
func (op *binaryOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(slices.Clone(op.out)), nil
}
func (op *binaryOp) ReturnsPtr() bool      { return false }
func (op *binaryOp) CallsExtern() bool     { return false }
func (op *binaryOp) OverwritesInput() int  { return -1 }
func (op *binaryOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *binaryOp) Hashcode() uint32      { return opHash(op) }
func (op *binaryOp) String() string {
	return fmt.Sprintf("%s{%v, %v -> %v}", binNames[op.kind], op.sa, op.sb, op.out)
}

func (op *binaryOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs, got %d", op, len(in))
	}
	da, err := floatData(op, in[0])
	if err != nil {
		return nil, err
	}
	db, err := floatData(op, in[1])
	if err != nil {
		return nil, err
	}
	size := max(1, tensor.Shape(op.out).TotalSize())
	switch a := da.(type) {
	case []float64:
		y := keep[float64](&op.buf, size, false)
		binaryKernel(op, a, db.([]float64), y)
		return newValue(tensor.Float64, op.out, y), nil
	case []float32:
		y := keep[float32](&op.buf, size, false)
		binaryKernel(op, a, db.([]float32), y)
		return newValue(tensor.Float32, op.out, y), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, da)
}

// binaryKernel writes y = a ⊕ b over rows of y's last axis, in parallel
// chunks of rows; each operand is read through its broadcast strides.
func binaryKernel[T float32 | float64](op *binaryOp, a, b, y []T) {
	out := op.out
	sta, stb := smallStrides(op.sa, out), smallStrides(op.sb, out)
	last := 1
	if len(out) > 0 {
		last = out[len(out)-1]
	}
	rows := len(y) / last
	var la, lb int // the operands' strides along the last axis (0 or 1)
	if len(out) > 0 {
		la, lb = sta[len(out)-1], stb[len(out)-1]
	}
	vec.Chunks(len(y), func(_, lo, hi int) {
		r0, r1 := lo*rows/len(y), hi*rows/len(y)
		for r := r0; r < r1; r++ {
			// The offsets of row r's first element in a and b.
			oa, ob, rest := 0, 0, r
			for ax := len(out) - 2; ax >= 0; ax-- {
				i := rest % out[ax]
				rest /= out[ax]
				oa += i * sta[ax]
				ob += i * stb[ax]
			}
			binaryRow(op.kind, a, b, y[r*last:(r+1)*last], oa, ob, la, lb)
		}
	})
}

// binaryRow computes one row: y[j] = a[oa + j·la] ⊕ b[ob + j·lb].
func binaryRow[T float32 | float64](kind binKind, a, b, y []T, oa, ob, la, lb int) {
	switch {
	case la == 1 && lb == 1:
		ar, br := a[oa:oa+len(y)], b[ob:ob+len(y)]
		for j := range y {
			y[j] = apply(kind, ar[j], br[j])
		}
	case la == 1:
		ar, bv := a[oa:oa+len(y)], b[ob]
		for j := range y {
			y[j] = apply(kind, ar[j], bv)
		}
	case lb == 1:
		av, br := a[oa], b[ob:ob+len(y)]
		for j := range y {
			y[j] = apply(kind, av, br[j])
		}
	default:
		v := apply(kind, a[oa], b[ob])
		for j := range y {
			y[j] = v
		}
	}
}

func apply[T float32 | float64](kind binKind, x, z T) T {
	switch kind {
	case binAdd:
		return x + z
	case binSub:
		return x - z
	case binMul:
		return x * z
	}
	return x / z
}

func (op *binaryOp) DiffWRT(int) []bool { return []bool{!op.noGrad[0], !op.noGrad[1]} }

func (op *binaryOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	a, b := inputs[0], inputs[1]
	var ga, gb *gorgonia.Node // the gradients before reducing, of the output's shape
	var err error
	if op.noGrad[0] || op.noGrad[1] {
		return op.oneSided(a, b, output, grad)
	}
	switch op.kind {
	case binAdd:
		ga, gb = grad, grad
	case binSub:
		ga = grad
		gb, err = gorgonia.Neg(grad)
	case binMul:
		if ga, err = broadcastBinary(binMul, grad, b); err == nil {
			gb, err = broadcastBinary(binMul, grad, a)
		}
	case binDiv:
		if ga, err = broadcastBinary(binDiv, grad, b); err == nil {
			var t *gorgonia.Node
			if t, err = broadcastBinary(binMul, ga, output); err == nil {
				gb, err = gorgonia.Neg(t)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	da, err := reduceTo(ga, op.out, op.sa)
	if err != nil {
		return nil, err
	}
	db, err := reduceTo(gb, op.out, op.sb)
	return gorgonia.Nodes{da, db}, err
}

// oneSided is SymDiff when one operand takes no gradient: only the other
// one's is built (nil for the first).
func (op *binaryOp) oneSided(a, b, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	res := make(gorgonia.Nodes, 2)
	var g *gorgonia.Node
	var err error
	if !op.noGrad[0] {
		switch op.kind {
		case binAdd, binSub:
			g = grad
		case binMul:
			g, err = broadcastBinary(binMul, grad, b)
		case binDiv:
			g, err = broadcastBinary(binDiv, grad, b)
		}
		if err == nil {
			res[0], err = reduceTo(g, op.out, op.sa)
		}
	} else if !op.noGrad[1] {
		switch op.kind {
		case binAdd:
			g = grad
		case binSub:
			g, err = gorgonia.Neg(grad)
		case binMul:
			g, err = broadcastBinary(binMul, grad, a)
		case binDiv:
			var t *gorgonia.Node
			if t, err = broadcastBinary(binDiv, grad, b); err == nil {
				if t, err = broadcastBinary(binMul, t, output); err == nil {
					g, err = gorgonia.Neg(t)
				}
			}
		}
		if err == nil {
			res[1], err = reduceTo(g, op.out, op.sb)
		}
	}
	return res, err
}
