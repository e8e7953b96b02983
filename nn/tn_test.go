package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// Shared checks of the tensorized layers (MPOLinear, TuckerLinear,
// CPLinear): gradients of the contraction op, forward against the dense
// reconstruction, the sparse-layer view, FLOP counts and one-line errors.

// tnRand returns n values uniform in [-1, 1).
func tnRand(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 2*rng.Float64() - 1
	}
	return v
}

// tnGradCheck checks the gradients of the chain op with respect to x and
// every factor by finite differences.
func tnGradCheck(t *testing.T, c *tnChain, batch int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	inputs := []*tensor.Dense{gcRand(rng, -1, 1, batch, c.in)}
	for _, s := range c.factorShapes {
		inputs = append(inputs, gcRand(rng, -1, 1, s...))
	}
	gradCheck(t, inputs, nnBuild(func(xs []*Node) *Node { return Apply(newTNOp(c), xs...) }))
}

// runForward runs m's Forward on x (n, in) in a graph of dt and returns
// the output as float64s.
func runForward(t *testing.T, m Module, x []float64, shape []int, dt DType) []float64 {
	t.Helper()
	g := NewGraph(dt)
	g.Output("y", m.Forward(g.Input("x", shape...)))
	p, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var feed any = x
	if dt == Float32 {
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		feed = x32
	}
	if err := p.Run(Feed{"x": feed}); err != nil {
		t.Fatal(err)
	}
	y, err := p.Output("y")
	if err != nil {
		t.Fatal(err)
	}
	return y.Float64s()
}

// denseForward is x Wᵀ + b for x (n, in), W (out, in).
func denseForward(w, b, x []float64, n, out, in int) []float64 {
	y := make([]float64, n*out)
	for s := range n {
		for i := range out {
			v := 0.0
			if b != nil {
				v = b[i]
			}
			for j := range in {
				v += w[i*in+j] * x[s*in+j]
			}
			y[s*out+i] = v
		}
	}
	return y
}

// checkTNLayer checks a layer's Forward (float64 and float32) against
// x·Dense()ᵀ + b, its sparse layers against Forward, its FLOPs against
// the sparse layers' non-zeros, and its ParamCount.
func checkTNLayer(t *testing.T, l TNLinear, bias *Param, params int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	out, in := l.Dims()
	const n = 3
	x := tnRand(rng, n*in)
	var b []float64
	if bias != nil {
		b = bias.Value()
	}
	want := denseForward(l.Dense(), b, x, n, out, in)
	got := runForward(t, l, x, []int{n, in}, Float64)
	if e := gcMaxAbsDiff(got, want); e > 1e-12 {
		t.Errorf("float64 forward differs from x·Dense()ᵀ + b by %.3g", e)
	}
	// Float32: the same layer's values rounded; the error is float32's.
	l32 := castLayer(l)
	got32 := runForward(t, l32, x, []int{n, in}, Float32)
	if e := gcMaxAbsDiff(got32, want); e > 1e-4 {
		t.Errorf("float32 forward differs from x·Dense()ᵀ + b by %.3g", e)
	}
	// The stack of sparse layers, applied sample by sample.
	layers := l.SparseLayers()
	var nnz int64
	for _, s := range layers {
		nnz += int64(len(s.Val))
	}
	for s := range n {
		v := x[s*in : (s+1)*in]
		for _, m := range layers {
			if m.Cols != len(v) {
				t.Fatalf("sparse layer takes %d values, the state has %d", m.Cols, len(v))
			}
			v = m.MulVec(v)
		}
		for i := range v {
			if b != nil {
				v[i] += b[i]
			}
		}
		if e := gcMaxAbsDiff(v, want[s*out:(s+1)*out]); e > 1e-12 {
			t.Errorf("sample %d: the stack of sparse layers differs from the dense forward by %.3g", s, e)
		}
	}
	if f := l.FLOPs(7); f != 2*7*nnz {
		t.Errorf("FLOPs(7) = %d, want 2·7·%d non-zeros of the sparse layers", f, nnz)
	}
	if pc := l.ParamCount(); pc != params {
		t.Errorf("ParamCount = %d, want %d", pc, params)
	}
}

// castLayer returns a float32 copy of a float64 layer.
func castLayer(l TNLinear) TNLinear {
	cp := func(ps []*Param) []*Param {
		out := make([]*Param, len(ps))
		for i, p := range ps {
			out[i] = fitParam(p.name, Float32, p.Value(), p.shape...)
		}
		return out
	}
	one := func(p *Param) *Param {
		if p == nil {
			return nil
		}
		return cp([]*Param{p})[0]
	}
	switch l := l.(type) {
	case *MPOLinear:
		return &MPOLinear{Cores: cp(l.Cores), Bias: one(l.Bias), order: l.order}
	case *TuckerLinear:
		return &TuckerLinear{Core: one(l.Core), OutFactors: cp(l.OutFactors), InFactors: cp(l.InFactors), Bias: one(l.Bias)}
	case *CPLinear:
		return &CPLinear{Factors: cp(l.Factors), Bias: one(l.Bias), order: l.order}
	}
	panic("castLayer: unknown layer")
}

// moduleGradCheck checks the gradients Program.Step gives m's parameters
// against central differences of the loss Σ w ⊙ m(x) (float64).
func moduleGradCheck(t *testing.T, m Module, x []float64, shape []int) {
	t.Helper()
	build := func() *Program {
		g := NewGraph(Float64)
		y := m.Forward(g.Input("x", shape...))
		w := g.Const(tnRand(rand.New(rand.NewPCG(5, 6)), sizeOf(y.Shape())), y.Shape()...)
		p, err := g.Compile(Minimize(Sum(Mul(y, w))))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := build()
	ps := Params(m)
	for _, q := range ps {
		q.ZeroGrad()
	}
	if _, err := p.Step(Feed{"x": x}); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, q := range ps {
		grad := slices.Clone(q.Grad64())
		vals := q.Float64s()
		for j := range vals {
			var f [2]float64
			orig := vals[j]
			for k, h := range []float64{gcStep, -gcStep} {
				vals[j] = orig + h
				if err := p.Run(Feed{"x": x}); err != nil {
					t.Fatal(err)
				}
				f[k], _ = p.Loss()
			}
			vals[j] = orig
			num := (f[0] - f[1]) / (2 * gcStep)
			worst = math.Max(worst, math.Abs(grad[j]-num)/math.Max(1, math.Max(math.Abs(grad[j]), math.Abs(num))))
		}
	}
	if worst > gcTol {
		t.Errorf("parameter gradient error %.3g > %g", worst, gcTol)
	}
}

func TestModes(t *testing.T) {
	for _, c := range []struct {
		n, d int
		want []int
	}{
		{1024, 4, []int{4, 8, 8, 4}},
		{784, 4, []int{4, 7, 7, 4}},
		{1024, 2, []int{32, 32}},
		{10, 2, []int{2, 5}},
		{7, 3, []int{1, 7, 1}},
		{1, 2, []int{1, 1}},
		{500, 3, []int{5, 10, 10}},
	} {
		got := Modes(c.n, c.d)
		if sizeOf(got) != c.n {
			t.Errorf("Modes(%d, %d) = %v multiplies to %d", c.n, c.d, got, sizeOf(got))
		}
		// Compare as multisets arranged small-outside: the expected lists
		// above are already in that arrangement.
		if !slices.Equal(got, c.want) {
			t.Errorf("Modes(%d, %d) = %v, want %v", c.n, c.d, got, c.want)
		}
	}
}

// Every bad shape or setting is refused with a one-line error naming the
// function and the input.
func TestTNBadShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	w := tnRand(rng, 12*6)
	cases := []struct {
		name, want string
		f          func() error
	}{
		{"MPO W too short", "W has 72 entries", func() error {
			_, _, err := MPOFromDense(w, nil, []int{4, 4}, []int{2, 3}, Truncation{}, Float64)
			return err
		}},
		{"MPO unpaired modes", "counts must match", func() error {
			_, _, err := MPOFromDense(w, nil, []int{12}, []int{2, 3}, Truncation{}, Float64)
			return err
		}},
		{"MPO one mode", "need at least 2", func() error {
			_, _, err := MPOFromDense(w, nil, []int{12}, []int{6}, Truncation{}, Float64)
			return err
		}},
		{"MPO zero mode", "size below 1", func() error {
			_, err := NewMPOLinear(MPOConfig{OutModes: []int{0, 4}, InModes: []int{2, 3}, Rank: 2}, Float64, rng)
			return err
		}},
		{"MPO ranks count", "make 1 bonds", func() error {
			_, err := NewMPOLinear(MPOConfig{OutModes: []int{3, 4}, InModes: []int{2, 3}, Ranks: []int{2, 2}}, Float64, rng)
			return err
		}},
		{"MPO no rank", "rank 0 is below 1", func() error {
			_, err := NewMPOLinear(MPOConfig{OutModes: []int{3, 4}, InModes: []int{2, 3}}, Float64, rng)
			return err
		}},
		{"MPO bias length", "bias has 5 entries", func() error {
			_, _, err := MPOFromDense(w, make([]float64, 5), []int{3, 4}, []int{2, 3}, Truncation{}, Float64)
			return err
		}},
		{"MPO tolerance", "tolerance 1.5", func() error {
			_, _, err := MPOFromDense(w, nil, []int{3, 4}, []int{2, 3}, Truncation{Tol: 1.5}, Float64)
			return err
		}},
		{"MPO NaN", "entry 3 is NaN", func() error {
			bad := slices.Clone(w)
			bad[3] = math.NaN()
			_, _, err := MPOFromDense(bad, nil, []int{3, 4}, []int{2, 3}, Truncation{}, Float64)
			return err
		}},
		{"Tucker ranks", "want one per mode", func() error {
			_, _, err := TuckerFromDense(w, nil, []int{12}, []int{2, 3}, Truncation{Ranks: []int{2, 2}}, Float64)
			return err
		}},
		{"Tucker W", "the modes [12] × [7]", func() error {
			_, _, err := TuckerFromDense(w, nil, []int{12}, []int{7}, Truncation{}, Float64)
			return err
		}},
		{"Tucker config", "want one per mode", func() error {
			_, err := NewTuckerLinear(TuckerConfig{OutModes: []int{12}, InModes: []int{6}, OutRanks: []int{2}}, Float64, rng)
			return err
		}},
		{"CP no rank", "needs one of them", func() error {
			_, _, err := CPFromDense(w, nil, []int{3, 4}, []int{2, 3}, Truncation{}, Float64)
			return err
		}},
		{"CP rank", "rank 0 is below 1", func() error {
			_, err := NewCPLinear(CPConfig{OutModes: []int{3, 4}, InModes: []int{2, 3}}, Float64, rng)
			return err
		}},
		{"conv map", "make 18", func() error {
			m, _ := NewMPOLinear(MPOConfig{OutModes: []int{3, 4}, InModes: []int{2, 3}, Rank: 2}, Float64, rng)
			_, err := NewTNConv2d(m, 2, [2]int{3, 3}, [2]int{}, [2]int{})
			return err
		}},
	}
	for _, c := range cases {
		err := c.f()
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: error %q spans lines", c.name, err)
		case !strings.HasPrefix(err.Error(), "nn."):
			t.Errorf("%s: error %q does not name the function", c.name, err)
		case !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q, want it to mention %q", c.name, err, c.want)
		}
	}
}

// A layer wired to an input of the wrong width panics with a ShapeError.
func TestTNForwardWrongInput(t *testing.T) {
	l, err := NewMPOLinear(MPOConfig{OutModes: []int{3, 4}, InModes: []int{2, 3}, Rank: 2}, Float64, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		r := recover()
		se, ok := r.(*ShapeError)
		if !ok || !strings.Contains(se.Error(), "want x (N, 6)") {
			t.Fatalf("panic %v, want a ShapeError asking for x (N, 6)", r)
		}
	}()
	l.Forward(NewGraph(Float64).Input("x", 2, 5))
}

func TestPermuteAxes(t *testing.T) {
	shape := []int{2, 3, 4, 5}
	src := make([]float64, sizeOf(shape))
	for i := range src {
		src[i] = float64(i)
	}
	perm := []int{1, 3, 0, 2}
	dst := make([]float64, len(src))
	permuteAxes(src, shape, perm, dst)
	// dst[i1, i3, i0, i2] = src[i0, i1, i2, i3]
	for i0 := range 2 {
		for i1 := range 3 {
			for i2 := range 4 {
				for i3 := range 5 {
					s := ((i0*3+i1)*4+i2)*5 + i3
					d := ((i1*5+i3)*2+i0)*4 + i2
					if dst[d] != src[s] {
						t.Fatalf("dst at %v = %v, want %v", []int{i1, i3, i0, i2}, dst[d], src[s])
					}
				}
			}
		}
	}
	back := make([]float64, len(src))
	unpermuteAxes(dst, shape, perm, back)
	if !slices.Equal(back, src) {
		t.Fatal("unpermuteAxes does not invert permuteAxes")
	}
}

// A step large enough to be shared among goroutines gives the same
// output and gradients on every run, bit for bit: the split does not
// depend on which goroutine takes which part.
func TestTNParallelDeterministic(t *testing.T) {
	l, err := NewMPOLinear(MPOConfig{OutModes: []int{8, 16, 8}, InModes: []int{8, 16, 8}, Rank: 16}, Float32, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	x := make([]float32, n*1024)
	for i, v := range tnRand(rand.New(rand.NewPCG(4, 4)), len(x)) {
		x[i] = float32(v)
	}
	g := NewGraph(Float32)
	y := l.Forward(g.Input("x", n, 1024))
	g.Output("y", y)
	p, err := g.Compile(Minimize(Sum(Square(y))))
	if err != nil {
		t.Fatal(err)
	}
	var first [][]float32
	for run := range 3 {
		for _, c := range l.Cores {
			c.ZeroGrad()
		}
		if _, err := p.Step(Feed{"x": x}); err != nil {
			t.Fatal(err)
		}
		out, _ := p.Output("y")
		got := [][]float32{slices.Clone(out.F32)}
		for _, c := range l.Cores {
			got = append(got, slices.Clone(c.Grad32()))
		}
		if run == 0 {
			first = got
			continue
		}
		for i := range got {
			if !slices.Equal(got[i], first[i]) {
				t.Fatalf("run %d: array %d differs from the first run's", run, i)
			}
		}
	}
}

// The parallel paths (column blocks, chunked factor gradients, diag steps
// split over r) compute what one goroutine computes: float64 outputs and
// gradients of large layers agree to rounding under GOMAXPROCS 1 and 4.
func TestTNParallelMatchesSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	mpo, err := NewMPOLinear(MPOConfig{OutModes: []int{8, 16, 8}, InModes: []int{8, 16, 8}, Rank: 12}, Float64, rng)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := NewCPLinear(CPConfig{OutModes: []int{8, 16, 8}, InModes: []int{8, 16, 8}, Rank: 24}, Float64, rng)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := NewTuckerLinear(TuckerConfig{OutModes: []int{32, 32}, InModes: []int{32, 32}, OutRanks: []int{12, 12}, InRanks: []int{12, 12}}, Float64, rng)
	if err != nil {
		t.Fatal(err)
	}
	const n = 32
	x := tnRand(rng, n*1024)
	layers := map[string]Module{"mpo r→l": mpo, "cp r→l": cp, "tucker": tk}
	mpo2, cp2 := *mpo, *cp
	mpo2.order, cp2.order = 2, 2
	layers["mpo l→r"], layers["cp l→r"] = &mpo2, &cp2
	run := func(m Module, procs int) [][]float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		g := NewGraph(Float64)
		xin := g.Input("x", n, 1024)
		y := m.Forward(xin)
		g.Output("y", y)
		p, err := g.Compile(Minimize(Sum(Square(y))))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range Params(m) {
			q.ZeroGrad()
		}
		if _, err := p.Step(Feed{"x": x}); err != nil {
			t.Fatal(err)
		}
		out, _ := p.Output("y")
		res := [][]float64{slices.Clone(out.F64)}
		for _, q := range Params(m) {
			res = append(res, slices.Clone(q.Grad64()))
		}
		return res
	}
	for name, m := range layers {
		serial, par := run(m, 1), run(m, 4)
		for i := range serial {
			scale := 0.0
			for _, v := range serial[i] {
				scale = math.Max(scale, math.Abs(v))
			}
			if e := gcMaxAbsDiff(serial[i], par[i]); e > 1e-12*scale {
				t.Errorf("%s: array %d differs by %.3g (scale %.3g)", name, i, e, scale)
			}
		}
	}
}
