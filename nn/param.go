package nn

import (
	"fmt"
	"math"
	"slices"

	"gorgonia.org/tensor"
)

// Param is a trainable tensor. Its value lives outside any graph, so one
// Param can be used by several compiled programs (a training program and an
// evaluation program share their parameters). Optimizers update the value in
// place; the next run of any program sees the new value.
//
// A Param keeps the local name it was created with ("weight"); its full
// name is its path in the module tree it lives in, computed by NamedParams
// ("layers.3.weight") and never written into the Param.
//
// The gradient is accumulated by Program.Step into a buffer of the same shape
// and read with Grad32/Grad64; ZeroGrad clears it (optimizers do this after
// every update). A slice from Grad32/Grad64 is valid until the next Step or
// ZeroGrad: Step may hand the parameter a new buffer instead of adding into
// a zero one.
type Param struct {
	name   string
	shape  []int
	dtype  DType
	value  *tensor.Dense
	grad   *tensor.Dense
	zero   bool    // the gradient is zero; grad's contents are stale until cleared
	min    float64 // lower bound enforced by projection hooks; -Inf when unbounded
	frozen bool    // excluded from gradients and updates
}

// NewParam returns a zero-valued parameter of the given shape. name is its
// local name (for example "weight"); NamedParams gives its path in a module.
func NewParam(name string, dt DType, shape ...int) *Param {
	if len(shape) == 0 {
		panic(fmt.Sprintf("nn.NewParam %q: empty shape", name))
	}
	for _, s := range shape {
		if s <= 0 {
			panic(fmt.Sprintf("nn.NewParam %q: non-positive dimension in shape %v", name, shape))
		}
	}
	sh := append([]int(nil), shape...)
	return &Param{
		name:  name,
		shape: sh,
		dtype: dt,
		value: tensor.New(tensor.WithShape(sh...), tensor.Of(dt.tensorType())),
		grad:  tensor.New(tensor.WithShape(sh...), tensor.Of(dt.tensorType())),
		min:   math.Inf(-1),
	}
}

// Name is the local name the parameter was created with (for example
// "weight"); NamedParams gives its path in a module tree.
func (p *Param) Name() string { return p.name }

// Shape returns a copy of the parameter's shape.
func (p *Param) Shape() []int { return append([]int(nil), p.shape...) }

// Len is the number of elements.
func (p *Param) Len() int {
	n := 1
	for _, s := range p.shape {
		n *= s
	}
	return n
}

// DType is the element type.
func (p *Param) DType() DType { return p.dtype }

// Float32s is the value's backing array (nil unless DType is Float32). Writes
// through it change the parameter.
func (p *Param) Float32s() []float32 {
	if p.dtype != Float32 {
		return nil
	}
	return p.value.Data().([]float32)
}

// Float64s is the value's backing array (nil unless DType is Float64).
func (p *Param) Float64s() []float64 {
	if p.dtype != Float64 {
		return nil
	}
	return p.value.Data().([]float64)
}

// Grad32 is the accumulated gradient (nil unless DType is Float32).
func (p *Param) Grad32() []float32 {
	if p.dtype != Float32 {
		return nil
	}
	p.materialize()
	return p.grad.Data().([]float32)
}

// Grad64 is the accumulated gradient (nil unless DType is Float64).
func (p *Param) Grad64() []float64 {
	if p.dtype != Float64 {
		return nil
	}
	p.materialize()
	return p.grad.Data().([]float64)
}

// materialize clears a gradient that ZeroGrad marked zero.
func (p *Param) materialize() {
	if p.zero {
		clearBuf(p.grad)
		p.zero = false
	}
}

// takeGrad makes *t the parameter's gradient and hands the old buffer back
// in *t, when the gradient is zero and *t has its type and shape: the cheap
// form of adding *t into a zero gradient. It reports whether it did.
func (p *Param) takeGrad(t **tensor.Dense) bool {
	if !p.zero || (*t).Dtype() != p.grad.Dtype() || !slices.Equal((*t).Shape(), p.grad.Shape()) {
		return false
	}
	p.grad, *t = *t, p.grad
	p.zero = false
	return true
}

// Value returns the value as float64s (a copy), whatever the DType.
func (p *Param) Value() []float64 {
	switch p.dtype {
	case Float32:
		src := p.Float32s()
		out := make([]float64, len(src))
		for i, v := range src {
			out[i] = float64(v)
		}
		return out
	default:
		return append([]float64(nil), p.Float64s()...)
	}
}

// SetValue copies vals (in row-major order) into the parameter.
func (p *Param) SetValue(vals []float64) {
	if len(vals) != p.Len() {
		panic(fmt.Sprintf("nn.Param %q: SetValue with %d values, want %d", p.name, len(vals), p.Len()))
	}
	switch p.dtype {
	case Float32:
		dst := p.Float32s()
		for i, v := range vals {
			dst[i] = float32(v)
		}
	default:
		copy(p.Float64s(), vals)
	}
}

// ZeroGrad clears the accumulated gradient. It only marks the gradient
// zero: the buffer is cleared when it is next read, or replaced by Step.
func (p *Param) ZeroGrad() { p.zero = true }

// SetMin sets a lower bound that projection hooks (optim.ClampMin) enforce
// after every optimizer step, and clamps the current value to it.
func (p *Param) SetMin(min float64) {
	p.min = min
	p.ClampToMin()
}

// Min is the lower bound (-Inf when unbounded).
func (p *Param) Min() float64 { return p.min }

// ClampToMin sets every value below Min (and every NaN) to Min.
func (p *Param) ClampToMin() {
	if math.IsInf(p.min, -1) {
		return
	}
	switch p.dtype {
	case Float32:
		m := float32(p.min)
		w := p.Float32s()
		for i, v := range w {
			if v < m || v != v {
				w[i] = m
			}
		}
	default:
		w := p.Float64s()
		for i, v := range w {
			if v < p.min || v != v {
				w[i] = p.min
			}
		}
	}
}

// Freeze excludes the parameter from gradients and optimizer updates (a
// mixing layer frozen at uniform weights, say). Unfreeze undoes it.
func (p *Param) Freeze()   { p.frozen = true }
func (p *Param) Unfreeze() { p.frozen = false }

// Frozen reports whether the parameter is frozen.
func (p *Param) Frozen() bool { return p.frozen }
