package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchStep times one training step (forward and backward) of m on a
// float32 batch x (n, in), the loss the mean of the outputs.
func benchStep(b *testing.B, m Module, n, in int) {
	g := NewGraph(Float32)
	p, err := g.Compile(Minimize(Mean(m.Forward(g.Input("x", n, in)))))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n*in)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	ps := Params(m)
	for b.Loop() {
		if _, err := p.Step(Feed{"x": x}); err != nil {
			b.Fatal(err)
		}
		for _, q := range ps {
			q.ZeroGrad()
		}
	}
	b.ReportMetric(float64(ParamCount(m)), "params")
}

// BenchmarkTNLinear1024 times a 1024×1024 layer (with bias) at batch 256:
// nn.Linear, and MPOLinear at bond dimensions 2 … 51 in two mode layouts:
// the balanced 4×8×8×4 of the literature and 256×4 ← 4×256, whose steps
// leave only a mode of 4 over (see docs/PERFORMANCE.md). At r = 51 the
// latter has 10.0× fewer parameters than the dense layer.
func BenchmarkTNLinear1024(b *testing.B) {
	const n = 256
	rng := rand.New(rand.NewPCG(2, 2))
	b.Run("dense", func(b *testing.B) { benchStep(b, NewLinear(1024, 1024, Float32, true, rng), n, 1024) })
	for _, s := range []struct {
		name    string
		out, in []int
		ranks   []int
	}{
		{"4x8x8x4", []int{4, 8, 8, 4}, []int{4, 8, 8, 4}, []int{2, 4, 8, 16, 32}},
		{"256x4-4x256", []int{256, 4}, []int{4, 256}, []int{2, 4, 8, 16, 32, 51}},
	} {
		for _, r := range s.ranks {
			l, err := NewMPOLinear(MPOConfig{OutModes: s.out, InModes: s.in, Rank: r, Bias: true}, Float32, rng)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("mpo-%s/r=%d", s.name, r), func(b *testing.B) { benchStep(b, l, n, 1024) })
		}
	}
}
