package circuit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/optim"
	"github.com/tenpc/tenpc/regiongraph"
)

// benchCircuit builds rg-layer-K over a 1×28×28 categorical(256) image and a
// batch of b random pixels.
func benchCircuit(b *testing.B, rgName string, layer Layer, k, batch int, train bool) (*Program, []uint8) {
	s := regiongraph.Shape{C: 1, H: 28, W: 28}
	var rg *regiongraph.Graph
	var err error
	switch rgName {
	case "qg":
		rg, err = regiongraph.QuadGraph(s)
	case "qt2":
		rg, err = regiongraph.QuadTree(s, 2)
	case "qt4":
		rg, err = regiongraph.QuadTree(s, 4)
	case "pd":
		rg, err = regiongraph.PoonDomingos(s, []float64{4}, -1)
	case "rbt":
		rg, err = regiongraph.RandomBinaryTree(s.NumVars(), -1, 1, 42)
	default:
		b.Fatalf("unknown region graph %q", rgName)
	}
	if err != nil {
		b.Fatal(err)
	}
	c, err := Build(rg, Options{Layer: layer, Units: k, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	prog, err := c.Compile(batch, train)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]uint8, batch*784)
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	return prog, x
}

type benchConfig struct {
	rg    string
	layer Layer
	k, b  int
}

func (c benchConfig) String() string { return fmt.Sprintf("%s-%v-K%d-B%d", c.rg, c.layer, c.k, c.b) }

// peerConfigs are the configurations of bench/peers-matrix.txt that
// tenpc runs (cmd/tenpc bench -preset peers times the same ones).
var peerConfigs = []benchConfig{
	{"qg", CP, 32, 256},
	{"qg", CP, 32, 100},
	{"qg", CP, 10, 256},
	{"qg", CP, 10, 100},
	{"qt4", CP, 32, 100},
	{"qt2", CP, 32, 100},
	{"rbt", CP, 32, 100},
	{"pd", CP, 32, 100},
	{"qt2", Tucker, 32, 100},
}

// BenchmarkTrainStep times one training step: forward, backward and an
// Adam update with the clamp projection (as the peers' sgd mode).
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range peerConfigs {
		b.Run(c.String(), func(b *testing.B) {
			prog, x := benchCircuit(b, c.rg, c.layer, c.k, c.b, true)
			opt := optim.NewAdam(prog.Circuit().Params(), optim.AdamConfig{LR: 0.01})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := prog.Step(x); err != nil {
					b.Fatal(err)
				}
				opt.Step()
			}
		})
	}
}

// BenchmarkEval times the forward pass (log-likelihood of a batch).
func BenchmarkEval(b *testing.B) {
	for _, c := range peerConfigs {
		b.Run(c.String(), func(b *testing.B) {
			prog, x := benchCircuit(b, c.rg, c.layer, c.k, c.b, false)
			dst := make([]float64, c.b)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := prog.LogLikelihood(x, nil, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEMStep times online EM on QG-CP K=16 over MNIST-sized
// categorical inputs: the whole step (forward, backward, M-step) and the
// M-step alone (EM.Step on the gradients of one batch).
func BenchmarkEMStep(b *testing.B) {
	s := regiongraph.Shape{C: 1, H: 28, W: 28}
	rg, err := regiongraph.QuadGraph(s)
	if err != nil {
		b.Fatal(err)
	}
	c, err := Build(rg, Options{Layer: CP, Units: 16, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	prog, err := c.CompileEM(256)
	if err != nil {
		b.Fatal(err)
	}
	em, err := NewEM(c, EMConfig{StepSize: 0.1})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]uint8, 256*784)
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	b.Run("step", func(b *testing.B) {
		for range b.N {
			if _, err := prog.Step(x); err != nil {
				b.Fatal(err)
			}
			em.SetBatch(256)
			em.Step()
		}
	})
	b.Run("m-step", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			if _, err := prog.Step(x); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			em.SetBatch(256)
			em.Step()
		}
	})
}
