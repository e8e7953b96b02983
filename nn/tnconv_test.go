package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// tnConvCase is a TT-convolution of 2 → 6 channels with a 3×2 kernel: in
// modes (2, 6) = (channels, kh·kw), out modes (6, 1).
func tnConvCase(t *testing.T, stride, padding [2]int, seed uint64) *TNConv2d {
	t.Helper()
	m, err := NewMPOLinear(MPOConfig{OutModes: []int{6, 1}, InModes: []int{2, 6}, Rank: 3, Bias: true}, Float64, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewTNConv2d(m, 2, [2]int{3, 2}, stride, padding)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The TT-convolution equals Conv2d with the kernel Dense() reconstructs.
func TestTNConv2dMatchesConv2d(t *testing.T) {
	for i, sp := range [][2][2]int{{{1, 1}, {0, 0}}, {{2, 1}, {1, 2}}} {
		c := tnConvCase(t, sp[0], sp[1], uint64(i))
		conv := &Conv2d{Weight: fitParam("weight", Float64, c.Dense(), 6, 2, 3, 2), Bias: c.Map.(*MPOLinear).Bias, Stride: sp[0], Padding: sp[1]}
		x := tnRand(rand.New(rand.NewPCG(2, uint64(i))), 2*2*5*4)
		shape := []int{2, 2, 5, 4}
		got := runForward(t, c, x, shape, Float64)
		want := runForward(t, conv, x, shape, Float64)
		if e := gcMaxAbsDiff(got, want); e > 1e-12 {
			t.Errorf("stride %v padding %v: differs from Conv2d by %.3g", sp[0], sp[1], e)
		}
		ho, wo := c.OutSize(5, 4)
		if f, w := c.FLOPs(2, 5, 4), c.Map.FLOPs(2*ho*wo); f != w {
			t.Errorf("FLOPs %d, want the map's on %d patches, %d", f, 2*ho*wo, w)
		}
	}
}

func TestTNConv2dGradCheck(t *testing.T) {
	c := tnConvCase(t, [2]int{2, 1}, [2]int{1, 0}, 3)
	rng := rand.New(rand.NewPCG(4, 4))
	t.Run("x", func(t *testing.T) {
		gradCheck(t, []*tensor.Dense{gcRand(rng, -1, 1, 2, 2, 4, 3)}, nnBuild(func(xs []*Node) *Node { return c.Forward(xs[0]) }))
	})
	t.Run("params", func(t *testing.T) {
		moduleGradCheck(t, c, tnRand(rng, 2*2*4*3), []int{2, 2, 4, 3})
	})
}

func TestTNConv2dWrongInput(t *testing.T) {
	c := tnConvCase(t, [2]int{}, [2]int{}, 1)
	for _, shape := range [][]int{{2, 3, 5, 5}, {2, 2, 2, 1}} {
		func() {
			defer func() {
				if _, ok := recover().(*ShapeError); !ok {
					t.Errorf("input %v: no ShapeError", shape)
				}
			}()
			c.Forward(NewGraph(Float64).Input(fmt.Sprint("x"), shape...))
		}()
	}
}

// Patches times Dense()ᵀ plus the bias is the convolution (rows are the
// output pixels).
func TestTNConv2dPatches(t *testing.T) {
	c := tnConvCase(t, [2]int{2, 1}, [2]int{1, 2}, 5)
	const n, h, w = 2, 5, 4
	x := tnRand(rand.New(rand.NewPCG(6, 6)), n*2*h*w)
	p, err := c.Patches(x, n, h, w)
	if err != nil {
		t.Fatal(err)
	}
	ho, wo := c.OutSize(h, w)
	rows := denseForward(c.Dense(), c.Map.(*MPOLinear).Bias.Value(), p, n*ho*wo, 6, 12) // (n·Ho·Wo, 6)
	y := runForward(t, c, x, []int{n, 2, h, w}, Float64)                                // (n, 6, Ho, Wo)
	for b := range n {
		for o := range 6 {
			for i := range ho * wo {
				if d := rows[(b*ho*wo+i)*6+o] - y[(b*6+o)*ho*wo+i]; d > 1e-12 || d < -1e-12 {
					t.Fatalf("image %d channel %d pixel %d differs by %g", b, o, i, d)
				}
			}
		}
	}
	st, err := c.BondActivations(x, n, h, w)
	if err != nil || len(st) != 1 || len(st[0].RMS) != 3 {
		t.Fatalf("BondActivations: %v, %+v; want bond 1 of 3 indices", err, st)
	}
	if _, err := c.Patches(x[:3], n, h, w); err == nil {
		t.Error("Patches accepted x of the wrong length")
	}
}
