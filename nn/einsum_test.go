package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refEinsum evaluates spec by brute force: loop over every assignment of
// every letter, multiply the operand entries, add into the output entry.
// Size-1 axes broadcast. Returns the output shape and data.
func refEinsum(t *testing.T, spec string, ins []*tensor.Dense) ([]int, []float64) {
	t.Helper()
	s, err := parseEinsum(spec, len(ins))
	if err != nil {
		t.Fatalf("parse %q: %v", spec, err)
	}
	size := map[byte]int{}
	for i, sub := range s.inputs {
		for j, c := range sub {
			size[c] = max(size[c], ins[i].Shape()[j])
		}
	}
	var letters []byte
	for c := range size {
		letters = append(letters, c)
	}
	slices.Sort(letters)
	outShape := make([]int, len(s.output))
	outSize := 1
	for i, c := range s.output {
		outShape[i] = size[c]
		outSize *= size[c]
	}
	out := make([]float64, outSize)
	val := map[byte]int{}
	offset := func(sub []byte, shape []int) int {
		off := 0
		for j, c := range sub {
			v := val[c]
			if shape[j] == 1 {
				v = 0
			}
			off = off*shape[j] + v
		}
		return off
	}
	var rec func(int)
	rec = func(k int) {
		if k == len(letters) {
			p := 1.0
			for i, sub := range s.inputs {
				p *= ins[i].Data().([]float64)[offset(sub, ins[i].Shape())]
			}
			out[offset(s.output, outShape)] += p
			return
		}
		for v := range size[letters[k]] {
			val[letters[k]] = v
			rec(k + 1)
		}
	}
	rec(0)
	return outShape, out
}

var einsumCases = []struct {
	spec   string
	shapes [][]int
}{
	{"fbi,fij->fbj", [][]int{{3, 4, 2}, {3, 2, 5}}},               // folded batched matmul
	{"bij,bjk->bik", [][]int{{2, 3, 4}, {2, 4, 3}}},               // batched matmul
	{"ij,jk->ik", [][]int{{3, 4}, {4, 2}}},                        // matmul
	{"ij,jk", [][]int{{3, 4}, {4, 2}}},                            // implicit output "ik"
	{"bi,bj->bij", [][]int{{3, 2}, {3, 4}}},                       // batched outer product
	{"i,j->ij", [][]int{{3}, {4}}},                                // outer product
	{"ij->ji", [][]int{{3, 4}}},                                   // transpose
	{"ijk->kij", [][]int{{2, 3, 4}}},                              // 3-D permutation
	{"ii->", [][]int{{4, 4}}},                                     // trace
	{"ii", [][]int{{4, 4}}},                                       // implicit trace
	{"ii->i", [][]int{{4, 4}}},                                    // diagonal
	{"iij->ji", [][]int{{3, 3, 2}}},                               // partial diagonal
	{"ij->i", [][]int{{3, 4}}},                                    // row sums
	{"ijkl->jl", [][]int{{2, 3, 2, 3}}},                           // sums over two middle letters
	{"ij->", [][]int{{3, 4}}},                                     // total sum
	{"i,i->", [][]int{{5}, {5}}},                                  // dot product
	{"i,i->i", [][]int{{5}, {5}}},                                 // Hadamard
	{"bi,bi->b", [][]int{{3, 4}, {3, 4}}},                         // batched dot
	{"ij,ij->ij", [][]int{{3, 4}, {3, 4}}},                        // Hadamard 2-D
	{"ij,ji->ij", [][]int{{3, 4}, {4, 3}}},                        // Hadamard with a transpose
	{"ik,jk->ij", [][]int{{3, 4}, {2, 4}}},                        // A·Bᵀ
	{"i,j->", [][]int{{3}, {4}}},                                  // product of sums
	{"i,j->j", [][]int{{3}, {4}}},                                 // scalar times vector
	{"bk,fbk->fb", [][]int{{2, 3}, {4, 2, 3}}},                    // batch letter not first
	{"fbi,fbj,fij->fb", [][]int{{2, 3, 2}, {2, 3, 3}, {2, 2, 3}}}, // three operands
	{"ij,jk,kl->il", [][]int{{2, 3}, {3, 4}, {4, 2}}},             // chain
	{"bi,ij->bj", [][]int{{1, 3}, {3, 2}}},                        // batch size 1
	{"fbi,fij->fbj", [][]int{{1, 4, 2}, {3, 2, 5}}},               // broadcast size-1 fold
	{"abcd,cd->ab", [][]int{{2, 3, 2, 2}, {2, 2}}},                // 4-D contraction
	{"abcd,bd->ac", [][]int{{2, 3, 2, 2}, {3, 2}}},                // contraction over non-adjacent axes
}

// TestEinsumForward compares every spec kind with the brute-force loop, in
// float64 and float32.
func TestEinsumForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range einsumCases {
		ins := make([]*tensor.Dense, len(c.shapes))
		for i, sh := range c.shapes {
			ins[i] = gcRand(rng, -1, 1, sh...)
		}
		wantShape, want := refEinsum(t, c.spec, ins)
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			in, tol := ins, 1e-12
			if dt == tensor.Float32 {
				in, tol = make([]*tensor.Dense, len(ins)), 1e-5
				for i := range ins {
					in[i] = gcFloat32(ins[i])
				}
			}
			gotShape, got, err := gcForward(in, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
				return einsum(c.spec, xs...)
			})
			if err != nil {
				t.Fatalf("%s %v: %v", c.spec, dt, err)
			}
			if len(wantShape) == 0 {
				if gotShape.TotalSize() != 1 || len(gotShape) > 1 {
					t.Fatalf("%s: shape %v, want a scalar", c.spec, gotShape)
				}
			} else if !gotShape.Eq(tensor.Shape(wantShape)) {
				t.Fatalf("%s: shape %v, want %v", c.spec, gotShape, wantShape)
			}
			if d := gcMaxAbsDiff(gcAsFloat64(got), want); d > tol {
				t.Fatalf("%s %v: max |diff| %g\n got %v\nwant %v", c.spec, dt, d, got, want)
			}
		}
	}
}

// TestEinsumGradients: finite-difference gradient check of every spec kind.
func TestEinsumGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range einsumCases {
		t.Run(strings.ReplaceAll(c.spec, "->", "_to_"), func(t *testing.T) {
			ins := make([]*tensor.Dense, len(c.shapes))
			for i, sh := range c.shapes {
				ins[i] = gcRand(rng, -1, 1, sh...)
			}
			gradCheck(t, ins, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
				return einsum(c.spec, xs...)
			})
		})
	}
}

// TestEinsumSameInputTwice: one node used as both operands (x·xᵀ) gets the
// sum of both gradient paths.
func TestEinsumSameInputTwice(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := gcRand(rng, -1, 1, 3, 4)
	gradCheck(t, []*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return einsum("ik,jk->ij", xs[0], xs[0])
	})
}

// TestParseEinsumImplicit: without "->" the output is the letters that
// appear once, sorted.
func TestParseEinsumImplicit(t *testing.T) {
	for _, c := range []struct {
		spec string
		n    int
		out  string
	}{
		{"ij,jk", 2, "ik"}, {"ba", 1, "ab"}, {"ii", 1, ""}, {"ij,ij", 2, ""},
		{"fbi, fij", 2, "bj"}, {"zy,yx", 2, "xz"},
	} {
		s, err := parseEinsum(c.spec, c.n)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		if string(s.output) != c.out {
			t.Fatalf("%q: output %q, want %q", c.spec, s.output, c.out)
		}
	}
}

// TestEinsumErrors: parse errors and shape mismatches name the op, the
// spec and the shapes involved.
func TestEinsumErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	a := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(3, 4), gorgonia.WithName("a"))
	b := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(5, 2), gorgonia.WithName("b"))
	sq := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(3, 4), gorgonia.WithName("sq"))
	for _, c := range []struct {
		spec string
		ops  []*gorgonia.Node
		want []string
	}{
		{"ij,jk->ik", []*gorgonia.Node{a, b}, []string{"einsum", `"ij,jk->ik"`, "'j'", "(3, 4)", "(5, 2)"}},
		{"ij->ik", []*gorgonia.Node{a}, []string{"einsum", "'k'", "does not appear"}},
		{"ij,jk->ik", []*gorgonia.Node{a}, []string{"einsum", "2 operand subscripts for 1"}},
		{"ijk->i", []*gorgonia.Node{a}, []string{"einsum", "(3, 4)", "3"}},
		{"i1->i", []*gorgonia.Node{a}, []string{"einsum", "'1'"}},
		{"...i->i", []*gorgonia.Node{a}, []string{"einsum", "ellipsis"}},
		{"ij->ii", []*gorgonia.Node{a}, []string{"einsum", "repeated"}},
		{"ii->i", []*gorgonia.Node{sq}, []string{"einsum", "'i'", "(3, 4)"}},
		{"ij->j->i", []*gorgonia.Node{a}, []string{"einsum", "->"}},
	} {
		_, err := einsum(c.spec, c.ops...)
		if err == nil {
			t.Fatalf("%q: no error", c.spec)
		}
		if !gcContainsAll(err.Error(), c.want...) {
			t.Fatalf("%q: error %q lacks %q", c.spec, err, c.want)
		}
	}
}

// FuzzParseEinsum: the parser never panics, and an accepted spec has one
// subscript string per operand, only letters, and an output of distinct
// letters that all occur in some operand.
func FuzzParseEinsum(f *testing.F) {
	for _, c := range einsumCases {
		f.Add(c.spec, len(c.shapes))
	}
	f.Add("ij->j->i", 1)
	f.Add("...i->i", 1)
	f.Add(",->", 2)
	f.Fuzz(func(t *testing.T, spec string, n int) {
		if n < 1 || n > 8 {
			return
		}
		s, err := parseEinsum(spec, n)
		if err != nil {
			return
		}
		if len(s.inputs) != n {
			t.Fatalf("%q: %d inputs for %d operands", spec, len(s.inputs), n)
		}
		in := map[byte]bool{}
		for _, sub := range s.inputs {
			if len(sub) == 0 {
				t.Fatalf("%q: empty operand subscripts accepted", spec)
			}
			for _, c := range sub {
				if !isEinsumLetter(c) {
					t.Fatalf("%q: non-letter %q accepted", spec, c)
				}
				in[c] = true
			}
		}
		seen := map[byte]bool{}
		for _, c := range s.output {
			if seen[c] || !in[c] {
				t.Fatalf("%q: bad output %q", spec, s.output)
			}
			seen[c] = true
		}
	})
}

// benchGraph builds f on float32 inputs of the given shapes plus the
// gradient of the sum of its output, and times forward+backward runs.
func benchGraph(b *testing.B, shapes [][]int, f func(xs []*gorgonia.Node) (*gorgonia.Node, error)) {
	rng := rand.New(rand.NewPCG(1, 1))
	g := gorgonia.NewGraph()
	vals := make([]*tensor.Dense, len(shapes))
	for i, sh := range shapes {
		vals[i] = gcFloat32(gcRand(rng, -1, 1, sh...))
	}
	xs := gcInputs(g, "x", vals)
	y, err := f(xs)
	if err != nil {
		b.Fatal(err)
	}
	flat := gorgonia.Must(gorgonia.Reshape(y, tensor.Shape{y.Shape().TotalSize()}))
	loss := gorgonia.Must(gorgonia.Sum(flat))
	if _, err := gorgonia.Grad(loss, xs...); err != nil {
		b.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	b.ResetTimer()
	for range b.N {
		m.Reset()
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEinsumFoldedMatMul: one folded layer's contraction at the sizes
// of docs/PERFORMANCE.md's CP-op benchmarks (F=64, B=256, K=32, float32),
// forward+backward.
func BenchmarkEinsumFoldedMatMul(b *testing.B) {
	benchGraph(b, [][]int{{64, 256, 32}, {64, 32, 32}}, func(xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return einsum("fbi,fij->fbj", xs...)
	})
}

// BenchmarkEinsumBatchNotLeading: the batch letter must be moved to the
// front (a transpose each way) before the batched matmul.
func BenchmarkEinsumBatchNotLeading(b *testing.B) {
	benchGraph(b, [][]int{{256, 64, 32}, {64, 32, 32}}, func(xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return einsum("bfi,fij->fbj", xs...)
	})
}

// TestEinsumCopiesReshapes: no einsum leaves Gorgonia's reshape in the
// graph. Its view shares the input's storage while the register allocator
// treats them as distinct values (TestGorgoniaReshapeAliasDefect); in a
// large circuit's program that let one register's value overwrite another
// and a training step fail on a shape mismatch.
func TestEinsumCopiesReshapes(t *testing.T) {
	for _, c := range einsumCases {
		g := gorgonia.NewGraph()
		xs := make([]*gorgonia.Node, len(c.shapes))
		for i, sh := range c.shapes {
			xs[i] = gorgonia.NewTensor(g, tensor.Float64, len(sh), gorgonia.WithShape(sh...), gorgonia.WithName(fmt.Sprint("x", i)))
		}
		if _, err := einsum(c.spec, xs...); err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		for _, n := range g.AllNodes() {
			if op := n.Op(); op != nil && fmt.Sprintf("%T", op) == "gorgonia.reshapeOp" {
				t.Errorf("%s: Gorgonia's %v in the graph", c.spec, op)
			}
		}
	}
}
