package nn

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
)

// The elementwise and linear-algebra ops below check shapes before they reach
// Gorgonia, so a mistake panics with a *ShapeError naming the op and both
// shapes instead of a Gorgonia type-system message.
//
// Add, Sub, Mul and Div broadcast as NumPy and PyTorch do (see
// broadcast.go): x (N, C, H, W) + b (C, 1, 1) -> (N, C, H, W).

// Add returns a + b, broadcast.
func Add(a, b *Node) *Node { return elementwise("Add", binAdd, G.Add, a, b) }

// Sub returns a − b, broadcast.
func Sub(a, b *Node) *Node { return elementwise("Sub", binSub, G.Sub, a, b) }

// Mul returns the elementwise product a ⊙ b, broadcast.
func Mul(a, b *Node) *Node { return elementwise("Mul", binMul, G.HadamardProd, a, b) }

// Div returns the elementwise quotient a ⊘ b, broadcast.
func Div(a, b *Node) *Node { return elementwise("Div", binDiv, G.HadamardDiv, a, b) }

// elementwise applies Gorgonia's op f to operands of one shape, and the
// broadcasting op of binary.go to operands of different shapes.
func elementwise(op string, kind binKind, f func(a, b *G.Node) (*G.Node, error), a, b *Node) *Node {
	g := sameGraph(op, a, b)
	if a.n.Dtype() != b.n.Dtype() {
		panic(shapeErr(op, fmt.Sprintf("element types %v and %v differ", a.n.Dtype(), b.n.Dtype()), a, b))
	}
	if _, ok := broadcastShape(a.Shape(), b.Shape()); !ok {
		panic(shapeErr(op, "shapes do not broadcast (aligned from the right, each pair of dimensions must be equal or one of them 1)", a, b))
	}
	if !slices.Equal(a.Shape(), b.Shape()) {
		n, err := broadcastBinary(kind, a.n, b.n)
		return g.wrap(must(op, n, err, a, b))
	}
	n, err := f(a.n, b.n)
	return g.wrap(must(op, n, err, a, b))
}

// AddBias returns x + b broadcast over the leading axis: x (N, D), b (D).
func AddBias(x, b *Node) *Node {
	g := sameGraph("AddBias", x, b)
	xs, bs := x.Shape(), b.Shape()
	if len(xs) != 2 || len(bs) != 1 || xs[1] != bs[0] {
		panic(shapeErr("AddBias", "want x (N, D) and b (D)", x, b))
	}
	b2, err := copyReshape(b.n, []int{1, bs[0]})
	must("AddBias", b2, err, x, b)
	n, err := G.BroadcastAdd(x.n, b2, nil, []byte{0})
	return g.wrap(must("AddBias", n, err, x, b))
}

// Scale returns c·x for a constant c.
func Scale(x *Node, c float64) *Node {
	k := x.g.Const([]float64{c})
	n, err := G.Mul(x.n, k.n)
	return x.g.wrap(must("Scale", n, err, x))
}

// MatMul returns the matrix product a·b: a (M, K), b (K, N) -> (M, N).
func MatMul(a, b *Node) *Node {
	g := sameGraph("MatMul", a, b)
	as, bs := a.Shape(), b.Shape()
	if len(as) != 2 || len(bs) != 2 || as[1] != bs[0] {
		panic(shapeErr("MatMul", "want (M, K) and (K, N)", a, b))
	}
	n, err := G.Mul(a.n, b.n)
	return g.wrap(must("MatMul", n, err, a, b))
}

// Neg returns −x.
func Neg(x *Node) *Node { return unary("Neg", G.Neg, x) }

// Square returns x ⊙ x.
func Square(x *Node) *Node { return unary("Square", G.Square, x) }

func unary(op string, f func(*G.Node) (*G.Node, error), x *Node) *Node {
	n, err := f(x.n)
	return x.g.wrap(must(op, n, err, x))
}

// Sum returns the sum of every element (a scalar).
func Sum(x *Node) *Node {
	if len(x.Shape()) == 0 {
		return x
	}
	n, err := G.Sum(x.n, allAxes(x)...)
	return x.g.wrap(must("Sum", n, err, x))
}

// Mean returns the mean of every element (a scalar).
func Mean(x *Node) *Node {
	size := 1
	for _, s := range x.Shape() {
		size *= s
	}
	return Scale(Sum(x), 1/float64(size))
}

func allAxes(x *Node) []int {
	ax := make([]int, len(x.Shape()))
	for i := range ax {
		ax[i] = i
	}
	return ax
}

// Reshape returns x with a new shape of the same size, as a copy (see
// reshape.go for why not a view).
func Reshape(x *Node, shape ...int) *Node {
	size, want := 1, 1
	for _, s := range x.Shape() {
		size *= s
	}
	for _, s := range shape {
		want *= s
	}
	if size != want {
		panic(&ShapeError{Op: "Reshape", Shapes: [][]int{x.Shape(), shape}, Msg: "sizes differ"})
	}
	if slices.Equal(x.Shape(), shape) {
		return x
	}
	if len(shape) == 0 {
		// Gorgonia's 0-dimensional tensors do not mix with its scalars;
		// the sum of the single element is a true scalar.
		return Sum(x)
	}
	n, err := copyReshape(x.n, shape)
	return x.g.wrap(must("Reshape", n, err, x))
}

// Transpose permutes the axes of x (no permutation: reverse them).
func Transpose(x *Node, perm ...int) *Node {
	n, err := G.Transpose(x.n, perm...)
	return x.g.wrap(must("Transpose", n, err, x))
}
