package decomp

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// index returns the multi-index of row-major offset off in shape.
func index(shape []int, off int) []int {
	idx := make([]int, len(shape))
	for n := len(shape) - 1; n >= 0; n-- {
		idx[n] = off % shape[n]
		off /= shape[n]
	}
	return idx
}

func TestUnfoldMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shape := range [][]int{{2, 3, 4}, {3, 1, 2, 5}, {6}, {2, 2}} {
		x := randomTensor(rng, shape...)
		for mode := range shape {
			u, err := x.Unfold(mode)
			if err != nil {
				t.Fatal(err)
			}
			// Entry idx sits in row idx[mode] and in the column numbering
			// the other indices row-major.
			for off, v := range x.Data {
				idx := index(shape, off)
				col := 0
				for n, i := range idx {
					if n != mode {
						col = col*shape[n] + i
					}
				}
				if got := u.At(idx[mode], col); got != v {
					t.Fatalf("%v mode %d: entry %v at (%d, %d) is %v", shape, mode, idx, idx[mode], col, got)
				}
			}
			back, err := Fold(u, mode, shape)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.Data, x.Data) || !slices.Equal(back.Shape, shape) {
				t.Errorf("%v mode %d: Fold(Unfold) differs from the tensor", shape, mode)
			}
		}
	}
}

func TestModeProductMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	shape := []int{3, 4, 2}
	x := randomTensor(rng, shape...)
	for mode := range shape {
		m := mat.NewDense(5, shape[mode], nil)
		for i := range 5 {
			for j := range shape[mode] {
				m.Set(i, j, rng.NormFloat64())
			}
		}
		y, err := x.ModeProduct(m, mode)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(shape)
		want[mode] = 5
		if !slices.Equal(y.Shape, want) {
			t.Fatalf("mode %d: shape %v, want %v", mode, y.Shape, want)
		}
		// y[…, j, …] = Σ_i m[j, i] x[…, i, …].
		for off := range y.Data {
			idx := index(y.Shape, off)
			var sum float64
			for i := range shape[mode] {
				src := slices.Clone(idx)
				src[mode] = i
				sum += m.At(idx[mode], i) * x.At(src...)
			}
			if got := y.Data[off]; math.Abs(got-sum) > 1e-13 {
				t.Errorf("mode %d entry %v = %v, want %v", mode, idx, got, sum)
			}
		}
	}
}

func TestPermuteMatchesDefinition(t *testing.T) {
	x := randomTensor(rand.New(rand.NewPCG(3, 3)), 2, 3, 4, 5)
	axes := []int{2, 0, 3, 1}
	y, err := x.Permute(axes...)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{4, 2, 5, 3}; !slices.Equal(y.Shape, want) {
		t.Fatalf("shape %v, want %v", y.Shape, want)
	}
	for off, v := range y.Data {
		idx := index(y.Shape, off)
		src := make([]int, 4)
		for n, a := range axes {
			src[a] = idx[n]
		}
		if w := x.At(src...); v != w {
			t.Fatalf("entry %v = %v, want x%v = %v", idx, v, src, w)
		}
	}
}

func TestReshapeSharesData(t *testing.T) {
	x := randomTensor(rand.New(rand.NewPCG(4, 4)), 2, 6)
	y, err := x.Reshape(3, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	y.Data[5] = 42
	if x.Data[5] != 42 || x.At(0, 5) != 42 || y.At(1, 0, 1) != 42 {
		t.Error("Reshape copied the data")
	}
}

func TestSliceConversions(t *testing.T) {
	f32 := []float32{1.5, -2, 3.25, 1e-3, 7, 0}
	x, err := FromSlice(f32, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := ToSlice[float32](x); !slices.Equal(got, f32) {
		t.Errorf("float32 round trip gave %v", got)
	}
	f32[0] = 9
	if x.Data[0] != 1.5 {
		t.Error("FromSlice did not copy")
	}
	m := mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6})
	if got := MatrixToSlice[float32](m.T()); !slices.Equal(got, []float32{1, 4, 2, 5, 3, 6}) {
		t.Errorf("MatrixToSlice of the transpose gave %v", got)
	}
	z, err := New(2, 1, 3)
	if err != nil || z.Len() != 6 || z.Order() != 3 || z.Norm() != 0 {
		t.Errorf("New(2, 1, 3) = %v, %v", z, err)
	}
}

func TestRelativeError(t *testing.T) {
	a, _ := FromSlice([]float64{3, 4}, 2)
	b, _ := FromSlice([]float64{3, 1}, 2)
	if e, err := RelativeError(a, b); err != nil || e != 3.0/5 {
		t.Errorf("RelativeError = %v, %v, want 0.6", e, err)
	}
	zero, _ := New(2)
	if e, err := RelativeError(zero, b); err != nil || math.Abs(e-math.Sqrt(10)) > 1e-15 {
		t.Errorf("RelativeError from zero = %v, %v, want √10", e, err)
	}
}

func TestTensorBadInput(t *testing.T) {
	x := randomTensor(rand.New(rand.NewPCG(5, 5)), 2, 3)
	other := randomTensor(rand.New(rand.NewPCG(5, 5)), 3, 2)
	broken := &Tensor{Shape: []int{2, 3}, Data: make([]float64, 4)}
	for _, c := range []struct {
		name      string
		err       error
		fn, input string
	}{
		{"New empty", second(New()), "New", "shape"},
		{"New zero size", second(New(2, 0)), "New", "shape"},
		{"FromSlice short", second(FromSlice([]float32{1, 2}, 3)), "FromSlice", "data"},
		{"FromSlice negative", second(FromSlice([]float64{}, -1)), "FromSlice", "shape"},
		{"Reshape count", second(x.Reshape(4, 2)), "Tensor.Reshape", "shape"},
		{"Reshape broken", second(broken.Reshape(4)), "Tensor.Reshape", "tensor"},
		{"Permute repeat", second(x.Permute(0, 0)), "Tensor.Permute", "axes"},
		{"Permute length", second(x.Permute(0)), "Tensor.Permute", "axes"},
		{"Unfold mode", second(x.Unfold(2)), "Tensor.Unfold", "mode"},
		{"Unfold broken", second(broken.Unfold(0)), "Tensor.Unfold", "tensor"},
		{"Fold size", second(Fold(mat.NewDense(2, 2, nil), 0, []int{2, 3})), "Fold", "matrix"},
		{"Fold mode", second(Fold(mat.NewDense(2, 3, nil), 2, []int{2, 3})), "Fold", "mode"},
		{"ModeProduct columns", second(x.ModeProduct(mat.NewDense(2, 2, nil), 1)), "Tensor.ModeProduct", "matrix"},
		{"ModeProduct mode", second(x.ModeProduct(mat.NewDense(2, 2, nil), -1)), "Tensor.ModeProduct", "mode"},
		{"RelativeError shapes", second(RelativeError(x, other)), "RelativeError", "approx"},
		{"RelativeError nil", second(RelativeError(nil, x)), "RelativeError", "ref"},
	} {
		checkInputErr(t, c.name, c.err, c.fn, c.input)
	}
}

// second returns the error of a two-value call.
func second[T any](_ T, err error) error { return err }

// TestZeroTensor checks that every method returns a zero reconstruction,
// with no NaN, for the zero tensor (whose relative error is the absolute
// one).
func TestZeroTensor(t *testing.T) {
	x, err := New(3, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]func() (*Tensor, error){
		"CPALS":         func() (*Tensor, error) { return fullOf(CPALS(x, 2, nil)) },
		"NonNegativeCP": func() (*Tensor, error) { return fullOf(NonNegativeCP(x, 2, &CPOptions{Init: InitSVD})) },
		"HOSVD":         func() (*Tensor, error) { return fullOf(HOSVD(x, []int{2, 2, 2})) },
		"HOOI":          func() (*Tensor, error) { return fullOf(HOOI(x, []int{3, 1, 2}, nil)) },
		"TTSVD":         func() (*Tensor, error) { return fullOf(TTSVD(x, &TTOptions{Tol: 0.1})) },
	}
	for name, fit := range results {
		y, err := fit()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, v := range y.Data {
			if v != 0 {
				t.Errorf("%s: entry %d of the zero tensor's reconstruction is %v", name, i, v)
				break
			}
		}
	}
}

// TestCPFullOneMode checks the one-mode CP, Σᵣ λᵣ aᵣ = A·λ.
func TestCPFullOneMode(t *testing.T) {
	c := &CP{Weights: []float64{2, -1}, Factors: []*mat.Dense{mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 1})}}
	if got := c.Full(); !slices.Equal(got.Data, []float64{2, -1, 1}) || !slices.Equal(got.Shape, []int{3}) {
		t.Errorf("Full() = %v %v, want [3] [2 -1 1]", got.Shape, got.Data)
	}
}

// randomTensor returns a tensor of the given shape with standard normal
// entries.
func randomTensor(rng *rand.Rand, shape ...int) *Tensor {
	t, err := New(shape...)
	if err != nil {
		panic(err)
	}
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64()
	}
	return t
}

// relErrT is RelativeError that fails t on an error.
func relErrT(t *testing.T, ref, approx *Tensor) float64 {
	t.Helper()
	e, err := RelativeError(ref, approx)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
