package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// refCrossEntropy is mean_n −log(exp(z_n[y_n]) / Σ_k exp(z_n[k])), computed
// in float64 with the max shift (the definition, stabilised the textbook
// way).
func refCrossEntropy(z []float64, y []int, c int) float64 {
	s := 0.0
	for n, label := range y {
		row := z[n*c : (n+1)*c]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		e := 0.0
		for _, v := range row {
			e += math.Exp(v - m)
		}
		s += -(row[label] - m - math.Log(e))
	}
	return s / float64(len(y))
}

// TestCrossEntropy: the loss against the definition in float64 and float32,
// on ordinary logits and on logits of magnitude 1000 (where exp overflows
// without the shift), and the gradient by finite differences, directly on
// the logits and through a Linear layer.
func TestCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	const n, c = 5, 4
	labels := []int{0, 3, 1, 3, 2}
	for _, scale := range []float64{1, 1000} {
		for _, dt := range []DType{Float64, Float32} {
			z := NewParam("z", dt, n, c)
			NormalInit(z, 0, scale, rng)
			g := NewGraph(dt)
			loss := CrossEntropy(g.Param(z), g.Labels("y", n))
			prog, err := g.Compile(Minimize(loss))
			if err != nil {
				t.Fatal(err)
			}
			got, err := prog.Step(Feed{"y": labels})
			if err != nil {
				t.Fatal(err)
			}
			want := refCrossEntropy(z.Value(), labels, c)
			if tol := map[DType]float64{Float64: 1e-12, Float32: 1e-5}[dt]; math.Abs(got-want) > tol*math.Max(1, want) {
				t.Errorf("%v scale %v: loss %v, want %v", dt, scale, got, want)
			}
			if dt == Float64 && scale == 1 {
				checkProgramGrad(t, prog, Feed{"y": labels}, []*Param{z}, 1e-6)
			}
		}
	}

	lin := NewLinear(3, c, Float64, true, rng)
	g := NewGraph(Float64)
	x := g.Input("x", n, 3)
	prog, err := g.Compile(Minimize(CrossEntropy(lin.Forward(x), g.Labels("y", n))))
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]float64, n*3)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	checkProgramGrad(t, prog, Feed{"x": xs, "y": labels}, Params(lin), 1e-6)
}

// A label outside [0, C) is refused by the feed, naming the input and the
// position; no run happens.
func TestCrossEntropyBadLabel(t *testing.T) {
	g := NewGraph(Float32)
	x := g.Input("x", 2, 3)
	loss := CrossEntropy(x, g.Labels("y", 2))
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range [][]int{{0, 3}, {-1, 0}} {
		_, err := prog.Step(Feed{"x": make([]float32, 6), "y": y})
		if err == nil || !strings.Contains(err.Error(), `feed "y": label`) || !strings.Contains(err.Error(), "[0, 3)") {
			t.Errorf("labels %v: err = %v, want a feed error naming y and [0, 3)", y, err)
		}
	}
	if _, err := prog.Step(Feed{"x": make([]float32, 6), "y": []int{2, 0}}); err != nil {
		t.Fatal(err)
	}
}

func TestCrossEntropyShapeErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func(g *Graph)
		want  string
	}{
		{"float labels", func(g *Graph) { CrossEntropy(g.Input("z", 2, 3), g.Input("y", 2)) }, "labels are float32"},
		{"batch", func(g *Graph) { CrossEntropy(g.Input("z", 2, 3), g.Labels("y", 3)) }, "want logits (N, C) and labels (N)"},
		{"class counts", func(g *Graph) {
			y := g.Labels("y", 2)
			CrossEntropy(g.Input("a", 2, 3), y)
			CrossEntropy(g.Input("b", 2, 4), y)
		}, "already serve 3 classes"},
	} {
		err := func() (err error) {
			defer func() { err = panicError(recover()) }()
			c.build(NewGraph(Float32))
			return nil
		}()
		var se *ShapeError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a *ShapeError mentioning %q", c.name, err, c.want)
		}
	}
}

func TestAccuracy(t *testing.T) {
	logits := Buf{Shape: []int{4, 3}, F32: []float32{
		0, 2, 1, // 1
		5, 5, 1, // 0 (first of a tie)
		float32(math.NaN()), 1, 0, // never right
		-1, -3, -2, // 0
	}}
	if got := Argmax(logits); got[0] != 1 || got[1] != 0 || got[2] != -1 || got[3] != 0 {
		t.Errorf("Argmax = %v, want [1 0 -1 0]", got)
	}
	if got := Accuracy(logits, []int{1, 1, 1, 0}); got != 0.5 {
		t.Errorf("Accuracy = %v, want 0.5", got)
	}
	defer func() {
		var se *ShapeError
		if err, ok := recover().(error); !ok || !errors.As(err, &se) {
			t.Errorf("Accuracy with 3 labels for 4 rows: recovered %v, want a *ShapeError", err)
		}
	}()
	Accuracy(logits, []int{1, 1, 1})
}
