package circuit

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// The query × model table of docs/QUERIES.md, as this test finds it: for
// each model family and input family, "ok" where a query answers (finite
// values of the right count; the exact checks are the tests the document
// names), otherwise the words its one-line refusal must contain.

var tableQueries = []string{"likelihood", "marginal", "conditional", "Z", "sampling", "MAP", "expectation", "Adam", "EM"}

// tableInput is an input family of the table: one InputKind for every
// variable, or mixed columns (a categorical, a Bernoulli, a Gaussian and a
// binomial variable).
type tableInput struct {
	name    string
	kind    InputKind
	columns []Column
}

var tableInputs = []tableInput{{"categorical", Categorical, nil}, {"bernoulli", Bernoulli, nil}, {"binomial", Binomial, nil}, {"gaussian", Gaussian, nil},
	{"mixed", 0, []Column{{Kind: Categorical, Values: 3}, {Kind: Bernoulli}, {Kind: Gaussian}, {Kind: Binomial, Values: 4}}}}

// queryTable is the expected table: model family → query → answer, the
// same for every input family except where QUERY/INPUT lists its own.
var queryTable = map[string]map[string]string{
	"monotonic": {"likelihood": "ok", "marginal": "ok", "conditional": "ok", "Z": "ok", "sampling": "ok", "MAP": "ok", "expectation": "ok", "Adam": "ok", "EM": "ok"},
	"squared": {"likelihood": "ok", "marginal": "ok", "conditional": "ok", "Z": "ok", "sampling": "ok", "MAP": "no max-product pass", "expectation": "ok", "Adam": "ok",
		"EM": "EM needs clamp- or exp-parameterized weights", "sampling/gaussian": "inverse CDF of a signed mixture", "sampling/mixed": "inverse CDF of a signed mixture"},
	"monotonic × squared": {"likelihood": "ok", "marginal": "ok", "conditional": "ok", "Z": "ok", "sampling": "ok", "MAP": "no max-product pass", "expectation": "ok", "Adam": "ok",
		"EM": "EM needs clamp- or exp-parameterized weights", "sampling/gaussian": "inverse CDF of a signed mixture", "sampling/mixed": "inverse CDF of a signed mixture"},
	"product": {"likelihood": "ok", "marginal": "ok", "conditional": "ok", "Z": "ok", "sampling": "ok", "MAP": "ok", "expectation": "ok", "Adam": "ok", "EM": "EM supports the built-in layers"},
	"class-conditional": {"likelihood": "ok", "marginal": "ok", "conditional": "ok", "Z": "ok", "sampling": "needs a circuit with one root unit", "MAP": "needs a circuit with one root unit",
		"expectation": "ok", "Adam": "ok", "EM": "EM needs one root unit"},
}

var tableFamilies = []string{"monotonic", "squared", "monotonic × squared", "product", "class-conditional"}

// tableCircuit builds a model of family over a 4-variable random binary
// tree with inputs in, seeded by seed.
func tableCircuit(t *testing.T, family string, in tableInput, seed uint64) *Circuit {
	t.Helper()
	rg, err := regiongraph.RandomBinaryTree(4, -1, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	values := map[InputKind]int{Categorical: 3, Bernoulli: 2, Binomial: 4}[in.kind]
	o := Options{Layer: CP, Units: 2, Input: in.kind, Values: values, Columns: in.columns, Param: Clamp, DType: nn.Float64, Seed: seed}
	switch family {
	case "squared":
		o.Param, o.Init = Real, Normal
	case "monotonic × squared":
		o.Param, o.Init, o.MonoUnits = Real, Normal, 2
	case "class-conditional":
		o.Classes = 3
	}
	c, err := Build(rg, o)
	if err != nil {
		t.Fatal(err)
	}
	if family != "product" {
		return c
	}
	o.Seed += 100
	b, err := Build(rg, o)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := Multiply(c, b)
	if err != nil {
		t.Fatal(err)
	}
	return ab
}

// askQuery runs query q on c (other: a circuit of c's family and inputs
// for Expectation) and returns its values or its error.
func askQuery(c, other *Circuit, in tableInput, q string) ([]float64, error) {
	const n, V = 3, 4
	gauss := in.kind == Gaussian || in.columns != nil
	x8 := []uint8{0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0}
	xf := []float64{0.3, -1, 0.5, 2, -0.2, 0.1, 1.5, -0.7, 0, 1, -1, 0.4}
	if in.columns != nil {
		xf = []float64{0, 1, 0.3, 2, 2, 0, -1, 3, 1, 1, 0.7, 0}
	}
	lp := func(miss []bool) ([]float64, error) {
		if gauss {
			return c.LogProbFloat(xf, miss)
		}
		return c.LogProb(x8, miss)
	}
	mask := func(f func(v int) bool) []bool {
		m := make([]bool, n*V)
		for i := range m {
			m[i] = f(i % V)
		}
		return m
	}
	rng := rand.New(rand.NewPCG(1, 2))
	switch q {
	case "likelihood":
		return lp(nil)
	case "marginal":
		return lp(mask(func(v int) bool { return v >= 2 }))
	case "conditional":
		query, ev := mask(func(v int) bool { return v == 0 }), mask(func(v int) bool { return v == 1 })
		if gauss {
			return c.LogConditionalFloat(xf, query, ev)
		}
		return c.LogConditional(x8, query, ev)
	case "Z":
		return c.LogPartition()
	case "sampling":
		if gauss {
			return c.SampleFloat(n, rng)
		}
		s, err := c.Sample(n, rng)
		return toFloats(s), err
	case "MAP":
		obs := mask(func(v int) bool { return v == 0 })
		if gauss {
			_, v, err := c.MAPFloat(xf, obs)
			return v, err
		}
		_, v, err := c.MAP(x8, obs)
		return v, err
	case "expectation":
		return Expectation(c, other)
	case "Adam":
		var p *Program
		var err error
		if c.plan.Classes > 1 {
			p, err = c.CompileClassifier(n, 0.5)
		} else {
			p, err = c.Compile(n, true)
		}
		if err != nil {
			return nil, err
		}
		var data any = x8
		if gauss {
			data = xf
		}
		var loss float64
		if c.plan.Classes > 1 {
			loss, err = p.StepLabels(data, []int{0, 2, 1})
		} else {
			loss, err = p.Step(data)
		}
		return []float64{loss}, err
	case "EM":
		if _, err := NewEM(c, EMConfig{}); err != nil {
			return nil, err
		}
		return []float64{0}, nil
	}
	panic("unknown query " + q)
}

func toFloats(s []uint8) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func TestQueryTable(t *testing.T) {
	for _, family := range tableFamilies {
		for _, in := range tableInputs {
			c := tableCircuit(t, family, in, 1)
			other := tableCircuit(t, family, in, 2)
			for _, q := range tableQueries {
				want, ok := queryTable[family][q+"/"+in.name]
				if !ok {
					want = queryTable[family][q]
				}
				t.Run(family+"/"+in.name+"/"+q, func(t *testing.T) {
					v, err := askQuery(c, other, in, q)
					if want != "ok" {
						if err == nil {
							t.Fatalf("answered %v, want a refusal containing %q", v, want)
						}
						if msg := err.Error(); !strings.Contains(msg, want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "circuit: ") {
							t.Fatalf("refusal %q: want one line containing %q", msg, want)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if len(v) == 0 {
						t.Fatal("no values")
					}
					for i, x := range v {
						if math.IsNaN(x) || math.IsInf(x, 0) {
							t.Fatalf("value %d is %v", i, x)
						}
					}
				})
			}
		}
	}
}

// The table of docs/QUERIES.md is this test's: each model family's row
// reads ✓ where queryTable says "ok" for every input family, "no" where
// it refuses every input family, and names the input families otherwise.
func TestQueryTableDoc(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "QUERIES.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		rows[cells[0]] = cells[1:]
	}
	head := rows["model \\ query"]
	if len(head) != len(tableQueries) {
		t.Fatalf("header %q: want the queries %q", head, tableQueries)
	}
	for i, q := range tableQueries {
		if head[i] != q {
			t.Errorf("column %d is %q, want %q", i, head[i], q)
		}
	}
	for _, family := range tableFamilies {
		row, ok := rows[family]
		if !ok || len(row) != len(tableQueries) {
			t.Errorf("no row of %d queries for %s: %q", len(tableQueries), family, row)
			continue
		}
		for i, q := range tableQueries {
			var okIn, noIn []string
			for _, in := range tableInputs {
				want, ok := queryTable[family][q+"/"+in.name]
				if !ok {
					want = queryTable[family][q]
				}
				if want == "ok" {
					okIn = append(okIn, in.name)
				} else {
					noIn = append(noIn, in.name)
				}
			}
			var cell string
			switch {
			case len(noIn) == 0:
				cell = "✓"
			case len(okIn) == 0:
				cell = "no"
			default:
				cell = "✓ " + strings.Join(okIn, ", ") + "; not " + strings.Join(noIn, ", ")
			}
			// A cell may end with footnote marks.
			if got := strings.TrimRight(row[i], " ⁰¹²³⁴⁵⁶⁷⁸⁹"); got != cell {
				t.Errorf("%s / %s: the document says %q, the circuit %q", family, q, got, cell)
			}
		}
	}
}

// The table's answers over discrete inputs are exact, by enumeration of
// the 4 variables' states: every root unit's p sums to 1 (so Z is right),
// a marginal is the sum of the states that agree with it, a class
// posterior sums to 1 over the classes, and E_p[q] = Σ_x p(x) q(x), for
// every model family of the table (the product's Σ is Σ p_ab).
func TestQueryTableExact(t *testing.T) {
	for _, family := range tableFamilies {
		for _, in := range tableInputs[:3] {
			t.Run(family+"/"+in.name, func(t *testing.T) {
				c, other := tableCircuit(t, family, in, 1), tableCircuit(t, family, in, 2)
				V, C := c.plan.NumVars, map[InputKind]int{Categorical: 3, Bernoulli: 2, Binomial: 4}[in.kind]
				x := allAssignments(V, C)
				n, K := len(x)/V, c.plan.Classes
				lp, err := c.LogProb(x, nil)
				if err != nil {
					t.Fatal(err)
				}
				lq, err := other.LogProb(x, nil)
				if err != nil {
					t.Fatal(err)
				}
				column := func(l []float64, y int) []float64 {
					out := make([]float64, n)
					for i := range out {
						out[i] = l[i*K+y]
					}
					return out
				}
				for y := range K {
					if s := logSumExp(column(lp, y)); math.Abs(s) > 1e-9 {
						t.Errorf("root unit %d: log Σ_x p(x) = %g, want 0", y, s)
					}
				}
				// p(x_0 = 1, x_1 = 0), x_2 and x_3 integrated out.
				row := []uint8{1, 0, 0, 0}
				lm, err := c.LogProb(row, []bool{false, false, true, true})
				if err != nil {
					t.Fatal(err)
				}
				for y := range K {
					var terms []float64
					for i := range n {
						if x[i*V] == 1 && x[i*V+1] == 0 {
							terms = append(terms, lp[i*K+y])
						}
					}
					if want := logSumExp(terms); math.Abs(lm[y]-want) > 1e-9 {
						t.Errorf("root unit %d: log p(x_0=1, x_1=0) = %.12g, enumeration %.12g", y, lm[y], want)
					}
				}
				if K > 1 {
					post, err := c.LogPosterior(x[:2*V], []bool{false, true, false, true, true, false, true, false})
					if err != nil {
						t.Fatal(err)
					}
					for i := range 2 {
						if s := logSumExp(post[i*K : (i+1)*K]); math.Abs(s) > 1e-9 {
							t.Errorf("row %d: log Σ_y p(y | x_o) = %g, want 0", i, s)
						}
					}
				}
				e, err := Expectation(c, other)
				if err != nil {
					t.Fatal(err)
				}
				for y := range K {
					for y2 := range K {
						terms := make([]float64, n)
						for i := range terms {
							terms[i] = lp[i*K+y] + lq[i*K+y2]
						}
						if want := logSumExp(terms); math.Abs(e[y*K+y2]-want) > 1e-9 {
							t.Errorf("root units (%d, %d): log E_p[q] = %.12g, enumeration %.12g", y, y2, e[y*K+y2], want)
						}
					}
				}
			})
		}
	}
}
