package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Linear is a fully connected layer y = x Wᵀ + b: x (N, In) -> y (N, Out),
// W (Out, In), b (Out), as torch.nn.Linear.
type Linear struct {
	Weight *Param
	Bias   *Param // nil without bias
}

// NewLinear returns a Linear layer initialised as PyTorch does: W and b
// uniform in ±1/√in, drawn from rng.
func NewLinear(in, out int, dt DType, bias bool, rng *rand.Rand) *Linear {
	l := &Linear{Weight: NewParam("weight", dt, out, in)}
	bound := 1 / math.Sqrt(float64(in))
	UniformInit(l.Weight, -bound, bound, rng)
	if bias {
		l.Bias = NewParam("bias", dt, out)
		UniformInit(l.Bias, -bound, bound, rng)
	}
	return l
}

// Forward maps x (N, In) to (N, Out).
func (l *Linear) Forward(x *Node) *Node {
	g := x.Graph()
	w := g.Param(l.Weight)
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || xs[1] != ws[1] {
		panic(shapeErr("Linear", "want x (N, In) and W (Out, In)", x, w))
	}
	y := MatMul(x, Transpose(w, 1, 0))
	if l.Bias != nil {
		y = AddBias(y, g.Param(l.Bias))
	}
	return y
}

// Describe implements Describer: "In → Out".
func (l *Linear) Describe() string {
	return fmt.Sprintf("%d → %d", l.Weight.shape[1], l.Weight.shape[0])
}

// Sequential applies its layers in order.
type Sequential struct {
	Layers []Module
}

// NewSequential returns the composition of layers.
func NewSequential(layers ...Module) *Sequential { return &Sequential{Layers: layers} }

// Forward applies each layer to the previous one's output.
func (s *Sequential) Forward(x *Node) *Node {
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return x
}

// UniformInit fills p with values uniform in [lo, hi) drawn from rng.
func UniformInit(p *Param, lo, hi float64, rng *rand.Rand) {
	vals := make([]float64, p.Len())
	for i := range vals {
		vals[i] = lo + (hi-lo)*rng.Float64()
	}
	p.SetValue(vals)
}

// NormalInit fills p with values from N(mean, std²) drawn from rng.
func NormalInit(p *Param, mean, std float64, rng *rand.Rand) {
	vals := make([]float64, p.Len())
	for i := range vals {
		vals[i] = mean + std*rng.NormFloat64()
	}
	p.SetValue(vals)
}
