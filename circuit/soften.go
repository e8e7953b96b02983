package circuit

import (
	"fmt"

	"github.com/tenpc/tenpc/nn"
)

// Data softening (Liu & Van den Broeck, "Tractable Regularization of
// Probabilistic Circuits", NeurIPS 2021) trains on soft evidence: an
// observed value x of a discrete variable with C values reads as x with
// probability β and as each other value with probability (1 − β)/(C − 1).
// Every input unit is a product of distributions over single variables, so
// the softened likelihood of a sample is the circuit with each of them
// replaced by
//
//	p̃(x) = β·p(x) + (1 − β)/(C − 1)·Σ_{u ≠ x} p(u) = β'·p(x) + α·Σ_u p(u),
//	α = (1 − β)/(C − 1),   β' = β − α,
//
// a transform of the input parameters: the kernels run unchanged, and the
// gradient (EM's expected counts included) follows by the chain rule.

// CompileOption configures a training program (Compile with train set,
// CompileEM, CompileClassifier).
type CompileOption func(*compileSettings)

type compileSettings struct {
	soften float64 // β; 0: off
}

// Softened trains on softened data with β ∈ (1/C, 1] (1: the data as they
// are): the objective is the likelihood of the soft evidence, computed in
// closed form. Evaluation programs read the data as they are. Categorical
// and Bernoulli inputs of a monotonic circuit only.
func Softened(beta float64) CompileOption {
	return func(s *compileSettings) { s.soften = beta }
}

func settings(opts []CompileOption) compileSettings {
	var s compileSettings
	for _, o := range opts {
		o(&s)
	}
	return s
}

// checkSoften validates softening with β for a program (train: a training
// program).
func (c *Circuit) checkSoften(beta float64, train bool) error {
	if beta == 0 {
		return nil
	}
	lo := 1 / float64(c.opts.Values)
	switch {
	case !train:
		return fmt.Errorf("circuit: softening applies to training programs, not evaluation")
	case c.signed() || c.factors != nil:
		return fmt.Errorf("circuit: softening needs a monotonic circuit, not a squared one or a product")
	case c.mixed() || (c.opts.Input != Categorical && c.opts.Input != Bernoulli):
		return fmt.Errorf("circuit: softening needs categorical or Bernoulli inputs, the circuit has %s", c.inputDescription())
	case !(beta > lo && beta <= 1):
		return fmt.Errorf("circuit: softening β = %v, want 1/C < β ≤ 1 (C = %d values)", beta, c.opts.Values)
	}
	return nil
}

// softenLogits softens the distributions of the log-weights th (S, K, C),
// normalized over c or not: log(β'·e^θ + α·Σ_c e^θ), computed as
// lse + log(β'·e^(θ − lse) + α) with lse = logsumexp_c θ. Normalized
// weights stay normalized, and softmax of the result is the softened
// softmax of th.
func softenLogits(th *nn.Node, beta float64) *nn.Node {
	sh := th.Shape()
	s, k, c := sh[0], sh[1], sh[2]
	alpha := (1 - beta) / float64(c-1)
	lse := nn.Reshape(nn.LogSumExp(th, 2), s, k, 1)
	p := nn.Exp(nn.Sub(th, lse))
	q := nn.Log(nn.Add(nn.Scale(p, beta-alpha), th.Graph().Const([]float64{alpha}, 1, 1, 1)))
	return nn.Add(q, lse)
}

// softenBernoulli softens Bernoulli logits q (S, K), p(1) = σ(q): the
// logit of β'·σ(q) + α.
func softenBernoulli(q *nn.Node, beta float64) *nn.Node {
	sh := q.Shape()
	s, k := sh[0], sh[1]
	t := softenLogits(logSigmoids(q), beta)
	return nn.Reshape(nn.Sub(nn.Gather(t, 2, []int{0}), nn.Gather(t, 2, []int{1})), s, k)
}

// softens reports whether β changes the data (0: off; 1: hard evidence).
func softens(beta float64) bool { return beta != 0 && beta != 1 }
