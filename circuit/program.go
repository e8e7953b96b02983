package circuit

import (
	"fmt"
	"math"
	"slices"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/nn"
)

// Program is a circuit compiled for a batch size: for training (Step:
// forward, backward, gradients into the parameters) or evaluation
// (LogLikelihood). Batches smaller than the compiled size are padded; padded
// rows get weight 0 in the loss and are dropped from results.
type Program struct {
	c     *Circuit
	B     int
	train bool
	em    bool
	prog  *nn.Program
	// masked is a squared circuit's evaluation with missing variables (on
	// c·c), compiled when LogLikelihood first gets a mask.
	masked *nn.Program

	// classifier holds a class-conditional training program's objective
	// weight λ (nil for other programs).
	classifier *float64
	y          []int // (B) labels of a classifier's batch

	x    []uint8   // (B, V) category data
	xf32 []float32 // (B, V) Gaussian data
	xf64 []float64
	miss []uint8 // (B, V)
	// nan (B, V) marks the NaN entries of mixed data, read as missing.
	nan []bool
	w32 []float32 // (B) loss weights
	w64 []float64
}

// Compile compiles the circuit for batches of b samples. With train set, the
// program minimizes the mean negative log-likelihood of a batch,
// −mean_b c(x_b) + log Z (only for circuits with one root unit); Softened
// trains it on soft evidence.
func (c *Circuit) Compile(b int, train bool, opts ...CompileOption) (*Program, error) {
	return c.compile(b, train, false, settings(opts))
}

// CompileEM compiles a training program for EM (see NewEM): its loss is
// −mean_b log c(x_b) without log Z, whose gradient gives the expected counts
// EM needs. Use it with an *EM optimizer, which keeps the circuit
// normalized (so the loss is the NLL).
func (c *Circuit) CompileEM(b int, opts ...CompileOption) (*Program, error) {
	if err := c.emSupported(); err != nil {
		return nil, err
	}
	return c.compile(b, true, true, settings(opts))
}

// CompileClassifier compiles a training program for a class-conditional
// circuit (Classes = C ≥ 2 root units, root unit y being p(x | y) once
// normalized) with a uniform class prior p(y) = 1/C, for batches of b
// labelled samples (StepLabels). It minimizes the mean of
//
//	(1 − λ)·(−log p(x, y)) / V + λ·(−log p(y | x)),   p(y | x) = p(x | y) / Σ_y' p(x | y'),
//
// λ = discriminative ∈ [0, 1]: 0 trains a generative classifier (the joint
// likelihood), 1 a discriminative one (the cross-entropy of the
// posterior), values between a mix. The joint NLL is taken per variable
// (V of them), as in RAT-SPN's hybrid objective (Peharz et al., UAI
// 2019): over MNIST's 784 pixels it is hundreds of nats, the
// cross-entropy a few, and λ weighs quantities of one scale. LogLikelihood gives log p(x_o | y) per
// class, with missing variables integrated out, and LogPosterior log p(y |
// x_o).
func (c *Circuit) CompileClassifier(b int, discriminative float64, opts ...CompileOption) (*Program, error) {
	if c.plan.Classes < 2 {
		return nil, fmt.Errorf("circuit: a classifier needs Classes ≥ 2 root units, the circuit has %d", c.plan.Classes)
	}
	if !(discriminative >= 0 && discriminative <= 1) {
		return nil, fmt.Errorf("circuit: the discriminative weight must be in [0, 1], got %v", discriminative)
	}
	return c.compileObjective(b, true, false, &discriminative, settings(opts))
}

func (c *Circuit) compile(b int, train, em bool, s compileSettings) (*Program, error) {
	if train && c.plan.Classes != 1 {
		return nil, fmt.Errorf("circuit: training by likelihood needs one root unit, the circuit has %d (train a class-conditional circuit with CompileClassifier)", c.plan.Classes)
	}
	return c.compileObjective(b, train, em, nil, s)
}

// compileObjective compiles a program; a training one minimizes the NLL,
// or, with lambda set, a classifier's objective (see CompileClassifier).
func (c *Circuit) compileObjective(b int, train, em bool, lambda *float64, s compileSettings) (*Program, error) {
	if b < 1 {
		return nil, fmt.Errorf("circuit: batch size %d, want ≥ 1", b)
	}
	if err := c.checkSoften(s.soften, train); err != nil {
		return nil, err
	}
	if err := c.checkMemory(b, train); err != nil {
		return nil, err
	}
	g := nn.NewGraph(c.opts.DType)
	// A squared circuit's program evaluates c(x) itself, on complete data;
	// LogLikelihood with missing variables compiles its square's pass.
	nodes, err := c.wire(g, b, "", wireMode{engine: c.engine(), em: em, train: train, complete: true, soften: s.soften})
	if err != nil {
		return nil, err
	}
	g.Output("c", nodes.Circuit)
	if nodes.LogZ != nil {
		g.Output("logz", nodes.LogZ)
	}
	p := &Program{c: c, B: b, train: train, em: em, miss: make([]uint8, b*c.plan.NumVars)}
	if c.mixed() {
		p.nan = make([]bool, b*c.plan.NumVars)
	}
	switch {
	case !c.floatData():
		p.x = make([]uint8, b*c.plan.NumVars)
	case c.opts.DType == nn.Float64:
		p.xf64 = make([]float64, b*c.plan.NumVars)
	default:
		p.xf32 = make([]float32, b*c.plan.NumVars)
	}
	opts := []nn.Option{nn.ParamNames(c.Params())}
	if train {
		// loss = −Σ_b w_b c(x_b) + log Z with w_b = 1/n for the n real rows.
		w := g.Input("w", b)
		var loss *nn.Node
		if lambda != nil {
			p.classifier, p.y = lambda, make([]int, b)
			loss = classifierLoss(g, nodes, w, *lambda, c.plan.Classes, c.plan.NumVars)
		} else {
			loss = nn.Neg(nn.Sum(nn.Mul(nn.Reshape(nodes.Circuit, b), w)))
			if nodes.LogZ != nil {
				loss = nn.Add(loss, nn.Reshape(nodes.LogZ))
			}
		}
		g.Output("loss", loss)
		opts = append(opts, nn.Minimize(loss))
		if c.opts.DType == nn.Float64 {
			p.w64 = make([]float64, b)
		} else {
			p.w32 = make([]float32, b)
		}
	}
	if p.prog, err = g.Compile(opts...); err != nil {
		return nil, fmt.Errorf("circuit: compile: %w", err)
	}
	return p, nil
}

// classifierLoss is the classifier objective (see CompileClassifier) of a
// batch, the rows weighted by w: with lc = c(x) − log Z (B, C) the
// log-likelihoods log p(x | y) and NLL_b = logsumexp(lc_b) − lc_{b,y_b},
//
//	−log p(x, y) = NLL_b − logsumexp(lc_b) + log C,    −log p(y | x) = NLL_b
//	loss = Σ_b w_b (a·NLL_b − γ·logsumexp(lc_b)) + γ·log C,   γ = (1 − λ)/V, a = λ + γ
func classifierLoss(g *nn.Graph, nodes *Nodes, w *nn.Node, lambda float64, classes, vars int) *nn.Node {
	lc := nodes.Circuit
	if nodes.LogZ != nil {
		lc = nn.Sub(lc, nodes.LogZ)
	}
	gen := (1 - lambda) / float64(vars)
	per := nn.Scale(nn.NLL(lc, g.Labels("y", w.Shape()[0])), lambda+gen)
	if gen > 0 {
		per = nn.Sub(per, nn.Scale(nn.LogSumExp(lc, 1), gen))
	}
	loss := nn.Sum(nn.Mul(per, w))
	return nn.Add(loss, nn.Reshape(g.Const([]float64{gen * math.Log(float64(classes))}, 1)))
}

// maskedProgram returns the program that evaluates a squared circuit with
// missing variables.
func (p *Program) maskedProgram() (*nn.Program, error) {
	if p.masked != nil {
		return p.masked, nil
	}
	c := p.c
	if err := c.checkNeed(c.MaskedMemoryEstimate(p.B), fmt.Sprintf("a batch-%d evaluation with missing variables, on the squared circuit's square", p.B)); err != nil {
		return nil, err
	}
	g := nn.NewGraph(c.opts.DType)
	nodes, err := c.wire(g, p.B, "", wireMode{engine: Graph})
	if err != nil {
		return nil, err
	}
	g.Output("c", nodes.Circuit)
	g.Output("logz", nodes.LogZ)
	if p.masked, err = g.Compile(nn.ParamNames(c.Params())); err != nil {
		return nil, fmt.Errorf("circuit: compile: %w", err)
	}
	return p.masked, nil
}

// Circuit is the compiled circuit.
func (p *Program) Circuit() *Circuit { return p.c }

// load copies n ≤ B samples (and their mask, nil for none) into the input
// buffers, padding the rest with copies of sample 0 marked fully missing.
func (p *Program) load(x any, missing []bool, n int) (nn.Feed, error) {
	v := p.c.plan.NumVars
	switch xs := x.(type) {
	case []uint8:
		if p.x == nil {
			return nil, fmt.Errorf("circuit: %v inputs take float data, got []uint8", p.c.opts.Input)
		}
		if err := kernel.ValidateCategories(xs, v, p.c.opts.Values); err != nil {
			return nil, err
		}
		copy(p.x, xs)
		clear(p.x[len(xs):])
	case []float32:
		if p.xf32 == nil {
			return nil, fmt.Errorf("circuit: want %s data, got []float32", p.dataKind())
		}
		if p.c.mixed() {
			if err := loadMixed(p.c.opts.Columns, xs, p.xf32, missing, p.nan); err != nil {
				return nil, err
			}
			break
		}
		if err := kernel.ValidateGaussianData(xs, v); err != nil {
			return nil, err
		}
		copy(p.xf32, xs)
		clear(p.xf32[len(xs):])
	case []float64:
		if p.xf64 == nil {
			return nil, fmt.Errorf("circuit: want %s data, got []float64", p.dataKind())
		}
		if p.c.mixed() {
			if err := loadMixed(p.c.opts.Columns, xs, p.xf64, missing, p.nan); err != nil {
				return nil, err
			}
			break
		}
		if err := kernel.ValidateGaussianData(xs, v); err != nil {
			return nil, err
		}
		copy(p.xf64, xs)
		clear(p.xf64[len(xs):])
	}
	for i := range p.miss {
		switch {
		case i >= n*v:
			p.miss[i] = 1
		case missing != nil && missing[i], p.nan != nil && p.nan[i]:
			p.miss[i] = 1
		default:
			p.miss[i] = 0
		}
	}
	f := nn.Feed{"missing": p.miss}
	switch {
	case p.x != nil:
		f["x"] = p.x
	case p.xf64 != nil:
		f["x"] = p.xf64
	default:
		f["x"] = p.xf32
	}
	return f, nil
}

func (p *Program) dataKind() string {
	switch {
	case p.x != nil:
		return "[]uint8"
	case p.xf64 != nil:
		return "[]float64"
	}
	return "[]float32"
}

func (p *Program) rows(x any) (int, error) {
	v := p.c.plan.NumVars
	var n int
	switch xs := x.(type) {
	case []uint8:
		n = len(xs)
	case []float32:
		n = len(xs)
	case []float64:
		n = len(xs)
	default:
		return 0, fmt.Errorf("circuit: unsupported data type %T", x)
	}
	if n%v != 0 {
		return 0, fmt.Errorf("circuit: data length %d is not a multiple of %d variables", n, v)
	}
	return n / v, nil
}

// Step runs forward and backward on one batch of n ≤ B samples x (n, V)
// (uint8 categories, or float32/float64 for Gaussian inputs), adds the
// gradient of the mean negative log-likelihood into the parameters'
// gradients, and returns that mean NLL (natural log, normalized).
func (p *Program) Step(x any) (float64, error) {
	if p.classifier != nil {
		return 0, fmt.Errorf("circuit: Step on a classifier's program; StepLabels takes the labels")
	}
	return p.step(x)
}

// StepLabels is Step for a classifier's program (CompileClassifier): it
// adds the gradient of the mean objective over the n ≤ B samples x and
// their labels (n, each in [0, Classes)) and returns that objective.
func (p *Program) StepLabels(x any, labels []int) (float64, error) {
	if p.classifier == nil {
		return 0, fmt.Errorf("circuit: StepLabels on a program without labels (compile it with CompileClassifier)")
	}
	n, err := p.rows(x)
	if err != nil {
		return 0, err
	}
	if len(labels) != n {
		return 0, fmt.Errorf("circuit: %d labels for %d samples", len(labels), n)
	}
	for i, y := range labels {
		if y < 0 || y >= p.c.plan.Classes {
			return 0, fmt.Errorf("circuit: label %d of sample %d is outside 0..%d", y, i, p.c.plan.Classes-1)
		}
	}
	copy(p.y, labels)
	clear(p.y[min(n, len(p.y)):])
	return p.step(x)
}

func (p *Program) step(x any) (float64, error) {
	if !p.train {
		return 0, fmt.Errorf("circuit: Step on an evaluation program")
	}
	n, err := p.rows(x)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > p.B {
		return 0, fmt.Errorf("circuit: batch of %d samples, program takes 1..%d", n, p.B)
	}
	feed, err := p.load(x, nil, n)
	if err != nil {
		return 0, err
	}
	if p.w64 != nil {
		for i := range p.w64 {
			p.w64[i] = 0
			if i < n {
				p.w64[i] = 1 / float64(n)
			}
		}
		feed["w"] = p.w64
	} else {
		for i := range p.w32 {
			p.w32[i] = 0
			if i < n {
				p.w32[i] = float32(1 / float64(n))
			}
		}
		feed["w"] = p.w32
	}
	if p.y != nil {
		feed["y"] = p.y
	}
	return p.prog.Step(feed)
}

// LogPosterior writes log p(y | x_o) for every sample of x and every
// class y into dst (n·Classes, row-major): the class-conditional
// likelihoods of LogLikelihood (missing variables integrated out)
// normalized over the classes, under a uniform class prior.
func (p *Program) LogPosterior(x any, missing []bool, dst []float64) error {
	if err := p.LogLikelihood(x, missing, dst); err != nil {
		return err
	}
	normalizeRows(dst, p.c.plan.Classes)
	return nil
}

// normalizeRows subtracts from each row of k log-values its log-sum-exp.
func normalizeRows(v []float64, k int) {
	for lo := 0; lo < len(v); lo += k {
		row := v[lo : lo+k]
		m := math.Inf(-1)
		for _, x := range row {
			m = max(m, x)
		}
		s := 0.0
		for _, x := range row {
			s += math.Exp(x - m)
		}
		ls := m + math.Log(s)
		for i := range row {
			row[i] -= ls
		}
	}
}

// LogLikelihood writes log p(x_b) (natural log, normalized: c(x) − log Z)
// for every sample of x (any number, processed in batches of B) into dst
// (len n·Classes), integrating out the variables marked in missing (nil: none;
// otherwise the shape of x).
func (p *Program) LogLikelihood(x any, missing []bool, dst []float64) error {
	n, err := p.rows(x)
	if err != nil {
		return err
	}
	v, k := p.c.plan.NumVars, p.c.plan.Classes
	if len(dst) != n*k {
		return fmt.Errorf("circuit: dst has %d entries, want %d", len(dst), n*k)
	}
	if missing != nil && len(missing) != n*v {
		return fmt.Errorf("circuit: missing has %d entries, want %d", len(missing), n*v)
	}
	for lo := 0; lo < n; lo += p.B {
		hi := min(lo+p.B, n)
		var xs any
		switch xx := x.(type) {
		case []uint8:
			xs = xx[lo*v : hi*v]
		case []float32:
			xs = xx[lo*v : hi*v]
		case []float64:
			xs = xx[lo*v : hi*v]
		}
		var ms []bool
		if missing != nil {
			ms = missing[lo*v : hi*v]
		}
		feed, err := p.load(xs, ms, hi-lo)
		if err != nil {
			return fmt.Errorf("samples %d..%d: %w", lo, hi-1, err)
		}
		prog := p.prog
		if p.c.squared() && slices.Contains(ms, true) {
			if prog, err = p.maskedProgram(); err != nil {
				return err
			}
		} else if p.train {
			// The loss weights (and labels) only matter for Step; feed
			// zeros.
			if p.w64 != nil {
				clear(p.w64)
				feed["w"] = p.w64
			} else {
				clear(p.w32)
				feed["w"] = p.w32
			}
			if p.y != nil {
				clear(p.y)
				feed["y"] = p.y
			}
		}
		if err := prog.Run(feed); err != nil {
			return err
		}
		cv, err := prog.Output("c")
		if err != nil {
			return err
		}
		logZ, err := p.logZ(prog)
		if err != nil {
			return err
		}
		c := cv.Float64s()
		for i := range (hi - lo) * k {
			dst[lo*k+i] = c[i] - logZ[i%k]
		}
	}
	return nil
}

// logZ reads the partition function of prog's last run (zeros when the
// circuit is normalized by construction).
func (p *Program) logZ(prog *nn.Program) ([]float64, error) {
	if p.c.Normalized() || p.em {
		return make([]float64, p.c.plan.Classes), nil
	}
	z, err := prog.Output("logz")
	if err != nil {
		return nil, err
	}
	return z.Float64s(), nil
}

// LogPartition runs the program on nothing (every variable missing) and
// returns log Z per root unit.
func (p *Program) LogPartition() ([]float64, error) {
	v := p.c.plan.NumVars
	miss := make([]bool, v)
	for i := range miss {
		miss[i] = true
	}
	var x any = make([]uint8, v)
	if p.x == nil {
		if p.xf64 != nil {
			x = make([]float64, v)
		} else {
			x = make([]float32, v)
		}
	}
	feed, err := p.load(x, miss, 1)
	if err != nil {
		return nil, err
	}
	if p.train {
		if p.w64 != nil {
			feed["w"] = p.w64
		} else {
			feed["w"] = p.w32
		}
		if p.y != nil {
			feed["y"] = p.y
		}
	}
	if err := p.prog.Run(feed); err != nil {
		return nil, err
	}
	return p.logZ(p.prog)
}

// loadMixed copies the mixed data xs (n, V) into dst (B, V), the rest of
// dst zeroed: a NaN entry becomes 0 marked in nan (a missing value, which
// the mask integrates out); an entry neither NaN nor marked in missing
// must be a value of its column (Column.check).
func loadMixed[T kernel.Float](cols []Column, xs, dst []T, missing, nan []bool) error {
	v := len(cols)
	if len(xs)%v != 0 {
		return fmt.Errorf("input data: len(x) = %d is not a multiple of V = %d", len(xs), v)
	}
	clear(nan)
	clear(dst[len(xs):])
	for i, t := range xs {
		x := float64(t)
		if math.IsNaN(x) {
			nan[i], dst[i] = true, 0
			continue
		}
		if missing != nil && missing[i] {
			dst[i] = 0
			continue
		}
		if why := cols[i%v].check(x); why != "" {
			return &kernel.InputDataError{Sample: i / v, Variable: i % v, Value: x, Reason: why}
		}
		dst[i] = t
	}
	return nil
}
