package circuit

import (
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// benchQueryCircuit is a QG circuit over an 8×8 image with 256 values and
// 8 units: big enough that the per-layer loops dominate.
func benchQueryCircuit(b *testing.B, layer Layer) *Circuit {
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 8, W: 8})
	if err != nil {
		b.Fatal(err)
	}
	c, err := Build(rg, Options{Layer: layer, Units: 8, LearnMixing: true, DType: nn.Float64, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchSample(b *testing.B, layer Layer) {
	c := benchQueryCircuit(b, layer)
	rng := rand.New(rand.NewPCG(1, 1))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Sample(64, rng); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMAP(b *testing.B, layer Layer) {
	c := benchQueryCircuit(b, layer)
	rng := rand.New(rand.NewPCG(1, 1))
	x, obs := randomRows(rng, 64, 64, 256, 0.5)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := c.MAP(x, obs); err != nil {
			b.Fatal(err)
		}
	}
}

// 64 samples / 64 MAP completions per op.
func BenchmarkSampleCP(b *testing.B)     { benchSample(b, CP) }
func BenchmarkSampleTucker(b *testing.B) { benchSample(b, Tucker) }
func BenchmarkMAPCP(b *testing.B)        { benchMAP(b, CP) }
func BenchmarkMAPTucker(b *testing.B)    { benchMAP(b, Tucker) }
