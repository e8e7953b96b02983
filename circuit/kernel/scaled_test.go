package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestFromLogToLogRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 0))
	const rows, K = 7, 5
	lv := randLogs(rng, rows, 1, K, 300)
	for k := range K { // row 3: all zero; row 4: one zero unit
		lv[3*K+k] = math.Inf(-1)
	}
	lv[4*K+2] = math.Inf(-1)
	buf := make([]float64, rows*(K+1))
	FromLog(lv, K, buf)
	for r := range rows {
		row := buf[r*(K+1) : (r+1)*(K+1)]
		m := 0.0
		for _, v := range row[:K] {
			m = max(m, v)
		}
		if r == 3 {
			if m != 0 || !math.IsInf(row[K], -1) {
				t.Errorf("all-zero row: %v, want V = 0, S = -Inf", row)
			}
			continue
		}
		if m != 1 {
			t.Errorf("row %d: max V = %v, want 1", r, m)
		}
	}
	back := make([]float64, rows*K)
	LogValues(buf, rows, 1, K, back)
	assertClose(t, "round trip", back, lv, 1e-15)

	g := make([]float64, rows*(K+1))
	g[K] = 7 // SeedGrad must add, and leave the scale slot alone
	seed := make([]float64, rows*K)
	for i := range seed {
		seed[i] = float64(i)
	}
	SeedGrad(seed, rows, 1, K, g)
	SeedGrad(seed, rows, 1, K, g)
	for r := range rows {
		for k := range K {
			if got := g[r*(K+1)+k]; got != 2*float64(r*K+k) {
				t.Fatalf("SeedGrad[%d,%d] = %v, want %v", r, k, got, 2*float64(r*K+k))
			}
		}
	}
	if g[K] != 7 {
		t.Errorf("SeedGrad touched the scale slot: %v", g[K])
	}
}

// Example evaluates one CP fold over two inputs of two units and reads the
// result in log space.
func Example() {
	const B, K = 1, 2
	// Input 1 has values (1, 0.5), input 2 has (0.25, 0.25).
	lv := []float64{0, math.Log(0.5), math.Log(0.25), math.Log(0.25)}
	src := make([]float64, 2*B*(K+1)) // two source folds, (2, B, K+1)
	FromLog(lv, K, src)
	l, err := NewCP[float64](Wiring{F: 1, A: 2, B: B, Kin: K, Kout: K,
		Refs: []Ref{{Src: 0, Fold: 0}, {Src: 0, Fold: 1}}, SrcFolds: []int{2}}, nil)
	if err != nil {
		panic(err)
	}
	w := []float64{
		1, 0, 0, 1, // W_1: identity
		1, 1, 1, 1, // W_2: sums input 2
	}
	out := make([]float64, 1*B*(K+1))
	l.Forward([][]float64{src}, w, nil, out)
	res := make([]float64, 1*B*K)
	LogValues(out, 1, B, K, res)
	fmt.Printf("values %.4f %.4f\n", math.Exp(res[0]), math.Exp(res[1]))
	// Output: values 0.5000 0.2500
}
