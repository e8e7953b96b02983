package circuit

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// Full-batch EM (η = 1) never decreases the log-likelihood and keeps the
// circuit normalized, on every layer type EM supports, with learnable mixing.
func TestEMMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for name, rg := range smallGraphs(t) {
		x := make([]uint8, 40*rg.NumVars)
		for i := range x {
			// A skewed distribution, so EM has something to learn.
			x[i] = uint8(min(rng.IntN(4), 2))
		}
		for _, layer := range []Layer{CP, CPXS, CPR, Tucker} {
			c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, Values: 3, LearnMixing: true, DType: nn.Float64, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			em, err := NewEM(c, EMConfig{StepSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			prog, err := c.CompileEM(len(x) / rg.NumVars)
			if err != nil {
				t.Fatal(err)
			}
			eval, err := c.Compile(16, false)
			if err != nil {
				t.Fatal(err)
			}
			prev := math.Inf(1)
			for step := range 8 {
				if z, err := eval.LogPartition(); err != nil || math.Abs(z[0]) > 1e-9 {
					t.Fatalf("%s/%v step %d: log Z = %v (%v), EM must keep the circuit normalized", name, layer, step, z, err)
				}
				nll, err := prog.Step(x)
				if err != nil {
					t.Fatal(err)
				}
				if nll > prev+1e-9 {
					t.Errorf("%s/%v step %d: NLL rose from %.12f to %.12f", name, layer, step, prev, nll)
				}
				prev = nll
				em.Step()
			}
		}
	}
}

func TestEMRejects(t *testing.T) {
	rg := smallGraphs(t)["qt2"]
	for _, o := range []Options{
		{Units: 2, Param: Softmax},
		{Units: 2, Layer: CPS},
		{Units: 2, Input: Gaussian},
	} {
		c, err := Build(rg, o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewEM(c, EMConfig{}); err == nil || !strings.Contains(err.Error(), "EM") {
			t.Errorf("%+v: NewEM err = %v, want a refusal", o, err)
		}
	}
	c, _ := Build(rg, Options{Units: 2})
	if _, err := NewEM(c, EMConfig{StepSize: 1.5}); err == nil {
		t.Error("step size 1.5 accepted")
	}
}
