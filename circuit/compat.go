package circuit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tenpc/tenpc/regiongraph"
)

// Compatible reports whether circuits a and b can be multiplied exactly
// (Multiply), returning nil, or a one-line error naming the first region,
// from the root down, where they differ.
//
// Two circuits are compatible when their region graphs are structured
// decomposable with the same vtree: every region splits its scope one way
// (a region with several partitions mixes different decompositions, and a
// product of two such mixtures needs the cross products of different
// decompositions, which no circuit of either structure computes), and
// regions of equal scope split it into the same input scopes in both
// graphs. The same region graph built twice (qt2, qt4, a random binary
// tree with one repetition, a Chow-Liu tree, a linear tree), or two graphs
// that differ only in their region and partition ids, qualify; QG, PD and
// graphs with repetitions under a mixing root do not. The circuits must
// also agree on the variables and the element type, and every variable's
// inputs must multiply: Gaussian in both, or discrete in both over the
// same values (the families may differ: categorical times embedding,
// say, as a squared circuit with embedding inputs times its monotonic
// factor).
func Compatible(a, b *Circuit) error {
	if _, err := matchCircuits(a, b); err != nil {
		return err
	}
	return nil
}

// graphMatch pairs the regions and partitions of two compatible region
// graphs.
type graphMatch struct {
	// region[r] is b's region of a's region r (−1: unreached).
	region []int
	// inputs[q][i] is the position, among the inputs of b's partition
	// matching a's partition q, of the region paired with q's i-th input.
	inputs [][]int
}

// matchCircuits checks that a and b are compatible and pairs their
// folded region graphs.
func matchCircuits(a, b *Circuit) (*graphMatch, error) {
	if a.opts.DType != b.opts.DType {
		return nil, fmt.Errorf("circuit: incompatible circuits: a is %v, b is %v", a.opts.DType, b.opts.DType)
	}
	m, err := matchGraphs(a.plan.graph, b.plan.graph)
	if err != nil {
		return nil, err
	}
	ka, kb := a.varKinds(), b.varKinds()
	for v := range ka {
		if !ka[v].multipliesWith(kb[v]) {
			return nil, fmt.Errorf("circuit: incompatible circuits: variable %d has %v inputs in a, %v in b", v, ka[v], kb[v])
		}
	}
	return m, nil
}

// multipliesWith reports whether units of kinds k and o have a product
// unit: two Gaussians, or two discrete families over the same values,
// whose tables multiply value by value (a categorical unit times an
// embedding, the monotonic factor of a squared circuit with embedding
// inputs, say).
func (k varKind) multipliesWith(o varKind) bool {
	if k.kind == Gaussian || o.kind == Gaussian {
		return k.kind == o.kind
	}
	return k.values == o.values
}

// varKind is one variable's input family and value count.
type varKind struct {
	kind   InputKind
	values int
}

func (k varKind) String() string {
	if k.kind == Gaussian {
		return k.kind.String()
	}
	return fmt.Sprintf("%v (%d values)", k.kind, k.values)
}

// varKinds is the input family of every variable.
func (c *Circuit) varKinds() []varKind {
	out := make([]varKind, c.plan.NumVars)
	for v := range out {
		out[v] = varKind{c.opts.Input, c.opts.Values}
		if c.opts.Columns != nil {
			out[v] = varKind{c.opts.Columns[v].Kind, c.opts.Columns[v].Values}
		}
		if out[v].kind == Gaussian {
			out[v].values = 0
		}
	}
	return out
}

// matchGraphs pairs the regions of ga and gb from their roots down,
// breadth first, or says where they first differ.
func matchGraphs(ga, gb *regiongraph.Graph) (*graphMatch, error) {
	if ga.NumVars != gb.NumVars {
		return nil, fmt.Errorf("circuit: incompatible circuits: a has %d variables, b has %d", ga.NumVars, gb.NumVars)
	}
	if err := oneSplitEach(ga, "a"); err != nil {
		return nil, err
	}
	if err := oneSplitEach(gb, "b"); err != nil {
		return nil, err
	}
	m := &graphMatch{region: make([]int, len(ga.Regions)), inputs: make([][]int, len(ga.Partitions))}
	for i := range m.region {
		m.region[i] = -1
	}
	type pair struct{ a, b int }
	queue := []pair{{ga.Roots[0], gb.Roots[0]}}
	m.region[ga.Roots[0]] = gb.Roots[0]
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		ra, rb := ga.Regions[p.a], gb.Regions[p.b]
		if !slices.Equal(ra.Scope, rb.Scope) {
			return nil, fmt.Errorf("circuit: incompatible circuits: region %d of a has scope %s, its counterpart %d in b %s", p.a, fmtScope(ra.Scope), p.b, fmtScope(rb.Scope))
		}
		switch {
		case len(ra.Partitions) == 0 && len(rb.Partitions) == 0:
			continue
		case len(ra.Partitions) == 0:
			return nil, fmt.Errorf("circuit: incompatible circuits: region %d %s is a leaf in a, split into %s in b", p.a, fmtScope(ra.Scope), fmtSplit(gb, rb.Partitions[0]))
		case len(rb.Partitions) == 0:
			return nil, fmt.Errorf("circuit: incompatible circuits: region %d %s is split into %s in a, a leaf in b", p.a, fmtScope(ra.Scope), fmtSplit(ga, ra.Partitions[0]))
		}
		qa, qb := ra.Partitions[0], rb.Partitions[0]
		ia, ib := ga.Partitions[qa].Inputs, gb.Partitions[qb].Inputs
		pos := map[string]int{}
		for j, r := range ib {
			pos[fmt.Sprint(gb.Regions[r].Scope)] = j
		}
		perm := make([]int, len(ia))
		same := len(ia) == len(ib)
		for i, r := range ia {
			j, ok := pos[fmt.Sprint(ga.Regions[r].Scope)]
			perm[i] = j
			same = same && ok
		}
		if !same {
			return nil, fmt.Errorf("circuit: incompatible circuits: region %d %s is split into %s in a, into %s in b", p.a, fmtScope(ra.Scope), fmtSplit(ga, qa), fmtSplit(gb, qb))
		}
		m.inputs[qa] = perm
		for i, r := range ia {
			rb := ib[perm[i]]
			switch m.region[r] {
			case -1:
				m.region[r] = rb
				queue = append(queue, pair{r, rb})
			case rb:
			default:
				return nil, fmt.Errorf("circuit: incompatible circuits: region %d %s of a meets two regions of b with that scope (%d and %d)", r, fmtScope(ga.Regions[r].Scope), m.region[r], rb)
			}
		}
	}
	return m, nil
}

// oneSplitEach refuses a region graph with a region of several
// partitions: products need one decomposition per scope.
func oneSplitEach(g *regiongraph.Graph, name string) error {
	for r, reg := range g.Regions {
		if len(reg.Partitions) > 1 {
			return fmt.Errorf("circuit: incompatible circuits: region %d %s of %s has %d partitions (%s and %s); products need structured-decomposable circuits, one split per region (region graphs qt2, qt4, rbt with one repetition, cl, linear)",
				r, fmtScope(reg.Scope), name, len(reg.Partitions), fmtSplit(g, reg.Partitions[0]), fmtSplit(g, reg.Partitions[1]))
		}
	}
	return nil
}

// fmtScope prints a scope compactly: every variable up to 8, else the
// first four, an ellipsis, the last and the count.
func fmtScope(s []int) string {
	if len(s) <= 8 {
		return "{" + strings.Trim(fmt.Sprint(s), "[]") + "}"
	}
	return fmt.Sprintf("{%s … %d} (%d variables)", strings.Trim(fmt.Sprint(s[:4]), "[]"), s[len(s)-1], len(s))
}

// fmtSplit prints a partition's input scopes: {0 1}|{2 3}.
func fmtSplit(g *regiongraph.Graph, q int) string {
	parts := make([]string, len(g.Partitions[q].Inputs))
	for i, r := range g.Partitions[q].Inputs {
		parts[i] = fmtScope(g.Regions[r].Scope)
	}
	return strings.Join(parts, "|")
}
