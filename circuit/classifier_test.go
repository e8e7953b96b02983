package circuit

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
	"github.com/tenpc/tenpc/regiongraph"
)

// A class-conditional circuit's p(y | x_o) sums to 1 over the classes and
// is p(x_o | y) / Σ_y' p(x_o | y') of its enumeration, for the reference
// evaluator and the compiled program, monotonic and squared.
func TestClassifierPosterior(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, par := range []Param{Clamp, Softmax, Real} {
		t.Run(par.String(), func(t *testing.T) {
			const C, V, vals = 3, 6, 3
			c, err := Build(rg, Options{Units: 3, Classes: C, Values: vals, Param: par, Init: Normal, DType: nn.Float64, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			x := allAssignments(V, vals)
			joint, err := c.LogProb(x, nil) // log p(x | y), (n, C)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			xs, miss := randomRows(rng, 12, V, vals, 0.5)
			post, err := c.LogPosterior(xs, miss)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := c.Compile(16, false)
			if err != nil {
				t.Fatal(err)
			}
			compiled := make([]float64, len(post))
			if err := prog.LogPosterior(xs, miss, compiled); err != nil {
				t.Fatal(err)
			}
			for r := range 12 {
				// p(x_o | y) by enumeration, then normalized over y.
				lm := make([]float64, C)
				for y := range C {
					var terms []float64
					for i := range len(x) / V {
						if agrees(x[i*V:(i+1)*V], xs[r*V:(r+1)*V], not(miss[r*V:(r+1)*V])) {
							terms = append(terms, joint[i*C+y])
						}
					}
					lm[y] = logSumExp(terms)
				}
				norm := logSumExp(lm)
				var sum float64
				for y := range C {
					want := lm[y] - norm
					sum += math.Exp(post[r*C+y])
					if math.Abs(post[r*C+y]-want) > 1e-9 || math.Abs(compiled[r*C+y]-want) > 1e-9 {
						t.Errorf("row %d, class %d: log p(y|x) %.12g (compiled %.12g), enumeration %.12g", r, y, post[r*C+y], compiled[r*C+y], want)
					}
				}
				if math.Abs(sum-1) > 1e-12 {
					t.Errorf("row %d: Σ_y p(y|x) = %.15g", r, sum)
				}
			}
		})
	}
}

// The classifier objective's gradient against central differences of the
// objective computed from the reference evaluator, for generative,
// discriminative and mixed training, on both engines.
func TestClassifierGradient(t *testing.T) {
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 2, W: 2})
	if err != nil {
		t.Fatal(err)
	}
	const C, V, vals, n = 3, 4, 3, 5
	rng := rand.New(rand.NewPCG(4, 4))
	x := make([]uint8, n*V)
	for i := range x {
		x[i] = uint8(rng.IntN(vals))
	}
	labels := []int{0, 2, 1, 1, 0}
	for _, engine := range []Engine{Fused, Graph} {
		for _, lambda := range []float64{0, 0.3, 1} {
			t.Run(engine.String()+"/"+strconv.FormatFloat(lambda, 'g', -1, 64), func(t *testing.T) {
				c, err := Build(rg, Options{Units: 2, Classes: C, Values: vals, Engine: engine, DType: nn.Float64, Seed: 3, LearnMixing: true})
				if err != nil {
					t.Fatal(err)
				}
				prog, err := c.CompileClassifier(n+2, lambda) // two rows of padding
				if err != nil {
					t.Fatal(err)
				}
				objective := func() float64 {
					post, err := c.LogPosterior(x, nil)
					if err != nil {
						t.Fatal(err)
					}
					lp, err := c.LogProb(x, nil)
					if err != nil {
						t.Fatal(err)
					}
					s := 0.0
					for i, y := range labels {
						joint := -lp[i*C+y] + math.Log(C)
						s += (1-lambda)*joint/V - lambda*post[i*C+y]
					}
					return s / n
				}
				for _, p := range c.Params() {
					p.ZeroGrad()
				}
				loss, err := prog.StepLabels(x, labels)
				if err != nil {
					t.Fatal(err)
				}
				if want := objective(); math.Abs(loss-want) > 1e-9*math.Abs(want) {
					t.Errorf("StepLabels %.12g, objective %.12g", loss, want)
				}
				fdCheck(t, c, objective, 1e-5, 1e-6, 1e-9)
			})
		}
	}
}

// A generative and a discriminative classifier trained with Adam separate
// two classes drawn from different distributions; the programs refuse
// what they cannot do.
func TestClassifierTrains(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	const V, n = 8, 256
	rng := rand.New(rand.NewPCG(7, 7))
	x, y := make([]uint8, n*V), make([]int, n)
	for i := range n {
		y[i] = i % 2
		for v := range V {
			// Class 0: mostly 0s; class 1: mostly 1s in the first half.
			p := 0.2
			if y[i] == 1 && v < V/2 {
				p = 0.8
			}
			if rng.Float64() < p {
				x[i*V+v] = 1
			}
		}
	}
	for _, lambda := range []float64{0, 1} {
		c, err := Build(rg, Options{Units: 4, Classes: 2, Input: Bernoulli, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		prog, err := c.CompileClassifier(64, lambda)
		if err != nil {
			t.Fatal(err)
		}
		opt := optim.NewAdam(c.Params(), optim.AdamConfig{LR: 0.05})
		var first, last float64
		for step := range 60 {
			lo := step % 4 * 64
			l, err := prog.StepLabels(x[lo*V:(lo+64)*V], y[lo:lo+64])
			if err != nil {
				t.Fatal(err)
			}
			opt.Step()
			if step == 0 {
				first = l
			}
			last = l
		}
		post := make([]float64, 2*n)
		if err := prog.LogPosterior(x, nil, post); err != nil {
			t.Fatal(err)
		}
		right := 0
		for i := range n {
			if (post[2*i+1] > post[2*i]) == (y[i] == 1) {
				right++
			}
		}
		if acc := float64(right) / n; acc < 0.85 || !(last < first) {
			t.Errorf("λ = %v: accuracy %.3f (want ≥ 0.85; the Bayes rate is about 0.92), objective %.4f → %.4f", lambda, acc, first, last)
		}
		if _, err := prog.Step(x[:64*V]); err == nil || !strings.Contains(err.Error(), "StepLabels") {
			t.Errorf("Step on a classifier program: %v", err)
		}
		if _, err := prog.StepLabels(x[:2*V], []int{0, 2}); err == nil || !strings.Contains(err.Error(), "label 2 of sample 1") {
			t.Errorf("StepLabels with a label out of range: %v", err)
		}
	}
	c, err := Build(rg, Options{Units: 2, Classes: 2, Input: Bernoulli})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile(8, true); err == nil || !strings.Contains(err.Error(), "CompileClassifier") {
		t.Errorf("Compile(train) of a 2-class circuit: %v", err)
	}
}
