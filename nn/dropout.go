package nn

// Inverted dropout as a fused op. While training, every run draws a fresh
// mask from the module's seeded generator:
//
//	x (any shape) -> y (same),  y = x ⊙ m / (1 − p),  m_i ~ Bernoulli(1 − p)
//	dx = dy ⊙ m / (1 − p)  (the mask of the same run)
//
// so E[y] = x. In evaluation y = x and dx = dy. The mode is the program's
// (see Training): a program compiled with Minimize trains, one compiled
// without evaluates.

import (
	"fmt"
	"math/rand/v2"
)

// Dropout zeroes each element with probability P while training and scales
// the others by 1/(1 − P); in evaluation it is the identity, as
// torch.nn.Dropout. It has no parameters.
type Dropout struct {
	P   float64
	rng *rand.Rand
}

// Describe implements Describer: "p = P".
func (d *Dropout) Describe() string { return fmt.Sprintf("p = %g", d.P) }

// NewDropout returns a dropout layer drawing its masks from rng. It panics
// unless 0 ≤ p < 1.
func NewDropout(p float64, rng *rand.Rand) *Dropout {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("nn.NewDropout: probability %v outside [0, 1)", p))
	}
	if rng == nil {
		panic("nn.NewDropout: nil generator")
	}
	return &Dropout{P: p, rng: rng}
}

// Forward maps x to a tensor of the same shape: dropped out in a training
// program, x itself (copied) in an evaluation program.
func (d *Dropout) Forward(x *Node) *Node {
	return Apply(&dropoutOp{p: d.P, rng: d.rng, g: x.g}, x)
}

// dropoutOp holds the mask of the last forward for its backward.
type dropoutOp struct {
	p    float64
	rng  *rand.Rand
	g    *Graph // its training flag, fixed by Compile
	mask []bool // kept elements of the last training forward
}

func (o *dropoutOp) Name() string { return fmt.Sprintf("Dropout(%g)", o.p) }

func (o *dropoutOp) OutShape(in [][]int) ([]int, error) { return in[0], nil }

func (o *dropoutOp) DiffWRT(int) bool { return true }

func (o *dropoutOp) drops() bool { return o.g.training && o.p > 0 }

func (o *dropoutOp) Forward(in []Buf, out Buf) {
	if !o.drops() {
		copy(out.F32, in[0].F32)
		copy(out.F64, in[0].F64)
		return
	}
	if len(o.mask) != in[0].Len() {
		o.mask = make([]bool, in[0].Len())
	}
	for i := range o.mask {
		o.mask[i] = o.rng.Float64() >= o.p
	}
	scale := 1 / (1 - o.p)
	if in[0].F32 != nil {
		maskScale(o.mask, scale, in[0].F32, out.F32, false)
	} else {
		maskScale(o.mask, scale, in[0].F64, out.F64, false)
	}
}

func (o *dropoutOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	scale := 1.0
	mask := []bool(nil)
	if o.drops() {
		scale, mask = 1/(1-o.p), o.mask
	}
	if g.F32 != nil {
		maskScale(mask, scale, g.F32, dIn[0].F32, true)
	} else {
		maskScale(mask, scale, g.F64, dIn[0].F64, true)
	}
}

// maskScale writes (or adds, with add) src ⊙ mask · scale into dst; a nil
// mask keeps every element.
func maskScale[T float32 | float64](mask []bool, scale float64, src, dst []T, add bool) {
	s := T(scale)
	for i, v := range src {
		if mask != nil && !mask[i] {
			v = 0
		}
		if add {
			dst[i] += v * s
		} else {
			dst[i] = v * s
		}
	}
}
