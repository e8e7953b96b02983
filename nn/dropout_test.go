package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// dropoutProgram compiles y = Dropout(p)(x) for x of n elements, with
// Minimize(Σ y) when minimize is set, and the given options.
func dropoutProgram(t *testing.T, dt DType, n int, p float64, seed uint64, minimize bool, opts ...Option) *Program {
	t.Helper()
	g := NewGraph(dt)
	x := g.Input("x", n)
	y := NewDropout(p, rand.New(rand.NewPCG(seed, 0))).Forward(x)
	g.Output("y", y)
	if minimize {
		opts = append(opts, Minimize(Sum(y)))
	}
	prog, err := g.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// runDropout runs prog on x and returns y as float64s.
func runDropout(t *testing.T, prog *Program, x any) []float64 {
	t.Helper()
	if err := prog.Run(Feed{"x": x}); err != nil {
		t.Fatal(err)
	}
	out, err := prog.Output("y")
	if err != nil {
		t.Fatal(err)
	}
	return out.Float64s()
}

// In training, every element is 0 or x/(1−p); the dropped fraction is p
// and the mean of y is x, within five standard deviations over n·runs
// independent draws; each run draws a fresh mask; the same seed gives the
// same masks.
func TestDropoutTrainingExpectation(t *testing.T) {
	const n, runs, p = 10000, 20, 0.3
	for _, dt := range []DType{Float64, Float32} {
		prog := dropoutProgram(t, dt, n, p, 1, true)
		again := dropoutProgram(t, dt, n, p, 1, true)
		ones := make([]float64, n)
		for i := range ones {
			ones[i] = 1
		}
		var x any = ones
		if dt == Float32 {
			x = toF32(ones)
		}
		kept := 1 / (1 - p)
		if dt == Float32 {
			kept = float64(float32(1) * float32(1/(1-p)))
		}
		var dropped, sum float64
		var prev []float64
		for r := range runs {
			y := runDropout(t, prog, x)
			if r > 0 && slices.Equal(y, prev) {
				t.Fatalf("%v: run %d drew the same mask as the run before", dt, r)
			}
			if y2 := runDropout(t, again, x); !slices.Equal(y, y2) {
				t.Fatalf("%v: run %d: two programs with the same seed drew different masks", dt, r)
			}
			for _, v := range y {
				switch v {
				case 0:
					dropped++
				case kept:
				default:
					t.Fatalf("%v: output %v is neither 0 nor %v", dt, v, kept)
				}
				sum += v
			}
			prev = y
		}
		total := float64(n * runs)
		if f, sd := dropped/total, math.Sqrt(p*(1-p)/total); math.Abs(f-p) > 5*sd {
			t.Errorf("%v: dropped fraction %.4f, want %v ± %.4f", dt, f, p, 5*sd)
		}
		// Var(y) = p/(1−p) for x = 1.
		if m, sd := sum/total, math.Sqrt(p/(1-p)/total); math.Abs(m-1) > 5*sd {
			t.Errorf("%v: mean output %.4f, want 1 ± %.4f", dt, m, 5*sd)
		}
	}
}

// An evaluation program (compiled without Minimize, or with Training(false))
// is the identity, and so is p = 0; Training(true) drops without a loss.
func TestDropoutModes(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	x := make([]float64, 500)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for _, c := range []struct {
		name     string
		p        float64
		minimize bool
		opts     []Option
		identity bool
	}{
		{"eval program", 0.5, false, nil, true},
		{"training program", 0.5, true, nil, false},
		{"minimize with Training(false)", 0.5, true, []Option{Training(false)}, true},
		{"no loss with Training(true)", 0.5, false, []Option{Training(true)}, false},
		{"p = 0", 0, true, nil, true},
	} {
		prog := dropoutProgram(t, Float64, len(x), c.p, 4, c.minimize, c.opts...)
		for range 3 {
			y := runDropout(t, prog, x)
			if same := slices.Equal(y, x); same != c.identity {
				t.Errorf("%s: output equals the input: %v, want %v", c.name, same, c.identity)
			}
		}
	}
}

// The gradient uses the mask of its own run: with L = Σ w ⊙ y, dL/dx = w ⊙
// y/x exactly (y/x is 0 or 1/(1−p)); in evaluation it is w.
func TestDropoutGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, p = 200, 0.4
	for _, training := range []bool{true, false} {
		x := NewParam("x", Float64, n)
		UniformInit(x, 0.5, 1.5, rng)
		w := make([]float64, n)
		for i := range w {
			w[i] = rng.NormFloat64()
		}
		g := NewGraph(Float64)
		y := NewDropout(p, rand.New(rand.NewPCG(7, 8))).Forward(g.Param(x))
		g.Output("y", y)
		prog, err := g.Compile(Minimize(Sum(Mul(y, g.Const(w, n)))), Training(training))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			x.ZeroGrad()
			if _, err := prog.Step(nil); err != nil {
				t.Fatal(err)
			}
			out, _ := prog.Output("y")
			ys, xs, gs := out.F64, x.Float64s(), x.Grad64()
			for i := range gs {
				if want := w[i] * ys[i] / xs[i]; math.Abs(gs[i]-want) > 1e-12 {
					t.Fatalf("training %v: gradient[%d] = %v, want %v", training, i, gs[i], want)
				}
			}
		}
	}
}

func TestNewDropoutRejectsBadP(t *testing.T) {
	for _, p := range []float64{-0.1, 1, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewDropout(%v) did not panic", p)
				}
			}()
			NewDropout(p, rand.New(rand.NewPCG(1, 1)))
		}()
	}
}
