package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// refConv2d is the convolution by its definition:
// y[n, o, i, j] = Σ_{c, a, b} x[n, c, i·sh − ph + a, j·sw − pw + b] · w[o, c, a, b]
// with x zero outside the image.
func refConv2d(x []float64, xs []int, w []float64, ws []int, stride, pad [2]int) ([]int, []float64) {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	co, kh, kw := ws[0], ws[2], ws[3]
	oh := (h+2*pad[0]-kh)/stride[0] + 1
	ow := (wd+2*pad[1]-kw)/stride[1] + 1
	y := make([]float64, n*co*oh*ow)
	for b := range n {
		for o := range co {
			for i := range oh {
				for j := range ow {
					s := 0.0
					for ci := range c {
						for a := range kh {
							for e := range kw {
								r, q := i*stride[0]-pad[0]+a, j*stride[1]-pad[1]+e
								if r >= 0 && r < h && q >= 0 && q < wd {
									s += x[((b*c+ci)*h+r)*wd+q] * w[((o*c+ci)*kh+a)*kw+e]
								}
							}
						}
					}
					y[((b*co+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return []int{n, co, oh, ow}, y
}

// refMaxPool is max pooling by its definition, padding excluded.
func refMaxPool(x []float64, xs []int, k, stride, pad [2]int) ([]int, []float64) {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	oh := (h+2*pad[0]-k[0])/stride[0] + 1
	ow := (wd+2*pad[1]-k[1])/stride[1] + 1
	y := make([]float64, n*c*oh*ow)
	for b := range n * c {
		for i := range oh {
			for j := range ow {
				m := math.Inf(-1)
				for a := range k[0] {
					for e := range k[1] {
						r, q := i*stride[0]-pad[0]+a, j*stride[1]-pad[1]+e
						if r >= 0 && r < h && q >= 0 && q < wd {
							m = math.Max(m, x[(b*h+r)*wd+q])
						}
					}
				}
				y[(b*oh+i)*ow+j] = m
			}
		}
	}
	return []int{n, c, oh, ow}, y
}

var convCases = []struct {
	x, w        []int
	stride, pad [2]int
}{
	{[]int{1, 1, 5, 5}, []int{1, 1, 3, 3}, [2]int{1, 1}, [2]int{0, 0}},
	{[]int{2, 3, 6, 5}, []int{4, 3, 3, 2}, [2]int{1, 1}, [2]int{0, 0}},
	{[]int{2, 3, 6, 5}, []int{4, 3, 3, 3}, [2]int{2, 1}, [2]int{1, 1}},
	{[]int{2, 2, 7, 7}, []int{3, 2, 5, 5}, [2]int{1, 1}, [2]int{2, 2}},
	{[]int{1, 2, 8, 6}, []int{2, 2, 1, 1}, [2]int{3, 2}, [2]int{0, 1}},
	{[]int{3, 1, 4, 4}, []int{2, 1, 4, 4}, [2]int{1, 1}, [2]int{0, 0}},
}

// TestConvolve2d: Gorgonia's Conv2d against the loop definition in float64
// and float32, and its gradients (input and filters) by finite differences.
func TestConvolve2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	for _, c := range convCases {
		name := fmt.Sprintf("x %v w %v stride %v pad %v", c.x, c.w, c.stride, c.pad)
		x, w := gcRand(rng, -1, 1, c.x...), gcRand(rng, -1, 1, c.w...)
		build := nnBuild(func(xs []*Node) *Node { return Convolve2d(xs[0], xs[1], c.stride, c.pad) })
		shape, want := refConv2d(x.Data().([]float64), c.x, w.Data().([]float64), c.w, c.stride, c.pad)
		checkForwardTol(t, name, []*tensor.Dense{x, w}, build, shape, want, 1e-12, 1e-5)
		gradCheck(t, []*tensor.Dense{x, w}, build)
	}
}

var poolCases = []struct {
	x                 []int
	kernel, stride, p [2]int
}{
	{[]int{1, 1, 4, 4}, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0}},
	{[]int{2, 3, 6, 6}, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0}},
	{[]int{2, 3, 5, 5}, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0}}, // a row and column left over
	{[]int{2, 3, 7, 5}, [2]int{3, 3}, [2]int{2, 2}, [2]int{1, 1}},
	{[]int{2, 3, 7, 5}, [2]int{3, 2}, [2]int{1, 2}, [2]int{0, 0}},
	{[]int{1, 2, 6, 7}, [2]int{3, 2}, [2]int{2, 1}, [2]int{1, 1}},
}

// TestMaxPool: Gorgonia's MaxPool2D against the loop definition in float64
// and float32 (on all-negative inputs too, where a zero padding would win),
// and its gradient by finite differences. Inputs are a shuffled grid of
// distinct values so no window has a tie within the finite-difference step.
func TestMaxPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	for _, c := range poolCases {
		for _, negative := range []bool{false, true} {
			name := fmt.Sprintf("x %v kernel %v stride %v pad %v negative %v", c.x, c.kernel, c.stride, c.p, negative)
			x := distinctValues(rng, c.x, negative)
			build := nnBuild(func(xs []*Node) *Node { return MaxPool(xs[0], c.kernel, c.stride, c.p) })
			shape, want := refMaxPool(x.Data().([]float64), c.x, c.kernel, c.stride, c.p)
			checkForwardTol(t, name, []*tensor.Dense{x}, build, shape, want, 0, 1e-6)
			gradCheck(t, []*tensor.Dense{x}, build)
		}
	}
}

// distinctValues is a tensor of shape holding a random permutation of
// evenly spaced values 0.01 apart, in (0, 2) or (−2, 0).
func distinctValues(rng *rand.Rand, shape []int, negative bool) *tensor.Dense {
	n := tensor.Shape(shape).TotalSize()
	d := make([]float64, n)
	for i, p := range rng.Perm(n) {
		d[i] = 0.01 * float64(p+1)
		if negative {
			d[i] -= 0.01 * float64(n+1)
		}
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// checkForwardTol is checkForward with separate float64 and float32
// tolerances.
func checkForwardTol(t *testing.T, name string, in []*tensor.Dense, build gcBuild, wantShape []int, want []float64, tol64, tol32 float64) {
	t.Helper()
	for _, f32 := range []bool{false, true} {
		xs, tol := in, tol64
		if f32 {
			xs, tol = nil, tol32
			for _, x := range in {
				xs = append(xs, gcCast32(x))
			}
		}
		shape, got, err := gcForward64(xs, build)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(shape, wantShape) {
			t.Fatalf("%s: shape %v, want %v", name, shape, wantShape)
		}
		if d := gcMaxAbsDiff(got, want); d > tol {
			t.Errorf("%s (float32 %v): max |diff| %g > %g", name, f32, d, tol)
		}
	}
}

// TestConv2dLayer runs a Conv2d → ReLU → MaxPool2d program: the output
// against the loops in float32 and float64, the float64 gradients of weight
// and bias by finite differences of the program's loss, and the float32
// gradients against the float64 ones.
func TestConv2dLayer(t *testing.T) {
	cfg := Conv2dConfig{In: 2, Out: 3, Kernel: [2]int{3, 2}, Stride: [2]int{1, 2}, Padding: [2]int{1, 1}}
	xs := []int{2, 2, 6, 7}
	rng := rand.New(rand.NewPCG(85, 86))
	x := make([]float64, tensor.Shape(xs).TotalSize())
	for i := range x {
		x[i] = rng.Float64()*2 - 1
	}
	grads := map[DType][][]float64{}
	for _, dt := range []DType{Float64, Float32} {
		conv := NewConv2d(cfg, dt, rand.New(rand.NewPCG(87, 88)))
		pool := NewMaxPool2d(2, 2, 0)
		g := NewGraph(dt)
		in := g.Input("x", xs...)
		y := pool.Forward(ReLU(conv.Forward(in))) // (2, 3, 3, 2)
		g.Output("y", y)
		prog, err := g.Compile(Minimize(Sum(Square(y))))
		if err != nil {
			t.Fatal(err)
		}
		feed := Feed{"x": x}
		if dt == Float32 {
			feed = Feed{"x": toF32(x)}
		}
		if _, err := prog.Step(feed); err != nil {
			t.Fatal(err)
		}
		// The reference: loops over the same parameter values.
		ws := conv.Weight.Shape()
		_, c := refConv2d(x, xs, conv.Weight.Value(), ws, cfg.Stride, cfg.Padding)
		bias := conv.Bias.Value()
		per := len(c) / (xs[0] * cfg.Out)
		for i := range c {
			c[i] = math.Max(c[i]+bias[(i/per)%cfg.Out], 0)
		}
		ho, wo := (xs[2]+2-3)/1+1, (xs[3]+2-2)/2+1
		wantShape, want := refMaxPool(c, []int{xs[0], cfg.Out, ho, wo}, [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0})
		out, err := prog.Output("y")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.Shape, wantShape) || gcMaxAbsDiff(out.Float64s(), want) > map[DType]float64{Float64: 1e-12, Float32: 1e-5}[dt] {
			t.Errorf("%v: output %v %v, want %v %v", dt, out.Shape, out.Float64s(), wantShape, want)
		}
		if dt == Float64 {
			checkProgramGrad(t, prog, feed, Params(conv), 1e-6)
		}
		for _, p := range Params(conv) {
			switch dt {
			case Float64:
				grads[dt] = append(grads[dt], slices.Clone(p.Grad64()))
			case Float32:
				grads[dt] = append(grads[dt], toF64(p.Grad32()))
			}
		}
	}
	for i := range grads[Float64] {
		for j, v := range grads[Float64][i] {
			if math.Abs(v-grads[Float32][i][j]) > 1e-4*math.Max(1, math.Abs(v)) {
				t.Fatalf("parameter %d element %d: float32 gradient %v, float64 %v", i, j, grads[Float32][i][j], v)
			}
		}
	}
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func TestConvPoolShapeErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func(g *Graph) *Node
		want  string
	}{
		{"channels", func(g *Graph) *Node {
			return Convolve2d(g.Input("x", 1, 2, 5, 5), g.Input("w", 3, 1, 3, 3), [2]int{1, 1}, [2]int{})
		}, "x has 2 channels, w expects 1"},
		{"rank", func(g *Graph) *Node {
			return Convolve2d(g.Input("x", 2, 5, 5), g.Input("w", 3, 2, 3, 3), [2]int{1, 1}, [2]int{})
		}, "want x (N, Cin, H, W)"},
		{"kernel too large", func(g *Graph) *Node {
			return Convolve2d(g.Input("x", 1, 1, 3, 3), g.Input("w", 1, 1, 5, 5), [2]int{1, 1}, [2]int{})
		}, "larger than the padded input"},
		{"zero stride", func(g *Graph) *Node {
			return MaxPool(g.Input("x", 1, 1, 4, 4), [2]int{2, 2}, [2]int{0, 1}, [2]int{})
		}, "must be positive"},
		{"padding over half", func(g *Graph) *Node {
			return MaxPool(g.Input("x", 1, 1, 4, 4), [2]int{2, 2}, [2]int{2, 2}, [2]int{2, 0})
		}, "more than half the kernel"},
	} {
		err := func() (err error) {
			defer func() { err = panicError(recover()) }()
			c.build(NewGraph(Float32))
			return nil
		}()
		var se *ShapeError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a *ShapeError mentioning %q", c.name, err, c.want)
		}
	}
}

// BenchmarkLeNetStep is one training step (forward, backward) of a LeNet
// on a batch of 64 MNIST-sized images in float32.
func BenchmarkLeNetStep(b *testing.B) { benchmarkLeNet(b, 64) }

func benchmarkLeNet(b *testing.B, batch int) {
	rng := rand.New(rand.NewPCG(1, 2))
	net := NewSequential(
		NewConv2d(Conv2dConfig{In: 1, Out: 6, Kernel: [2]int{5, 5}}, Float32, rng), // (B, 6, 24, 24)
		Func(ReLU),
		NewMaxPool2d(2, 2, 0), // (B, 6, 12, 12)
		NewConv2d(Conv2dConfig{In: 6, Out: 16, Kernel: [2]int{5, 5}}, Float32, rng), // (B, 16, 8, 8)
		Func(ReLU),
		NewMaxPool2d(2, 2, 0), // (B, 16, 4, 4)
		Func(Flatten),         // (B, 256)
		NewLinear(256, 120, Float32, true, rng),
		Func(ReLU),
		NewLinear(120, 10, Float32, true, rng),
	)
	g := NewGraph(Float32)
	loss := CrossEntropy(net.Forward(g.Input("x", batch, 1, 28, 28)), g.Labels("y", batch))
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float32, batch*28*28)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int, batch)
	for i := range y {
		y[i] = rng.IntN(10)
	}
	feed := Feed{"x": x, "y": y}
	b.ResetTimer()
	for range b.N {
		if _, err := prog.Step(feed); err != nil {
			b.Fatal(err)
		}
	}
}
