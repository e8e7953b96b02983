package nn

// 2-D convolution and max pooling over NCHW tensors.
//
// Both are Gorgonia's own ops: Conv2d (im2col, one GEMM, a transpose back to
// NCHW; its backward is col2im and the GEMM's) and MaxPool2D (its backward
// routes each output's gradient to the input it took, padding never wins).
// conv_test.go checks their forward against direct loops in float32 and
// float64 and their gradients by finite differences, with strides, padding
// and non-square kernels, so no fused replacement is needed. What this file
// adds is the checking: a shape mistake panics with a *ShapeError naming
// the op and the shapes, not a Gorgonia message.
//
//	Convolve2d: x (N, Cin, H, W), w (Cout, Cin, kh, kw) -> (N, Cout, Ho, Wo)
//	            Ho = (H + 2·ph − kh)/sh + 1, Wo = (W + 2·pw − kw)/sw + 1 (floor)
//	MaxPool:    x (N, C, H, W) -> (N, C, Ho, Wo), Ho and Wo as above

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2d is a 2-D convolution layer (cross-correlation, as in
// torch.nn.Conv2d): x (N, In, H, W) -> (N, Out, Ho, Wo), with Weight
// (Out, In, kh, kw) and Bias (Out), zero padding on both sides of each
// spatial axis.
type Conv2d struct {
	Weight  *Param
	Bias    *Param // nil without bias
	Stride  [2]int // (sh, sw)
	Padding [2]int // (ph, pw) zeros added before and after each axis
}

// Conv2dConfig describes a Conv2d layer. Zero fields take the defaults noted.
type Conv2dConfig struct {
	In, Out int    // input and output channels; required
	Kernel  [2]int // (kh, kw); required
	Stride  [2]int // default (1, 1)
	Padding [2]int // default (0, 0)
	NoBias  bool   // default false: the layer has a bias
}

// NewConv2d returns a convolution layer initialised as PyTorch does: weight
// and bias uniform in ±1/√(In·kh·kw), drawn from rng. It panics on a
// non-positive channel count, kernel or stride, or negative padding.
func NewConv2d(cfg Conv2dConfig, dt DType, rng *rand.Rand) *Conv2d {
	if cfg.Stride == [2]int{} {
		cfg.Stride = [2]int{1, 1}
	}
	if cfg.In <= 0 || cfg.Out <= 0 || cfg.Kernel[0] <= 0 || cfg.Kernel[1] <= 0 ||
		cfg.Stride[0] <= 0 || cfg.Stride[1] <= 0 || cfg.Padding[0] < 0 || cfg.Padding[1] < 0 {
		panic(fmt.Sprintf("nn.NewConv2d: invalid config %+v (channels, kernel and stride must be positive, padding non-negative)", cfg))
	}
	c := &Conv2d{
		Weight:  NewParam("weight", dt, cfg.Out, cfg.In, cfg.Kernel[0], cfg.Kernel[1]),
		Stride:  cfg.Stride,
		Padding: cfg.Padding,
	}
	bound := 1 / math.Sqrt(float64(cfg.In*cfg.Kernel[0]*cfg.Kernel[1]))
	UniformInit(c.Weight, -bound, bound, rng)
	if !cfg.NoBias {
		c.Bias = NewParam("bias", dt, cfg.Out)
		UniformInit(c.Bias, -bound, bound, rng)
	}
	return c
}

// Describe implements Describer: "In → Out, kernel kh×kw, stride, padding".
func (c *Conv2d) Describe() string {
	w := c.Weight.shape
	return fmt.Sprintf("%d → %d, kernel %d×%d, stride %v, padding %v", w[1], w[0], w[2], w[3], c.Stride, c.Padding)
}

// Forward maps x (N, In, H, W) to (N, Out, Ho, Wo).
func (c *Conv2d) Forward(x *Node) *Node {
	g := x.Graph()
	y := Convolve2d(x, g.Param(c.Weight), c.Stride, c.Padding) // (N, Out, Ho, Wo)
	if c.Bias != nil {
		b := Reshape(g.Param(c.Bias), c.Bias.shape[0], 1, 1) // (Out, 1, 1)
		y = Add(y, b)                                        // broadcast over N, Ho, Wo
	}
	return y
}

// Convolve2d cross-correlates x (N, Cin, H, W) with the filters
// w (Cout, Cin, kh, kw), moving by stride and padding with zeros:
// -> (N, Cout, Ho, Wo). No bias.
func Convolve2d(x, w *Node, stride, padding [2]int) *Node {
	g := sameGraph("Convolve2d", x, w)
	n, err := conv2d(x.n, w.n, stride, padding)
	if err != nil {
		panic(shapeErr("Convolve2d", err.Error(), x, w))
	}
	return g.wrap(n)
}

// conv2d checks the shapes and applies Gorgonia's Conv2d.
func conv2d(x, w *G.Node, stride, padding [2]int) (*G.Node, error) {
	xs, ws := nodeShape(x), nodeShape(w)
	if len(xs) != 4 || len(ws) != 4 {
		return nil, fmt.Errorf("want x (N, Cin, H, W) and w (Cout, Cin, kh, kw)")
	}
	if xs[1] != ws[1] {
		return nil, fmt.Errorf("x has %d channels, w expects %d", xs[1], ws[1])
	}
	if _, _, err := windows(xs, [2]int{ws[2], ws[3]}, stride, padding); err != nil {
		return nil, err
	}
	if err := checkFloat("conv2d", x); err != nil {
		return nil, err
	}
	return G.Conv2d(x, w, tensor.Shape{ws[2], ws[3]}, padding[:], stride[:], []int{1, 1})
}

// windows returns the output height and width of a kernel sliding over
// x (N, C, H, W), or an error for a non-positive stride, negative padding
// or a kernel larger than the padded input.
func windows(xs []int, kernel, stride, padding [2]int) (ho, wo int, err error) {
	var out [2]int
	for i := range 2 {
		if kernel[i] <= 0 || stride[i] <= 0 || padding[i] < 0 {
			return 0, 0, fmt.Errorf("kernel %v and stride %v must be positive, padding %v non-negative", kernel, stride, padding)
		}
		span := xs[2+i] + 2*padding[i] - kernel[i]
		if span < 0 {
			return 0, 0, fmt.Errorf("kernel %v is larger than the padded input %v", kernel, [2]int{xs[2] + 2*padding[0], xs[3] + 2*padding[1]})
		}
		out[i] = span/stride[i] + 1
	}
	return out[0], out[1], nil
}

// MaxPool2d is a max-pooling layer: x (N, C, H, W) -> (N, C, Ho, Wo), the
// maximum over each kernel window, as torch.nn.MaxPool2d. Padding counts as
// −∞, so it never wins a window.
type MaxPool2d struct {
	Kernel  [2]int // (kh, kw)
	Stride  [2]int // (sh, sw); zero means the kernel (windows side by side)
	Padding [2]int // (ph, pw), at most half the kernel
}

// NewMaxPool2d returns square max pooling: kernel k×k, stride s, padding p.
func NewMaxPool2d(k, s, p int) *MaxPool2d {
	return &MaxPool2d{Kernel: [2]int{k, k}, Stride: [2]int{s, s}, Padding: [2]int{p, p}}
}

// Describe implements Describer: "kernel kh×kw, stride, padding".
func (m *MaxPool2d) Describe() string {
	return fmt.Sprintf("kernel %d×%d, stride %v, padding %v", m.Kernel[0], m.Kernel[1], m.Stride, m.Padding)
}

// Forward maps x (N, C, H, W) to (N, C, Ho, Wo).
func (m *MaxPool2d) Forward(x *Node) *Node {
	stride := m.Stride
	if stride == [2]int{} {
		stride = m.Kernel
	}
	return MaxPool(x, m.Kernel, stride, m.Padding)
}

// MaxPool takes the maximum of x (N, C, H, W) over kernel windows moved by
// stride, with padding (at most half the kernel) that never wins:
// -> (N, C, Ho, Wo). The gradient goes to each window's maximal input.
func MaxPool(x *Node, kernel, stride, padding [2]int) *Node {
	xs := x.Shape()
	if len(xs) != 4 {
		panic(shapeErr("MaxPool", "want x (N, C, H, W)", x))
	}
	if _, _, err := windows(xs, kernel, stride, padding); err != nil {
		panic(shapeErr("MaxPool", err.Error(), x))
	}
	if 2*padding[0] > kernel[0] || 2*padding[1] > kernel[1] {
		panic(shapeErr("MaxPool", fmt.Sprintf("padding %v is more than half the kernel %v", padding, kernel), x))
	}
	n, err := G.MaxPool2D(x.n, tensor.Shape{kernel[0], kernel[1]}, padding[:], stride[:])
	return x.g.wrap(must("MaxPool", n, err, x))
}

// Flatten keeps the first axis of x and merges the others:
// x (N, d1, d2, ...) -> (N, d1·d2·…), as between convolutional and linear
// layers.
func Flatten(x *Node) *Node {
	s := x.Shape()
	if len(s) < 2 {
		return x
	}
	rest := 1
	for _, d := range s[1:] {
		rest *= d
	}
	return Reshape(x, s[0], rest)
}
