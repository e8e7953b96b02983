package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"slices"
	"sync/atomic"

	"github.com/chewxy/hm"
	"github.com/tenpc/tenpc/internal/vec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Device is where a buffer's elements live. Every buffer is on the CPU
// today, a Go slice; a backend for an accelerator would add its device and
// hand its kernels buffers in that device's memory.
type Device int

// CPU is the host: the buffer's elements are its Go slice.
const CPU Device = 0

func (d Device) String() string {
	if d == CPU {
		return "cpu"
	}
	return fmt.Sprintf("Device(%d)", int(d))
}

// Buf is a view of a tensor's storage: its shape, its device and exactly
// one non-nil backing slice.
type Buf struct {
	Shape []int
	// Device is where the elements live (CPU: in the slice below).
	Device Device
	F32    []float32
	F64    []float64
	U8     []uint8
	Int    []int
	// Fresh is set only on a gradient buffer handed to the Backward of a
	// FreshWriter: one mark per slice along the first dimension (one in
	// all for a scalar). A marked slice holds leftovers, not a gradient:
	// Backward writes the first contribution to it instead of adding, and
	// clears the mark. Slices still marked afterwards are cleared for it.
	Fresh []bool
}

// Len is the number of elements.
func (b Buf) Len() int {
	switch {
	case b.F32 != nil:
		return len(b.F32)
	case b.F64 != nil:
		return len(b.F64)
	case b.Int != nil:
		return len(b.Int)
	}
	return len(b.U8)
}

// Float64s returns the values as float64s (a copy).
func (b Buf) Float64s() []float64 {
	switch {
	case b.F32 != nil:
		out := make([]float64, len(b.F32))
		for i, v := range b.F32 {
			out[i] = float64(v)
		}
		return out
	case b.F64 != nil:
		return append([]float64(nil), b.F64...)
	case b.Int != nil:
		out := make([]float64, len(b.Int))
		for i, v := range b.Int {
			out[i] = float64(v)
		}
		return out
	}
	out := make([]float64, len(b.U8))
	for i, v := range b.U8 {
		out[i] = float64(v)
	}
	return out
}

func bufOf(v G.Value) Buf {
	switch x := v.(type) {
	case *G.F32:
		return Buf{F32: []float32{float32(*x)}}
	case *G.F64:
		return Buf{F64: []float64{float64(*x)}}
	case tensor.Tensor:
		if d, ok := x.(*tensor.Dense); ok && d.IsMaterializable() {
			// A view (a transpose, say): its elements in row-major order.
			x = d.Materialize()
		}
		b := Buf{Shape: append([]int(nil), x.Shape()...)}
		switch d := x.Data().(type) {
		case []float32:
			b.F32 = d
		case []float64:
			b.F64 = d
		case []uint8:
			b.U8 = d
		case []int:
			b.Int = d
		case float32:
			b.F32 = []float32{d}
		case float64:
			b.F64 = []float64{d}
		}
		return b
	}
	panic(fmt.Sprintf("nn: unsupported value %T", v))
}

// Fused is a custom operation with a hand-written backward pass: the fast
// path for work that stock ops would spread over many small steps (a folded
// circuit layer: gather + GEMM + product + rescale). Apply wires it into a
// graph as one Gorgonia op for the forward and one for the backward.
//
// The framework owns the output and gradient buffers and reuses them across
// runs, so an implementation allocates nothing per step. Forward writes every
// element of out. Backward ADDS ∂ℓ/∂in[i] into dIn[i] for every i with
// DiffWRT(i) (dIn[i] is empty otherwise); g is ∂ℓ/∂out. Backward runs once
// per forward, after it, with the same in and out.
//
// When a Fused op's output is consumed only by other Fused ops, gradients
// between them bypass Gorgonia: consumers add straight into the producer's
// gradient buffer and pass Gorgonia a scalar token that only orders the
// backward ops. Stock ops never see these tokens.
type Fused interface {
	// Name identifies the op in errors and graph dumps.
	Name() string
	// OutShape validates the input shapes and returns the output's.
	OutShape(in [][]int) ([]int, error)
	// DiffWRT reports whether input i takes a gradient.
	DiffWRT(i int) bool
	Forward(in []Buf, out Buf)
	Backward(in []Buf, out, g Buf, dIn []Buf)
}

// GradOverwriter is implemented by a Fused op whose Backward writes every
// element of dIn[i] instead of adding into it, for each input i it names:
// those gradient buffers are not cleared before its backward.
type GradOverwriter interface {
	OverwritesGrad(i int) bool
}

// FreshWriter is implemented by a Fused op whose Backward honours the Fresh
// marks of dIn[i] for each input i it names (see Buf). Gradient buffers are
// then not cleared before the op's Backward: each slice is written once by
// its first contributor instead.
type FreshWriter interface {
	WritesFresh(i int) bool
}

// Identity is implemented by a Fused op that may be the identity on its only
// input (a reparameterization that keeps raw values, such as clamped
// weights), when Identity reports true. Its output is then the input's value
// itself, with no copy, and when the output's gradient is accumulated by
// fused consumers, that buffer is the input's gradient: neither Forward nor
// Backward runs. (Backward still runs when the input is itself a fused
// output, to add into its gradient.)
type Identity interface {
	Identity() bool
}

var fusedSeq atomic.Int64

// fusedState is shared by a Fused op's forward node and its backward nodes.
type fusedState struct {
	f        Fused
	id       int64
	dt       tensor.Dtype
	inShapes [][]int
	inTypes  []hm.Type
	shape    []int
	out      *tensor.Dense
	gen      uint64          // forward runs so far
	bwdGen   uint64          // forward run the last backward belongs to
	gacc     *tensor.Dense   // gradient of out, accumulated by fused consumers (token path)
	fresh    []bool          // per slice of gacc along its first dimension: leftovers, not yet written this pass
	dIn      []*tensor.Dense // private gradient buffers of inputs on the ordinary path
	dInFresh [][]bool        // Fresh marks of dIn[i] when the op is a FreshWriter for i
	srcAcc   []*fusedState   // producer whose gacc receives input i's gradient (token path), or nil
	outToken bool            // out's gradient arrives by token (decided in SymDiff)
	ident    bool            // an Identity op: out is the input's value (out is nil)
}

// newAcc allocates gacc, all of it marked fresh.
func (s *fusedState) newAcc() {
	s.gacc = tensor.New(tensor.WithShape(s.shape...), tensor.Of(s.dt))
	s.fresh = make([]bool, slices0(s.shape))
}

// slices0 is the number of slices along the first dimension of a shape
// (one for a scalar): the granularity of Fresh marks.
func slices0(shape []int) int {
	if len(shape) == 0 {
		return 1
	}
	return shape[0]
}

// settle clears the slices of gacc still marked fresh: after every consumer
// has added its part, before gacc is read as a gradient.
func (s *fusedState) settle() { clearFresh(s.gacc, s.fresh) }

// clearFresh zeroes the slices of t (along its first dimension) that fresh
// marks, and unmarks them.
func clearFresh(t *tensor.Dense, fresh []bool) {
	if !slices.Contains(fresh, true) {
		return
	}
	switch d := t.Data().(type) {
	case []float32:
		clearMarked(d, fresh)
	case []float64:
		clearMarked(d, fresh)
	}
}

// clearMarked clears each run of marked slices, in parallel chunks when it
// is large.
func clearMarked[T float32 | float64](d []T, fresh []bool) {
	per := len(d) / len(fresh)
	for i := 0; i < len(fresh); {
		if !fresh[i] {
			i++
			continue
		}
		j := i
		for j < len(fresh) && fresh[j] {
			fresh[j] = false
			j++
		}
		run := d[i*per : j*per]
		vec.Chunks(len(run), func(_, lo, hi int) { clear(run[lo:hi]) })
		i = j
	}
}

// passes reports whether input i's gradient is out's gradient buffer itself.
func (s *fusedState) passes(i int) bool { return s.ident && s.outToken && s.srcAcc[i] == nil }

// Apply adds f to the graph of its inputs and returns its output node.
// Inputs of the graph's float dtype and Uint8 or Int inputs are allowed; the
// output has the graph's dtype. A shape f rejects panics with a *ShapeError.
func Apply(f Fused, inputs ...*Node) *Node {
	if len(inputs) == 0 {
		panic(&ShapeError{Op: f.Name(), Msg: "no inputs"})
	}
	g := sameGraph(f.Name(), inputs...)
	s := &fusedState{f: f, id: fusedSeq.Add(1), dt: g.dtype.tensorType()}
	gn := make([]*G.Node, len(inputs))
	for i, in := range inputs {
		gn[i] = in.n
		s.inShapes = append(s.inShapes, in.Shape())
		s.inTypes = append(s.inTypes, typeOf(in.Shape(), in.n.Dtype()))
	}
	shape, err := f.OutShape(s.inShapes)
	if err != nil {
		panic(shapeErr(f.Name(), err.Error(), inputs...))
	}
	s.shape = shape
	if id, ok := f.(Identity); ok && id.Identity() && len(inputs) == 1 &&
		slices.Equal(shape, s.inShapes[0]) && inputs[0].n.Dtype() == s.dt {
		s.ident = true
	} else {
		s.out = tensor.New(tensor.WithShape(shape...), tensor.Of(s.dt))
	}
	n, err := G.ApplyOp(fusedFwd{s}, gn...)
	return g.wrap(must(f.Name(), n, err, inputs...))
}

func typeOf(shape []int, dt tensor.Dtype) hm.Type {
	if len(shape) == 0 {
		return dt
	}
	return G.TensorType{Dims: len(shape), Of: dt}
}

// fusedOnly reports whether n is a fused op's output whose every consumer is
// a fused forward or backward op, so its gradient can travel by token.
func fusedOnly(n *G.Node) (*fusedState, bool) {
	fw, ok := n.Op().(fusedFwd)
	if !ok {
		return nil, false
	}
	g := n.Graph()
	it := g.To(n.ID())
	consumers := 0
	for it.Next() {
		switch it.Node().(*G.Node).Op().(type) {
		case fusedFwd:
			consumers++
		case fusedBwd:
		default:
			return nil, false
		}
	}
	// Without a fused consumer the gradient is Gorgonia's own (n is the loss).
	return fw.s, consumers > 0
}

type fusedFwd struct{ s *fusedState }

func (o fusedFwd) Arity() int { return len(o.s.inShapes) }
func (o fusedFwd) Type() hm.Type {
	return hm.NewFnType(append(append([]hm.Type(nil), o.s.inTypes...), typeOf(o.s.shape, o.s.dt))...)
}
func (o fusedFwd) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), o.s.shape...)), nil
}
func (o fusedFwd) ReturnsPtr() bool      { return false }
func (o fusedFwd) CallsExtern() bool     { return false }
func (o fusedFwd) OverwritesInput() int  { return -1 }
func (o fusedFwd) WriteHash(h hash.Hash) { fmt.Fprintf(h, "fused.%d", o.s.id) }
func (o fusedFwd) Hashcode() uint32      { return hashOf(o) }
func (o fusedFwd) String() string        { return o.s.f.Name() }

func hashOf(op G.Op) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (o fusedFwd) Do(vals ...G.Value) (G.Value, error) {
	s := o.s
	s.gen++
	for i := range s.fresh {
		s.fresh[i] = true
	}
	if s.ident {
		return vals[0], nil
	}
	in := make([]Buf, len(vals))
	for i, v := range vals {
		in[i] = bufOf(v)
	}
	s.f.Forward(in, bufOf(s.out))
	return s.out, nil
}

func (o fusedFwd) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = o.s.f.DiffWRT(i)
	}
	return d
}

func (o fusedFwd) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	s := o.s
	_, s.outToken = fusedOnly(output)
	if s.outToken && s.gacc == nil {
		s.newAcc()
	}
	s.dIn = make([]*tensor.Dense, len(inputs))
	s.dInFresh = make([][]bool, len(inputs))
	s.srcAcc = make([]*fusedState, len(inputs))
	operands := append(append(G.Nodes(nil), inputs...), output, grad)
	res := make(G.Nodes, len(inputs))
	for i, in := range inputs {
		if !s.f.DiffWRT(i) {
			continue
		}
		token := false
		if src, ok := fusedOnly(in); ok {
			if src.gacc == nil {
				src.newAcc()
			}
			s.srcAcc[i] = src
			token = true
		} else if !s.passes(i) {
			s.dIn[i] = tensor.New(tensor.WithShape(s.inShapes[i]...), tensor.Of(in.Dtype()))
			ow, _ := s.f.(GradOverwriter)
			if fw, ok := s.f.(FreshWriter); ok && fw.WritesFresh(i) && (ow == nil || !ow.OverwritesGrad(i)) {
				s.dInFresh[i] = make([]bool, slices0(s.inShapes[i]))
			}
		}
		n, err := G.ApplyOp(fusedBwd{s: s, i: i, token: token, gradType: grad.Type()}, operands...)
		if err != nil {
			return nil, fmt.Errorf("%s backward: %w", s.f.Name(), err)
		}
		res[i] = n
	}
	return res, nil
}

// fusedBwd returns the gradient of input i of a fused op. The first fusedBwd
// of the op to run in a pass runs the whole backward for every input.
type fusedBwd struct {
	s        *fusedState
	i        int
	token    bool
	gradType hm.Type
}

func (o fusedBwd) Arity() int { return len(o.s.inShapes) + 2 }
func (o fusedBwd) resultType() hm.Type {
	if o.token {
		return o.s.dt
	}
	return o.s.inTypes[o.i]
}
func (o fusedBwd) Type() hm.Type {
	ts := append(append([]hm.Type(nil), o.s.inTypes...), typeOf(o.s.shape, o.s.dt), o.gradType, o.resultType())
	return hm.NewFnType(ts...)
}
func (o fusedBwd) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.token {
		return tensor.ScalarShape(), nil
	}
	return tensor.Shape(append([]int(nil), o.s.inShapes[o.i]...)), nil
}
func (o fusedBwd) ReturnsPtr() bool     { return false }
func (o fusedBwd) CallsExtern() bool    { return false }
func (o fusedBwd) OverwritesInput() int { return -1 }
func (o fusedBwd) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "fused.%d.grad.%d.%v", o.s.id, o.i, o.token)
}
func (o fusedBwd) Hashcode() uint32 { return hashOf(o) }
func (o fusedBwd) String() string   { return fmt.Sprintf("∂%s/∂in%d", o.s.f.Name(), o.i) }

func (o fusedBwd) Do(vals ...G.Value) (G.Value, error) {
	s := o.s
	if s.passes(o.i) {
		s.settle()
		return s.gacc, nil
	}
	if s.bwdGen != s.gen {
		s.bwdGen = s.gen
		n := len(s.inShapes)
		in := make([]Buf, n)
		for i := range n {
			in[i] = bufOf(vals[i])
		}
		g := bufOf(vals[n+1])
		if s.outToken {
			s.settle()
			g = bufOf(s.gacc)
		}
		fw, _ := s.f.(FreshWriter)
		dIn := make([]Buf, n)
		for i := range n {
			switch {
			case s.srcAcc[i] != nil:
				src := s.srcAcc[i]
				dIn[i] = bufOf(src.gacc)
				if fw != nil && fw.WritesFresh(i) {
					dIn[i].Fresh = src.fresh
				} else {
					src.settle()
				}
			case s.dIn[i] != nil:
				dIn[i] = bufOf(s.dIn[i])
				ow, _ := s.f.(GradOverwriter)
				switch {
				case s.dInFresh[i] != nil:
					dIn[i].Fresh = s.dInFresh[i]
					for j := range dIn[i].Fresh {
						dIn[i].Fresh[j] = true
					}
				case ow == nil || !ow.OverwritesGrad(i):
					clearBuf(s.dIn[i])
				}
			}
		}
		s.f.Backward(in, bufOf(vals[n]), g, dIn)
		for i, fresh := range s.dInFresh {
			if fresh != nil {
				clearFresh(s.dIn[i], fresh)
			}
		}
	}
	if o.token {
		if s.dt == tensor.Float64 {
			return G.NewF64(0), nil
		}
		return G.NewF32(0), nil
	}
	return s.dIn[o.i], nil
}

// clearBuf zeroes t, in parallel chunks when it is large.
func clearBuf(t *tensor.Dense) {
	switch d := t.Data().(type) {
	case []float32:
		vec.Chunks(len(d), func(_, lo, hi int) { clear(d[lo:hi]) })
	case []float64:
		vec.Chunks(len(d), func(_, lo, hi int) { clear(d[lo:hi]) })
	}
}
