package optim

import (
	"math"
	"runtime"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// chunks covers [0, n) exactly once, for sizes around the chunk threshold
// and several GOMAXPROCS values.
func TestChunksCoverOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, minChunk - 1, minChunk, 2*minChunk + 7, 9*minChunk + 1} {
			seen := make([]int32, n)
			var mu chan struct{} = make(chan struct{}, 1)
			chunks(n, func(lo, hi int) {
				mu <- struct{}{}
				for i := lo; i < hi; i++ {
					seen[i]++
				}
				<-mu
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("procs %d, n %d: element %d visited %d times", procs, n, i, c)
				}
			}
		}
	}
}

// Adam over a parameter large enough to be split gives bit-identical values
// with one and with four goroutines.
func TestAdamSplitBitIdentical(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	run := func(procs int) []float32 {
		runtime.GOMAXPROCS(procs)
		p := nn.NewParam("w", nn.Float32, 3*minChunk+5)
		w := p.Float32s()
		for i := range w {
			w[i] = float32(i%97) / 97
		}
		opt := NewAdam([]*nn.Param{p}, AdamConfig{LR: 0.01})
		for step := range 3 {
			g := p.Grad32()
			for i := range g {
				g[i] = float32((i*(step+3))%13) - 6
			}
			opt.Step()
		}
		return append([]float32(nil), p.Float32s()...)
	}
	a, b := run(1), run(4)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("element %d: %v with 1 goroutine, %v with 4", i, a[i], b[i])
		}
	}
}
