package nn

// TNConv2d: a convolution whose kernel is a tensor network.

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TNConv2d is a 2-D convolution (cross-correlation, as Conv2d) whose
// kernel, read as the (Out, In·kh·kw) matrix that multiplies the im2col
// patches, is a TNLinear: x (N, In, H, W) -> (N, Out, Ho, Wo). The patch
// columns are ordered (channel, kernel row, kernel column), so the matrix
// is Conv2d's Weight (Out, In, kh, kw) flattened, and Map.Dense() is a
// Conv2d kernel.
//
// With an MPOLinear over in modes (c₀, …, c_{d−2}, kh·kw) and out modes
// (o₀, …, o_{d−2}, 1) this is the TT-convolution of Garipov et al. (2016,
// "Ultimate tensorization"): the last core is a bank of r spatial filters
// and the others mix channels. A CPLinear or TuckerLinear gives the CP and
// Tucker convolutions over the same modes. Forward is im2col (Gorgonia's,
// whose backward is col2im) followed by Map's contraction, so the kernel is
// never formed.
type TNConv2d struct {
	Map     TNLinear
	In      int    // input channels
	Kernel  [2]int // (kh, kw)
	Stride  [2]int // (sh, sw)
	Padding [2]int // (ph, pw) zeros before and after each spatial axis
}

// NewTNConv2d wraps m as a convolution of in input channels; m's In must
// be in·kh·kw. A zero stride means (1, 1).
func NewTNConv2d(m TNLinear, in int, kernel, stride, padding [2]int) (*TNConv2d, error) {
	if stride == [2]int{} {
		stride = [2]int{1, 1}
	}
	if in < 1 || kernel[0] < 1 || kernel[1] < 1 || stride[0] < 1 || stride[1] < 1 || padding[0] < 0 || padding[1] < 0 {
		return nil, fmt.Errorf("nn.NewTNConv2d: in %d, kernel %v, stride %v, padding %v: channels, kernel and stride must be positive, padding non-negative", in, kernel, stride, padding)
	}
	if _, mi := m.Dims(); mi != in*kernel[0]*kernel[1] {
		return nil, fmt.Errorf("nn.NewTNConv2d: the map takes %d inputs, %d channels × %d×%d kernel make %d", mi, in, kernel[0], kernel[1], in*kernel[0]*kernel[1])
	}
	return &TNConv2d{Map: m, In: in, Kernel: kernel, Stride: stride, Padding: padding}, nil
}

// OutSize returns (Ho, Wo) for an input of h × w.
func (c *TNConv2d) OutSize(h, w int) (int, int) {
	return (h+2*c.Padding[0]-c.Kernel[0])/c.Stride[0] + 1, (w+2*c.Padding[1]-c.Kernel[1])/c.Stride[1] + 1
}

// Describe implements Describer: "In → Out, kernel kh×kw, stride,
// padding"; the map describes itself on its own row.
func (c *TNConv2d) Describe() string {
	out, _ := c.Map.Dims()
	return fmt.Sprintf("%d → %d, kernel %d×%d, stride %v, padding %v", c.In, out, c.Kernel[0], c.Kernel[1], c.Stride, c.Padding)
}

// Forward maps x (N, In, H, W) to (N, Out, Ho, Wo).
func (c *TNConv2d) Forward(x *Node) *Node {
	xs := x.Shape()
	if len(xs) != 4 || xs[1] != c.In {
		panic(shapeErr("TNConv2d", fmt.Sprintf("want x (N, %d, H, W)", c.In), x))
	}
	ho, wo := c.OutSize(xs[2], xs[3])
	if ho < 1 || wo < 1 {
		panic(shapeErr("TNConv2d", fmt.Sprintf("the %v kernel with padding %v does not fit the input", c.Kernel, c.Padding), x))
	}
	out, in := c.Map.Dims()
	cols, err := G.Im2Col(x.n, tensor.Shape{c.Kernel[0], c.Kernel[1]}, tensor.Shape{c.Padding[0], c.Padding[1]},
		tensor.Shape{c.Stride[0], c.Stride[1]}, tensor.Shape{1, 1})
	p := x.g.wrap(must("TNConv2d im2col", cols, err, x)) // (N, Ho, Wo, In·kh·kw)
	n := xs[0]
	y := c.Map.Forward(Reshape(p, n*ho*wo, in))              // (N·Ho·Wo, Out)
	return Transpose(Reshape(y, n, ho, wo, out), 0, 3, 1, 2) // (N, Out, Ho, Wo)
}

// ParamCount is Map's.
func (c *TNConv2d) ParamCount() int { return c.Map.ParamCount() }

// FLOPs is Map's on the n·Ho·Wo patches of n images of h × w.
func (c *TNConv2d) FLOPs(n, h, w int) int64 {
	ho, wo := c.OutSize(h, w)
	return c.Map.FLOPs(n * ho * wo)
}

// Dense reconstructs the kernel (Out, In, kh, kw), row-major.
func (c *TNConv2d) Dense() []float64 { return c.Map.Dense() }

// Patches returns the im2col matrix of x (n, In, h, w) that Forward feeds
// to Map: (n·Ho·Wo, In·kh·kw), rows in (image, output row, output column)
// order, columns in (channel, kernel row, kernel column) order, zeros for
// the padding.
func (c *TNConv2d) Patches(x []float64, n, h, w int) ([]float64, error) {
	if n < 1 || h < 1 || w < 1 || len(x) != n*c.In*h*w {
		return nil, fmt.Errorf("nn.TNConv2d.Patches: x has %d values, want n·%d·h·w for n, h, w = %d, %d, %d", len(x), c.In, n, h, w)
	}
	ho, wo := c.OutSize(h, w)
	if ho < 1 || wo < 1 {
		return nil, fmt.Errorf("nn.TNConv2d.Patches: the %v kernel with padding %v does not fit %d×%d images", c.Kernel, c.Padding, h, w)
	}
	kh, kw := c.Kernel[0], c.Kernel[1]
	cols := c.In * kh * kw
	out := make([]float64, n*ho*wo*cols)
	for b := range n {
		for oy := range ho {
			for ox := range wo {
				row := out[((b*ho+oy)*wo+ox)*cols:]
				for ch := range c.In {
					for ky := range kh {
						iy := oy*c.Stride[0] - c.Padding[0] + ky
						for kx := range kw {
							ix := ox*c.Stride[1] - c.Padding[1] + kx
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								row[(ch*kh+ky)*kw+kx] = x[((b*c.In+ch)*h+iy)*w+ix]
							}
						}
					}
				}
			}
		}
	}
	return out, nil
}

// BondActivations returns Map's bond statistics over every patch of x
// (n, In, h, w).
func (c *TNConv2d) BondActivations(x []float64, n, h, w int) ([]BondStats, error) {
	p, err := c.Patches(x, n, h, w)
	if err != nil {
		return nil, err
	}
	ho, wo := c.OutSize(h, w)
	return c.Map.BondActivations(p, n*ho*wo)
}
