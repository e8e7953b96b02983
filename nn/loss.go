package nn

// Classification losses over integer labels.
//
// The labels of a batch change every step, so they enter a program as an
// input: an Int input of shape (N) fed with []int (Graph.Labels declares
// one). CrossEntropy is a fused op over logits and labels, stable for any
// logit magnitude because it works in log space with a max shift:
//
//	nll:  z (N, C), y (N) -> l (N),  l_n = logsumexp(z_n) − z_n[y_n]
//	      dz_n = dl_n · (softmax(z_n) − onehot(y_n)),  no gradient for y
//	CrossEntropy = mean_n l_n
//
// A label outside [0, C) is a feed error: Program.Run and Step reject it
// before running, naming the input, the position and the class count.

import (
	"fmt"
	"math"
)

// Labels declares an input of n integer class labels, fed with []int.
func (g *Graph) Labels(name string, n int) *Node { return g.InputOf(name, Int, n) }

// CrossEntropy returns the mean over the batch of −log softmax(logits)[label]:
// logits (N, C), labels an Int input (N) -> a scalar. It is PyTorch's
// F.cross_entropy with integer targets.
func CrossEntropy(logits, labels *Node) *Node {
	return Mean(NLL(logits, labels))
}

// NLL returns each row's negative log-likelihood of its label under
// softmax(logits): logits (N, C), labels an Int input (N) -> (N).
func NLL(logits, labels *Node) *Node {
	g := sameGraph("NLL", logits, labels)
	ls, ys := logits.Shape(), labels.Shape()
	if len(ls) != 2 || len(ys) != 1 || ys[0] != ls[0] {
		panic(shapeErr("NLL", "want logits (N, C) and labels (N)", logits, labels))
	}
	if labels.DType() != Int {
		panic(shapeErr("NLL", fmt.Sprintf("labels are %v, want int (declare them with Graph.Labels)", labels.DType()), logits, labels))
	}
	name := g.inputName(labels)
	if name == "" {
		panic(shapeErr("NLL", "labels must be an input of the graph (Graph.Labels)", logits, labels))
	}
	if c, ok := g.classes[name]; ok && c != ls[1] {
		panic(shapeErr("NLL", fmt.Sprintf("labels %q already serve %d classes", name, c), logits, labels))
	}
	g.classes[name] = ls[1]
	return Apply(nllOp{}, logits, labels)
}

// inputName is the name of the input node n, or "" if n is not an input.
func (g *Graph) inputName(n *Node) string {
	for name, in := range g.inputs {
		if in.n == n.n {
			return name
		}
	}
	return ""
}

// nllOp is the fused negative log-likelihood: z (N, C), y (N) -> l (N).
type nllOp struct{}

func (nllOp) Name() string { return "NLL" }

func (nllOp) OutShape(in [][]int) ([]int, error) { return []int{in[0][0]}, nil }

func (nllOp) DiffWRT(i int) bool { return i == 0 }

func (nllOp) Forward(in []Buf, out Buf) {
	c := in[0].Shape[1]
	if in[0].F32 != nil {
		nllForward(in[0].F32, in[1].Int, c, out.F32)
	} else {
		nllForward(in[0].F64, in[1].Int, c, out.F64)
	}
}

func (nllOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	c := in[0].Shape[1]
	if in[0].F32 != nil {
		nllBackward(in[0].F32, in[1].Int, c, out.F32, g.F32, dIn[0].F32)
	} else {
		nllBackward(in[0].F64, in[1].Int, c, out.F64, g.F64, dIn[0].F64)
	}
}

// nllForward: z (N, C), y (N) -> l (N), l_n = logsumexp(z_n) − z_n[y_n].
// A label out of range (which the feed rejects) gives NaN.
func nllForward[T float32 | float64](z []T, y []int, c int, l []T) {
	for n, label := range y {
		row := z[n*c : (n+1)*c]
		if label < 0 || label >= c {
			l[n] = T(math.NaN())
			continue
		}
		l[n] = T(rowLogSumExp(row) - float64(row[label]))
	}
}

// nllBackward adds dl_n · (softmax(z_n) − onehot(y_n)) into dz, with
// softmax(z_n) = exp(z_n − logsumexp(z_n)) = exp(z_n − z_n[y_n] − l_n).
func nllBackward[T float32 | float64](z []T, y []int, c int, l, dl, dz []T) {
	for n, label := range y {
		if label < 0 || label >= c {
			continue
		}
		row, d := z[n*c:(n+1)*c], dz[n*c:(n+1)*c]
		lse := float64(l[n]) + float64(row[label])
		g := float64(dl[n])
		for k, v := range row {
			d[k] += T(g * math.Exp(float64(v)-lse))
		}
		d[label] -= T(g)
	}
}

// rowLogSumExp is log Σ exp(row), shifted by the maximum.
func rowLogSumExp[T float32 | float64](row []T) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	if math.IsInf(m, 0) {
		return m
	}
	s := 0.0
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// Accuracy is the fraction of rows of logits (N, C) whose largest entry is
// at the row's label: Output of a classifier and the batch's labels. A row
// with a NaN counts as wrong. It panics with a *ShapeError when the shapes
// disagree.
func Accuracy(logits Buf, labels []int) float64 {
	if len(logits.Shape) != 2 || logits.Shape[0] != len(labels) || logits.Len() != logits.Shape[0]*logits.Shape[1] {
		panic(&ShapeError{Op: "Accuracy", Shapes: [][]int{logits.Shape, {len(labels)}}, Msg: "want logits (N, C) and N labels"})
	}
	if len(labels) == 0 {
		return 0
	}
	pred := Argmax(logits)
	right := 0
	for i, p := range pred {
		if p == labels[i] {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

// Argmax returns the position of the largest entry of each row of a (N, C)
// buffer (the first one on ties; −1 for a row holding a NaN).
func Argmax(b Buf) []int {
	if len(b.Shape) != 2 {
		panic(&ShapeError{Op: "Argmax", Shapes: [][]int{b.Shape}, Msg: "want (N, C)"})
	}
	if b.F32 != nil {
		return argmaxRows(b.F32, b.Shape[0], b.Shape[1])
	}
	if b.F64 != nil {
		return argmaxRows(b.F64, b.Shape[0], b.Shape[1])
	}
	panic(&ShapeError{Op: "Argmax", Shapes: [][]int{b.Shape}, Msg: "want float32 or float64 values"})
}

func argmaxRows[T float32 | float64](d []T, n, c int) []int {
	out := make([]int, n)
	for i := range n {
		best := 0
		row := d[i*c : (i+1)*c]
		for k, v := range row {
			if v != v {
				best = -1
				break
			}
			if v > row[best] {
				best = k
			}
		}
		out[i] = best
	}
	return out
}
