package circuit

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tenpc/tenpc/nn"
)

// Param is how inner weights are parameterized.
type Param int

const (
	// Clamp keeps raw weights, clamped at ≥ ClampMin after every optimizer
	// step; the circuit is unnormalized and log p(x) = c(x) − log Z.
	Clamp Param = iota
	// Softmax normalizes each unit's weights over its inputs (Z = 1).
	Softmax
	// Exp uses exp(θ) as weights (unnormalized, like Clamp).
	Exp
	// Real keeps raw weights of any sign (no clamp), and the circuit c(x)
	// defines the squared circuit p(x) = c(x)² / Z, Z = ∫ c(x)² dx being
	// the partition function of Multiply(c, c) (Loconte et al., ICLR 2024).
	// It needs a structured-decomposable region graph (see Compatible) and
	// runs on the graph engine in signed log-space.
	Real
)

var paramNames = []string{"clamp", "softmax", "exp", "real"}

func (p Param) String() string {
	if int(p) < len(paramNames) {
		return paramNames[p]
	}
	return fmt.Sprintf("Param(%d)", int(p))
}

// ParseParam parses "clamp", "softmax", "exp" or "real" ("none", no
// reparameterization, is another name for real).
func ParseParam(s string) (Param, error) {
	if s == "none" {
		return Real, nil
	}
	for i, n := range paramNames {
		if s == n {
			return Param(i), nil
		}
	}
	return 0, fmt.Errorf("unknown parameterization %q (want %s)", s, strings.Join(paramNames, ", "))
}

// ClampMin is the lower bound of clamped weights (the reference protocol's
// 1.08e-19, just above float32's smallest normal number squared).
const ClampMin = 1.08e-19

// InputKind is the distribution family of the input units.
type InputKind int

const (
	Categorical InputKind = iota
	Bernoulli
	Binomial
	Gaussian
	// Embedding units hold a real value, of either sign, per category, as
	// cirkit's embedding layer does: unnormalized, so only a squared
	// circuit (Param Real, p = c²/Z) takes them.
	Embedding
)

var inputNames = []string{"categorical", "bernoulli", "binomial", "gaussian", "embedding"}

func (k InputKind) String() string {
	if int(k) < len(inputNames) {
		return inputNames[k]
	}
	return fmt.Sprintf("InputKind(%d)", int(k))
}

// ParseInput parses "categorical", "bernoulli", "binomial", "gaussian" or
// "embedding".
func ParseInput(s string) (InputKind, error) {
	for i, n := range inputNames {
		if s == n {
			return InputKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown input %q (want %s)", s, strings.Join(inputNames, ", "))
}

// Column is the input distribution of one variable of a circuit with
// mixed inputs (Options.Columns).
type Column struct {
	// Kind is the variable's family.
	Kind InputKind
	// Values is the number of values of a categorical variable (2..256) and
	// N+1 for a binomial one of N trials; a Bernoulli variable has 2 (0
	// means 2), a Gaussian one 0.
	Values int
}

func (c Column) String() string {
	if c.Kind == Gaussian {
		return c.Kind.String()
	}
	return fmt.Sprintf("%v(%d)", c.Kind, c.Values)
}

// check says what is wrong with x as an observed value of the column ("":
// nothing): a discrete column takes whole numbers in [0, Values), a
// Gaussian one finite numbers.
func (c Column) check(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "not finite"
	case c.Kind != Gaussian && (x < 0 || x >= float64(c.Values) || x != math.Trunc(x)):
		return fmt.Sprintf("not a category of a %v column (0..%d)", c.Kind, c.Values-1)
	}
	return ""
}

// Init is the initializer of inner weights.
type Init int

const (
	// Uniform draws from uniform(0.01, 0.99), the reference protocol's.
	Uniform Init = iota
	// Normal draws from N(0, 1) (used as logits under Softmax/Exp; under
	// Clamp the absolute value is taken).
	Normal
	// Dirichlet draws each unit's weight vector from Dirichlet(1).
	Dirichlet
)

var initNames = []string{"uniform", "normal", "dirichlet"}

func (i Init) String() string {
	if int(i) < len(initNames) {
		return initNames[i]
	}
	return fmt.Sprintf("Init(%d)", int(i))
}

// ParseInit parses "uniform", "normal" or "dirichlet".
func ParseInit(s string) (Init, error) {
	for i, n := range initNames {
		if s == n {
			return Init(i), nil
		}
	}
	return 0, fmt.Errorf("unknown initializer %q (want %s)", s, strings.Join(initNames, ", "))
}

// Options configure Build. The zero value (with Units set) is the reference
// protocol's circuit: CP layers, categorical inputs over 256 values, clamp
// parameterization, uniform(0.01, 0.99) initialization, frozen mixing.
type Options struct {
	// Layer is the sum-product layer family (default CP): a built-in one or
	// one registered with RegisterLayer. Every family takes every region
	// graph; Tucker's (and any Binary one's) binarizes partitions of more
	// than two inputs, the others fold them as they are.
	Layer Layer
	// Engine is how compiled programs compute the layers (default Fused).
	Engine Engine
	// Rank is the rank R of CPR layers (default Units).
	Rank int
	// Units is K, the number of units of every inner region (required).
	Units int
	// InputUnits is the number of units of input regions (default Units).
	InputUnits int
	// Classes is the number of root units: 1 for a density, N for a
	// class-conditional circuit (default 1).
	Classes int
	// Input is the input distribution family (default Categorical).
	Input InputKind
	// Values is the number of values of categorical inputs (default 256);
	// for Binomial it is N+1 (N trials; default 256, i.e. N = 255).
	Values int
	// Columns, when set, gives each variable its own input family, one
	// entry per variable in order (tabular data: categorical columns of
	// their own sizes, Bernoulli and Gaussian columns in one circuit), and
	// Input and Values are ignored. Such a circuit takes float data, a
	// category as its index, and reads a NaN entry as missing; it runs on
	// the graph engine.
	Columns []Column
	// Param is the inner weights' parameterization (default Clamp).
	Param Param
	// Init is the inner weights' initializer (default Uniform).
	Init Init
	// MonoUnits, with Param Real, gives the squared circuit a monotonic
	// factor: p(x) = m(x)·c(x)² / Z, Z = ∫ m c², m being a circuit of the
	// same region graph, layer and inputs (categorical ones for c's
	// embeddings) with MonoUnits units a region and softmax weights (the
	// μSOCS of Loconte et al., AAAI 2025). c's inputs start near uniform,
	// so that p starts near m. 0: none.
	MonoUnits int
	// LearnMixing makes mixing weights trainable; by default they are frozen
	// at uniform weights 1/H, as in the reference protocol.
	LearnMixing bool
	// DType is the element type (default Float32).
	DType nn.DType
	// Seed seeds every initializer (same seed, same circuit).
	Seed uint64
	// MaxParams refuses circuits with more parameters (0: 2^31).
	MaxParams int64
	// MaxMemory refuses programs (Compile) whose memory estimate exceeds it,
	// in bytes (0: the memory the system reports available).
	MaxMemory int64
}

func (o Options) withDefaults() Options {
	if o.Layer == "" {
		o.Layer = CP
	}
	if o.InputUnits == 0 {
		o.InputUnits = o.Units
	}
	if o.Classes == 0 {
		o.Classes = 1
	}
	if o.Rank == 0 {
		o.Rank = o.Units
	}
	if o.Values == 0 {
		switch o.Input {
		case Bernoulli:
			o.Values = 2
		case Gaussian:
		default:
			o.Values = 256
		}
	}
	if o.MaxParams == 0 {
		o.MaxParams = 1 << 31
	}
	if o.Columns != nil {
		o.Columns = slices.Clone(o.Columns)
		for i, c := range o.Columns {
			if c.Kind == Bernoulli && c.Values == 0 {
				o.Columns[i].Values = 2
			}
		}
	}
	return o
}

func (o Options) validate() error {
	if _, ok := layerDef(o.Layer); !ok {
		_, err := ParseLayer(string(o.Layer))
		return fmt.Errorf("circuit: %w", err)
	}
	switch {
	case o.Units < 1:
		return fmt.Errorf("circuit: Units must be ≥ 1, got %d", o.Units)
	case o.InputUnits < 1:
		return fmt.Errorf("circuit: InputUnits must be ≥ 1, got %d", o.InputUnits)
	case o.Classes < 1:
		return fmt.Errorf("circuit: Classes must be ≥ 1, got %d", o.Classes)
	case o.Engine != Fused && o.Engine != Graph:
		return fmt.Errorf("circuit: unknown engine %v", o.Engine)
	case o.Param < Clamp || o.Param > Real:
		return fmt.Errorf("circuit: unknown parameterization %v", o.Param)
	case o.Input < Categorical || o.Input > Embedding:
		return fmt.Errorf("circuit: unknown input %v", o.Input)
	case o.MonoUnits < 0:
		return fmt.Errorf("circuit: MonoUnits must be ≥ 0, got %d", o.MonoUnits)
	case o.MonoUnits > 0 && o.Param != Real:
		return fmt.Errorf("circuit: MonoUnits %d: a monotonic factor multiplies a squared circuit, which needs Param Real, got %v", o.MonoUnits, o.Param)
	case o.MonoUnits > 0 && o.Classes != 1:
		return fmt.Errorf("circuit: MonoUnits %d: a squared circuit with a monotonic factor has one root unit, got Classes %d", o.MonoUnits, o.Classes)
	case o.Input == Embedding && o.Param != Real:
		return fmt.Errorf("circuit: embedding inputs take values of either sign, which only a squared circuit normalizes: they need Param Real, got %v", o.Param)
	case o.Layer == CPR && o.Rank < 1:
		return fmt.Errorf("circuit: Rank must be ≥ 1, got %d", o.Rank)
	case (o.Input == Categorical || o.Input == Binomial || o.Input == Embedding) && (o.Values < 2 || o.Values > 256):
		return fmt.Errorf("circuit: %v inputs need 2..256 values, got %d", o.Input, o.Values)
	case o.Input == Bernoulli && o.Values != 2:
		return fmt.Errorf("circuit: Bernoulli inputs take 2 values, got %d", o.Values)
	case o.DType != nn.Float32 && o.DType != nn.Float64:
		return fmt.Errorf("circuit: DType must be float32 or float64, got %v", o.DType)
	case o.Columns != nil && len(o.Columns) == 0:
		return fmt.Errorf("circuit: Columns is empty; leave it nil for a single input family")
	}
	for i, c := range o.Columns {
		switch {
		case c.Kind == Embedding:
			return fmt.Errorf("circuit: Columns[%d]: embedding inputs are for a single-family squared circuit, not mixed columns", i)
		case c.Kind < Categorical || c.Kind > Gaussian:
			return fmt.Errorf("circuit: Columns[%d]: unknown input %v", i, c.Kind)
		case (c.Kind == Categorical || c.Kind == Binomial) && (c.Values < 2 || c.Values > 256):
			return fmt.Errorf("circuit: Columns[%d]: %v inputs need 2..256 values, got %d", i, c.Kind, c.Values)
		case c.Kind == Bernoulli && c.Values != 2:
			return fmt.Errorf("circuit: Columns[%d]: Bernoulli inputs take 2 values, got %d", i, c.Values)
		case c.Kind == Gaussian && c.Values != 0:
			return fmt.Errorf("circuit: Columns[%d]: Gaussian inputs take no Values, got %d", i, c.Values)
		}
	}
	return nil
}

// checkParams refuses a circuit of n parameters over MaxParams.
func (o *Options) checkParams(n int64) error {
	if n > o.MaxParams {
		return fmt.Errorf("circuit: %d parameters (%.1f GiB as %v) exceed the limit of %d", n, float64(n)*float64(o.DType.Size())/(1<<30), o.DType, o.MaxParams)
	}
	return nil
}

// monoOptions are the options of a squared circuit's monotonic factor (see
// MonoUnits): o's structure and inputs with MonoUnits units and softmax
// weights.
func (o Options) monoOptions() Options {
	m := o
	m.Units, m.InputUnits, m.Rank, m.MonoUnits = o.MonoUnits, o.MonoUnits, 0, 0
	m.Param, m.Init = Softmax, Uniform
	if m.Input == Embedding { // m is a distribution: categorical over the same values
		m.Input = Categorical
	}
	m.Seed = o.Seed ^ 0x6d6f6e6f
	return m
}
