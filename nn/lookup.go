package nn

// Ops on category data: an embedding lookup with one table per column, a
// cast of integer data to floats, and a stop-gradient.
//
//	Lookup:       tables (N, C, D) (axis 1) or (N, D, C) (axis 2), x (M, P) Uint8|Int -> (N, M, D)
//	              out[n, m, :] = tables[n, x[m, cols[n]], :]   (axis 2: tables[n, :, x[m, cols[n]]])
//	              dtables at the same entries += dout[n, m, :]
//	ToFloat:      x (any) Uint8|Int -> (same) float, no gradient
//	StopGradient: x -> x, no gradient

import (
	"fmt"
	"slices"

	"github.com/tenpc/tenpc/internal/vec"
)

// Lookup selects rows of per-column tables by category data, the way an
// embedding layer does with one table per column: tables (N, C, D) holds N
// tables of C rows of D values (with axis 2: (N, D, C), the categories
// last), x (M, P) is M samples of P categories (Uint8 or Int), and column
// cols[n] of x indexes table n (cols nil: column n, with P = N). The result
// is (N, M, D), out[n, m, :] = tables[n, x[m, cols[n]], :]; the gradient of
// a table entry is the sum of the gradients of the outputs that read it. A
// category outside [0, C) is a programmer error (validate data before
// feeding it) and panics in the run.
func Lookup(tables *Node, axis int, x *Node, cols []int) *Node {
	ts, xs := tables.Shape(), x.Shape()
	if len(ts) != 3 || len(xs) != 2 || (axis != 1 && axis != 2) {
		panic(shapeErr("Lookup", fmt.Sprintf("want tables (N, C, D) (axis 1) or (N, D, C) (axis 2) and x (M, P), axis %d", axis), tables, x))
	}
	c, d := ts[1], ts[2]
	if axis == 2 {
		c, d = ts[2], ts[1]
	}
	if dt := x.DType(); dt != Uint8 && dt != Int {
		panic(shapeErr("Lookup", fmt.Sprintf("x is %v, want Uint8 or Int categories", dt), tables, x))
	}
	if cols == nil {
		if xs[1] != ts[0] {
			panic(shapeErr("Lookup", "without cols, x needs one column per table", tables, x))
		}
	} else {
		if len(cols) != ts[0] {
			panic(shapeErr("Lookup", fmt.Sprintf("%d columns for %d tables", len(cols), ts[0]), tables, x))
		}
		for _, c := range cols {
			if c < 0 || c >= xs[1] {
				panic(shapeErr("Lookup", fmt.Sprintf("column %d outside x's %d", c, xs[1]), tables, x))
			}
		}
	}
	return Apply(&lookupOp{n: ts[0], c: c, d: d, m: xs[0], p: xs[1], last: axis == 2, cols: slices.Clone(cols)}, tables, x)
}

type lookupOp struct {
	n, c, d, m, p int
	last          bool // categories on the last axis: tables (N, D, C)
	cols          []int
}

func (o *lookupOp) Name() string { return fmt.Sprintf("Lookup(%d×%d×%d)", o.n, o.c, o.d) }
func (o *lookupOp) OutShape(in [][]int) ([]int, error) {
	return []int{o.n, o.m, o.d}, nil
}
func (o *lookupOp) DiffWRT(i int) bool { return i == 0 }

// index returns the table row sample m reads in table n.
func (o *lookupOp) index(x Buf, n, m int) int {
	col := n
	if o.cols != nil {
		col = o.cols[n]
	}
	var v int
	if x.U8 != nil {
		v = int(x.U8[m*o.p+col])
	} else {
		v = x.Int[m*o.p+col]
	}
	if v < 0 || v >= o.c {
		panic(fmt.Sprintf("nn: Lookup: sample %d, column %d holds %d, outside [0, %d)", m, col, v, o.c))
	}
	return v
}

func (o *lookupOp) Forward(in []Buf, out Buf) {
	if out.F32 != nil {
		lookupRows(o, in[0].F32, in[1], out.F32, false)
	} else {
		lookupRows(o, in[0].F64, in[1], out.F64, false)
	}
}

func (o *lookupOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	if g.F32 != nil {
		lookupRows(o, dIn[0].F32, in[1], g.F32, true)
	} else {
		lookupRows(o, dIn[0].F64, in[1], g.F64, true)
	}
}

// lookupRows copies table rows into out, or with scatter adds out's rows
// back into the tables; tables in parallel (each is written by one).
func lookupRows[T float32 | float64](o *lookupOp, tables []T, x Buf, out []T, scatter bool) {
	vec.Chunks(o.n*o.m*o.d, func(_, lo, hi int) {
		total := o.n * o.m * o.d
		for n := lo * o.n / total; n < hi*o.n/total; n++ {
			tab := tables[n*o.c*o.d : (n+1)*o.c*o.d]
			for m := range o.m {
				v := o.index(x, n, m)
				dst := out[(n*o.m+m)*o.d:][:o.d]
				switch {
				case o.last && scatter:
					for j, g := range dst {
						tab[j*o.c+v] += g
					}
				case o.last:
					for j := range dst {
						dst[j] = tab[j*o.c+v]
					}
				case scatter:
					row := tab[v*o.d:][:o.d]
					for j, g := range dst {
						row[j] += g
					}
				default:
					copy(dst, tab[v*o.d:][:o.d])
				}
			}
		}
	})
}

// ToFloat converts Uint8 or Int data (a mask, category codes) to the
// graph's float type. It is not differentiable.
func ToFloat(x *Node) *Node {
	if dt := x.DType(); dt != Uint8 && dt != Int {
		panic(shapeErr("ToFloat", fmt.Sprintf("x is %v, want Uint8 or Int", dt), x))
	}
	return Apply(toFloatOp{}, x)
}

type toFloatOp struct{}

func (toFloatOp) Name() string                           { return "ToFloat" }
func (toFloatOp) OutShape(in [][]int) ([]int, error)     { return in[0], nil }
func (toFloatOp) DiffWRT(int) bool                       { return false }
func (toFloatOp) Backward(in []Buf, out, g Buf, d []Buf) {}
func (toFloatOp) Forward(in []Buf, out Buf) {
	x := in[0]
	for i := range out.Len() {
		var v float64
		if x.U8 != nil {
			v = float64(x.U8[i])
		} else {
			v = float64(x.Int[i])
		}
		if out.F32 != nil {
			out.F32[i] = float32(v)
		} else {
			out.F64[i] = v
		}
	}
}

// StopGradient returns x unchanged (a copy), with no gradient flowing back
// through it (torch's detach): for a shift that cancels mathematically,
// such as the maximum subtracted before a log-sum-exp.
func StopGradient(x *Node) *Node {
	if dt := x.DType(); dt != Float32 && dt != Float64 {
		panic(shapeErr("StopGradient", fmt.Sprintf("x is %v, want a float", dt), x))
	}
	return Apply(stopGradOp{}, x)
}

type stopGradOp struct{}

func (stopGradOp) Name() string                           { return "StopGradient" }
func (stopGradOp) OutShape(in [][]int) ([]int, error)     { return in[0], nil }
func (stopGradOp) DiffWRT(int) bool                       { return false }
func (stopGradOp) Identity() bool                         { return true }
func (stopGradOp) Forward(in []Buf, out Buf)              { copy(out.F32, in[0].F32); copy(out.F64, in[0].F64) }
func (stopGradOp) Backward(in []Buf, out, g Buf, d []Buf) {}
