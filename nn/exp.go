package nn

// Exp and Log as ops of this package: one parallel pass over a buffer the
// op keeps (Gorgonia's run on one goroutine and allocate their result at
// every run), with math32's exponential and logarithm in float32 (as
// Gorgonia's, and several times faster than float64's) and math's in
// float64.
//
//	exp: x -> y = e^x;    dx += dy ⊙ y
//	log: x -> y = log x;  dx += dy ⊘ x

import (
	"fmt"
	"math"

	"github.com/chewxy/math32"
	"github.com/tenpc/tenpc/internal/vec"
	G "gorgonia.org/gorgonia"
)

// Exp returns exp(x) elementwise.
func Exp(x *Node) *Node {
	if len(x.Shape()) == 0 {
		return unary("Exp", G.Exp, x) // a fused op's output is a tensor
	}
	return Apply(unaryOp{exp: true}, checkedFloat("Exp", x))
}

// Log returns log(x) elementwise (−Inf at 0, NaN below).
func Log(x *Node) *Node {
	if len(x.Shape()) == 0 {
		return unary("Log", G.Log, x)
	}
	return Apply(unaryOp{}, checkedFloat("Log", x))
}

func checkedFloat(op string, x *Node) *Node {
	if dt := x.DType(); dt != Float32 && dt != Float64 {
		panic(shapeErr(op, fmt.Sprintf("x is %v, want a float", dt), x))
	}
	return x
}

// unaryOp is exp (exp set) or log.
type unaryOp struct{ exp bool }

func (o unaryOp) Name() string {
	if o.exp {
		return "Exp"
	}
	return "Log"
}
func (o unaryOp) OutShape(in [][]int) ([]int, error) { return in[0], nil }
func (o unaryOp) DiffWRT(int) bool                   { return true }

func (o unaryOp) Forward(in []Buf, out Buf) {
	if out.F32 != nil {
		unaryForward(o.exp, in[0].F32, out.F32)
	} else {
		unaryForward(o.exp, in[0].F64, out.F64)
	}
}

func (o unaryOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	if g.F32 != nil {
		unaryBackward(o.exp, in[0].F32, out.F32, g.F32, dIn[0].F32)
	} else {
		unaryBackward(o.exp, in[0].F64, out.F64, g.F64, dIn[0].F64)
	}
}

func unaryForward[T float32 | float64](exp bool, x, y []T) {
	vec.Chunks(len(x), func(_, lo, hi int) {
		switch xs := any(x[lo:hi]).(type) {
		case []float32:
			ys := any(y[lo:hi]).([]float32)
			for i, v := range xs {
				if exp {
					ys[i] = math32.Exp(v)
				} else {
					ys[i] = math32.Log(v)
				}
			}
		case []float64:
			ys := any(y[lo:hi]).([]float64)
			for i, v := range xs {
				if exp {
					ys[i] = math.Exp(v)
				} else {
					ys[i] = math.Log(v)
				}
			}
		}
	})
}

func unaryBackward[T float32 | float64](exp bool, x, y, g, dx []T) {
	vec.Chunks(len(x), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			if exp {
				dx[i] += g[i] * y[i]
			} else {
				dx[i] += g[i] / x[i]
			}
		}
	})
}
