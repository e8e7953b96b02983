package decomp

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Tensor is a dense real tensor of order len(Shape), stored row-major (C
// order, as NumPy and TensorLy): entry (i₀, …, i_{N−1}) is
// Data[((i₀·I₁ + i₁)·I₂ + …)·I_{N−1} + i_{N−1}], the last index fastest.
//
// A valid Tensor has every Shape entry ≥ 1 and len(Data) equal to their
// product; the functions of this package check that on their inputs and
// return an *InputError otherwise.
type Tensor struct {
	Shape []int
	Data  []float64
}

// New returns a zero tensor of the given shape.
func New(shape ...int) (*Tensor, error) {
	n, err := shapeLen("New", shape)
	if err != nil {
		return nil, err
	}
	return &Tensor{Shape: slices.Clone(shape), Data: make([]float64, n)}, nil
}

// FromSlice returns a tensor of the given shape holding a float64 copy of
// data, which is read row-major.
func FromSlice[T float32 | float64](data []T, shape ...int) (*Tensor, error) {
	n, err := shapeLen("FromSlice", shape)
	if err != nil {
		return nil, err
	}
	if len(data) != n {
		return nil, inputErr("FromSlice", "data", "has %d values, shape %v holds %d", len(data), shape, n)
	}
	d := make([]float64, n)
	for i, v := range data {
		d[i] = float64(v)
	}
	return &Tensor{Shape: slices.Clone(shape), Data: d}, nil
}

// ToSlice returns a copy of t's data, row-major, converted to T.
func ToSlice[T float32 | float64](t *Tensor) []T {
	out := make([]T, len(t.Data))
	for i, v := range t.Data {
		out[i] = T(v)
	}
	return out
}

// MatrixToSlice returns the entries of m, row-major, converted to T; it turns
// a factor matrix into the flat layout nn and circuit weights use.
func MatrixToSlice[T float32 | float64](m mat.Matrix) []T {
	r, c := m.Dims()
	out := make([]T, 0, r*c)
	for i := range r {
		for j := range c {
			out = append(out, T(m.At(i, j)))
		}
	}
	return out
}

// Len returns the number of entries, the product of the shape.
func (t *Tensor) Len() int { return len(t.Data) }

// Order returns the number of modes.
func (t *Tensor) Order() int { return len(t.Shape) }

// At returns the entry at the given multi-index. Like slice indexing, it
// panics when the index has the wrong length or is out of range.
func (t *Tensor) At(idx ...int) float64 {
	if len(idx) != len(t.Shape) {
		panic("decomp: Tensor.At: index length differs from the order")
	}
	off := 0
	for n, i := range idx {
		if i < 0 || i >= t.Shape[n] {
			panic("decomp: Tensor.At: index out of range")
		}
		off = off*t.Shape[n] + i
	}
	return t.Data[off]
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
}

// Norm returns the Frobenius norm, the square root of the sum of squared
// entries.
func (t *Tensor) Norm() float64 { return floats.Norm(t.Data, 2) }

// Reshape returns a tensor of a new shape with the same number of entries
// that shares t's data, as NumPy's reshape of a C-contiguous array.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	if err := t.check("Tensor.Reshape", "tensor", 1); err != nil {
		return nil, err
	}
	n, err := shapeLen("Tensor.Reshape", shape)
	if err != nil {
		return nil, err
	}
	if n != len(t.Data) {
		return nil, inputErr("Tensor.Reshape", "shape", "%v holds %d entries, the tensor has %d", shape, n, len(t.Data))
	}
	return &Tensor{Shape: slices.Clone(shape), Data: t.Data}, nil
}

// Permute returns a copy of t with its modes reordered: mode n of the result
// is mode axes[n] of t, as NumPy's transpose(t, axes).
func (t *Tensor) Permute(axes ...int) (*Tensor, error) {
	if err := t.check("Tensor.Permute", "tensor", 1); err != nil {
		return nil, err
	}
	N := len(t.Shape)
	if len(axes) != N {
		return nil, inputErr("Tensor.Permute", "axes", "%v has %d entries, the tensor has %d modes", axes, len(axes), N)
	}
	seen := make([]bool, N)
	for _, a := range axes {
		if a < 0 || a >= N || seen[a] {
			return nil, inputErr("Tensor.Permute", "axes", "%v is not a permutation of 0..%d", axes, N-1)
		}
		seen[a] = true
	}
	strides := t.strides()
	shape := make([]int, N)
	src := make([]int, N) // stride in t of each result mode
	for n, a := range axes {
		shape[n] = t.Shape[a]
		src[n] = strides[a]
	}
	out := &Tensor{Shape: shape, Data: make([]float64, len(t.Data))}
	idx := make([]int, N)
	off := 0
	for k := range out.Data {
		out.Data[k] = t.Data[off]
		// Advance the result's multi-index like an odometer, the last mode
		// fastest, keeping off the matching offset into t.
		for n := N - 1; n >= 0; n-- {
			idx[n]++
			off += src[n]
			if idx[n] < shape[n] {
				break
			}
			off -= idx[n] * src[n]
			idx[n] = 0
		}
	}
	return out, nil
}

// Unfold returns the mode-n unfolding (matricization) X₍ₙ₎, an Iₙ × ∏_{m≠n} I_m
// matrix: row iₙ holds the entries with that index, its columns ordered
// row-major over the remaining modes in their original order. This is
// TensorLy's unfold (moveaxis(t, n, 0) reshaped), not Kolda and Bader's
// column-major one.
func (t *Tensor) Unfold(mode int) (*mat.Dense, error) {
	if err := t.check("Tensor.Unfold", "tensor", 1); err != nil {
		return nil, err
	}
	if mode < 0 || mode >= len(t.Shape) {
		return nil, inputErr("Tensor.Unfold", "mode", "%d is outside 0..%d", mode, len(t.Shape)-1)
	}
	return t.unfold(mode), nil
}

// unfold is Unfold on a valid tensor and mode.
func (t *Tensor) unfold(mode int) *mat.Dense {
	// View the data as (L, Iₙ, R): L the product of the modes before n, R of
	// the modes after; X₍ₙ₎[i, l·R + r] = Data[(l·Iₙ + i)·R + r].
	L, In, R := splitAt(t.Shape, mode)
	out := make([]float64, len(t.Data))
	cols := L * R
	for l := range L {
		for i := range In {
			copy(out[i*cols+l*R:i*cols+(l+1)*R], t.Data[(l*In+i)*R:(l*In+i+1)*R])
		}
	}
	return mat.NewDense(In, cols, out)
}

// Fold is the inverse of Unfold: it returns the tensor of the given shape
// whose mode-n unfolding is m.
func Fold(m mat.Matrix, mode int, shape []int) (*Tensor, error) {
	n, err := shapeLen("Fold", shape)
	if err != nil {
		return nil, err
	}
	if mode < 0 || mode >= len(shape) {
		return nil, inputErr("Fold", "mode", "%d is outside 0..%d", mode, len(shape)-1)
	}
	r, c := m.Dims()
	if r != shape[mode] || r*c != n {
		return nil, inputErr("Fold", "matrix", "is %d×%d, the mode-%d unfolding of shape %v is %d×%d", r, c, mode, shape, shape[mode], n/shape[mode])
	}
	return fold(mat.DenseCopyOf(m), mode, shape), nil
}

// fold is Fold on a matching row-major matrix.
func fold(m *mat.Dense, mode int, shape []int) *Tensor {
	L, In, R := splitAt(shape, mode)
	raw := m.RawMatrix()
	out := make([]float64, L*In*R)
	for l := range L {
		for i := range In {
			row := raw.Data[i*raw.Stride : i*raw.Stride+L*R]
			copy(out[(l*In+i)*R:(l*In+i+1)*R], row[l*R:(l+1)*R])
		}
	}
	return &Tensor{Shape: slices.Clone(shape), Data: out}
}

// ModeProduct returns the mode-n product t ×ₙ m of t with a J × Iₙ matrix:
// mode n of the result has size J and its mode-n unfolding is m·X₍ₙ₎
// (TensorLy's mode_dot).
func (t *Tensor) ModeProduct(m mat.Matrix, mode int) (*Tensor, error) {
	if err := t.check("Tensor.ModeProduct", "tensor", 1); err != nil {
		return nil, err
	}
	if mode < 0 || mode >= len(t.Shape) {
		return nil, inputErr("Tensor.ModeProduct", "mode", "%d is outside 0..%d", mode, len(t.Shape)-1)
	}
	if _, c := m.Dims(); c != t.Shape[mode] {
		return nil, inputErr("Tensor.ModeProduct", "matrix", "has %d columns, mode %d has size %d", c, mode, t.Shape[mode])
	}
	return t.modeProduct(m, mode), nil
}

// modeProduct is ModeProduct on a valid tensor, mode and matrix.
func (t *Tensor) modeProduct(m mat.Matrix, mode int) *Tensor {
	r, _ := m.Dims()
	var y mat.Dense
	y.Mul(m, t.unfold(mode))
	shape := slices.Clone(t.Shape)
	shape[mode] = r
	return fold(&y, mode, shape)
}

// RelativeError returns ‖ref − approx‖ / ‖ref‖ in the Frobenius norm (the
// absolute error when ref is zero).
func RelativeError(ref, approx *Tensor) (float64, error) {
	if err := ref.check("RelativeError", "ref", 1); err != nil {
		return 0, err
	}
	if err := approx.check("RelativeError", "approx", 1); err != nil {
		return 0, err
	}
	if !slices.Equal(ref.Shape, approx.Shape) {
		return 0, inputErr("RelativeError", "approx", "has shape %v, ref has %v", approx.Shape, ref.Shape)
	}
	return relErr(ref, approx), nil
}

// relErr is RelativeError on valid tensors of one shape.
func relErr(ref, approx *Tensor) float64 {
	d := floats.Distance(ref.Data, approx.Data, 2)
	if nr := ref.Norm(); nr > 0 {
		return d / nr
	}
	return d
}

// check reports whether t is a valid tensor with at least minOrder modes; fn
// and name say where the error came from.
func (t *Tensor) check(fn, name string, minOrder int) error {
	if t == nil {
		return inputErr(fn, name, "is nil")
	}
	if len(t.Shape) < minOrder {
		return inputErr(fn, name, "has %d modes, need at least %d", len(t.Shape), minOrder)
	}
	n := 1
	for _, s := range t.Shape {
		if s < 1 {
			return inputErr(fn, name, "shape %v has a size below 1", t.Shape)
		}
		if n > math.MaxInt/s {
			return inputErr(fn, name, "shape %v has too many entries", t.Shape)
		}
		n *= s
	}
	if len(t.Data) != n {
		return inputErr(fn, name, "has %d values, shape %v holds %d", len(t.Data), t.Shape, n)
	}
	return nil
}

// checkInput is the check every decomposition makes on its tensor: valid, at
// least two modes, every entry finite.
func (t *Tensor) checkInput(fn string) error {
	if err := t.check(fn, "tensor", 2); err != nil {
		return err
	}
	for i, v := range t.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return inputErr(fn, "tensor", "entry %d is %v", i, v)
		}
	}
	return nil
}

// strides returns the row-major stride of every mode.
func (t *Tensor) strides() []int {
	s := make([]int, len(t.Shape))
	acc := 1
	for n := len(t.Shape) - 1; n >= 0; n-- {
		s[n] = acc
		acc *= t.Shape[n]
	}
	return s
}

// shapeLen checks that shape is non-empty with every size ≥ 1 and returns its
// product.
func shapeLen(fn string, shape []int) (int, error) {
	if len(shape) == 0 {
		return 0, inputErr(fn, "shape", "is empty")
	}
	n := 1
	for _, s := range shape {
		if s < 1 {
			return 0, inputErr(fn, "shape", "%v has a size below 1", shape)
		}
		if n > math.MaxInt/s {
			return 0, inputErr(fn, "shape", "%v has too many entries", shape)
		}
		n *= s
	}
	return n, nil
}

// splitAt returns the product of the sizes before mode, the size of mode and
// the product of the sizes after it.
func splitAt(shape []int, mode int) (before, size, after int) {
	before, after = 1, 1
	for _, s := range shape[:mode] {
		before *= s
	}
	for _, s := range shape[mode+1:] {
		after *= s
	}
	return before, shape[mode], after
}
