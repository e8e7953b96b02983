package nn

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Graph is the expression being built: named inputs, the parameters that
// modules bind into it, and named outputs. Build it with Input and module
// Forward calls, then Compile it into a Program. A Graph is single-use:
// compile it once.
//
// Wiring mistakes (a shape mismatch) panic with a *ShapeError naming the op
// and the shapes; mistakes about names (two inputs with one name) are
// remembered and returned by Compile.
type Graph struct {
	g       *G.ExprGraph
	dtype   DType
	inputs  map[string]*Node
	order   []string // input names in creation order
	params  map[*Param]*Node
	porder  []*Param
	outputs map[string]*Node
	oorder  []string
	err     error          // first naming error; returned by Compile
	nodeSeq int            // for unique internal node names
	classes map[string]int // label inputs: the class count their values must stay below
	// training is the mode Compile fixes: Dropout drops only in training.
	training bool
}

// Node is a value in a Graph: an input, a parameter, or the result of an op.
type Node struct {
	n *G.Node
	g *Graph
}

// NewGraph starts an empty graph whose float values have type dt.
func NewGraph(dt DType) *Graph {
	return &Graph{
		g:       G.NewGraph(),
		dtype:   dt,
		inputs:  map[string]*Node{},
		params:  map[*Param]*Node{},
		outputs: map[string]*Node{},
		classes: map[string]int{},
	}
}

// DType is the graph's float type.
func (g *Graph) DType() DType { return g.dtype }

// Shape is the node's shape (a scalar has an empty shape).
func (n *Node) Shape() []int { return append([]int(nil), n.n.Shape()...) }

// Graph is the graph the node belongs to.
func (n *Node) Graph() *Graph { return n.g }

// DType is the node's element type.
func (n *Node) DType() DType { return dtypeOf(n.n.Dtype()) }

// Name is the node's name in the underlying graph.
func (n *Node) Name() string { return n.n.Name() }

func (n *Node) String() string { return fmt.Sprintf("%s%v", n.n.Name(), n.n.Shape()) }

func dtypeOf(t tensor.Dtype) DType {
	switch t {
	case tensor.Float64:
		return Float64
	case tensor.Uint8:
		return Uint8
	case tensor.Int:
		return Int
	}
	return Float32
}

// Input declares a float input of the graph's dtype. Every input needs a
// distinct name; a repeated name makes Compile fail.
func (g *Graph) Input(name string, shape ...int) *Node {
	return g.InputOf(name, g.dtype, shape...)
}

// InputOf declares an input of a given dtype (Uint8 for category data, Int
// for class labels).
func (g *Graph) InputOf(name string, dt DType, shape ...int) *Node {
	if _, dup := g.inputs[name]; dup {
		if g.err == nil {
			g.err = fmt.Errorf("nn: two inputs named %q", name)
		}
		return g.inputs[name]
	}
	checkShape("Input "+name, shape)
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(dt.tensorType()))
	n := &Node{g.newTensorNode(t, name), g}
	g.inputs[name] = n
	g.order = append(g.order, name)
	return n
}

func checkShape(op string, shape []int) {
	for _, s := range shape {
		if s <= 0 {
			panic(&ShapeError{Op: op, Shapes: [][]int{shape}, Msg: "non-positive dimension"})
		}
	}
}

// newTensorNode makes a named leaf node bound to t (sharing its backing).
func (g *Graph) newTensorNode(t *tensor.Dense, name string) *G.Node {
	var n *G.Node
	switch len(t.Shape()) {
	case 0:
		n = G.NewScalar(g.g, t.Dtype(), G.WithName(name), G.WithValue(t))
	default:
		n = G.NewTensor(g.g, t.Dtype(), len(t.Shape()), G.WithShape(t.Shape()...), G.WithName(name), G.WithValue(t))
	}
	return n
}

// Param binds p into the graph (once; later calls return the same node). The
// node shares p's storage, so optimizer updates are seen by every run.
func (g *Graph) Param(p *Param) *Node {
	if n, ok := g.params[p]; ok {
		return n
	}
	if p.dtype != g.dtype {
		panic(&ShapeError{Op: "Param " + p.name, Msg: fmt.Sprintf("parameter is %v, graph is %v", p.dtype, g.dtype)})
	}
	name := fmt.Sprintf("param.%d.%s", len(g.porder), p.name)
	n := &Node{g.newTensorNode(p.value, name), g}
	g.params[p] = n
	g.porder = append(g.porder, p)
	return n
}

// Output names a node whose value Program.Output returns after a run.
func (g *Graph) Output(name string, n *Node) {
	if _, dup := g.outputs[name]; dup {
		if g.err == nil {
			g.err = fmt.Errorf("nn: two outputs named %q", name)
		}
		return
	}
	g.outputs[name] = n
	g.oorder = append(g.oorder, name)
}

// Const returns a constant node of the graph's dtype holding vals
// (row-major) in the given shape; no shape makes a scalar. It is a leaf of
// the graph like a parameter, never differentiated, so it mixes with every
// op, alone or with other constants. (Gorgonia's own constants belong to no
// graph: an op whose operands are all constants fails with "No Graph
// Supplied", and so does reading one.)
func (g *Graph) Const(vals []float64, shape ...int) *Node {
	checkShape("Const", shape)
	name := g.uniqueName("const")
	if len(shape) == 0 {
		if len(vals) != 1 {
			panic(&ShapeError{Op: "Const", Shapes: [][]int{shape}, Msg: fmt.Sprintf("%d values for a scalar", len(vals))})
		}
		var v G.Value = G.NewF64(vals[0])
		if g.dtype == Float32 {
			v = G.NewF32(float32(vals[0]))
		}
		return &Node{G.NewScalar(g.g, g.dtype.tensorType(), G.WithName(name), G.WithValue(v)), g}
	}
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(g.dtype.tensorType()))
	if t.Size() != len(vals) {
		panic(&ShapeError{Op: "Const", Shapes: [][]int{shape}, Msg: fmt.Sprintf("%d values for %d elements", len(vals), t.Size())})
	}
	switch d := t.Data().(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	}
	return &Node{g.newTensorNode(t, name), g}
}

func (g *Graph) uniqueName(prefix string) string {
	g.nodeSeq++
	return fmt.Sprintf("%s.%d", prefix, g.nodeSeq)
}

func (g *Graph) wrap(n *G.Node) *Node { return &Node{n, g} }

// ShapeError reports a wiring mistake: an op given operands whose shapes do
// not fit. It is a programmer error, raised by panic while a graph is built.
type ShapeError struct {
	Op     string
	Shapes [][]int
	Msg    string
}

func (e *ShapeError) Error() string {
	s := "nn: " + e.Op
	for i, sh := range e.Shapes {
		if i == 0 {
			s += ": shapes "
		} else {
			s += " and "
		}
		s += fmt.Sprint(sh)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

func shapeErr(op, msg string, nodes ...*Node) *ShapeError {
	e := &ShapeError{Op: op, Msg: msg}
	for _, n := range nodes {
		e.Shapes = append(e.Shapes, n.Shape())
	}
	return e
}

func sameGraph(op string, nodes ...*Node) *Graph {
	g := nodes[0].g
	for _, n := range nodes[1:] {
		if n.g != g {
			panic(&ShapeError{Op: op, Msg: "operands belong to different graphs"})
		}
	}
	return g
}

// must turns a Gorgonia wiring error into a ShapeError panic.
func must(op string, n *G.Node, err error, operands ...*Node) *G.Node {
	if err != nil {
		panic(shapeErr(op, err.Error(), operands...))
	}
	return n
}

func requireSameShape(op string, a, b *Node) {
	if !slices.Equal(a.Shape(), b.Shape()) {
		panic(shapeErr(op, "shapes differ", a, b))
	}
}
