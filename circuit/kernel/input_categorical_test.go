package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/internal/stattest"
)

// catParams draws θ: (V, K, C) suited to a parameterization: logits N(0, 4)
// for softmax and exp, weights uniform(0.05, 1) for clamp with a few at the
// clamp floor 1.08e-19 of the reference protocol.
func catParams(rng *rand.Rand, param CategoricalParam, V, K, C int) []float64 {
	th := make([]float64, V*K*C)
	for i := range th {
		switch param {
		case CategoricalClamp:
			th[i] = 0.05 + 0.95*rng.Float64()
			if rng.IntN(7) == 0 {
				th[i] = 1.08e-19
			}
		default:
			th[i] = 2 * rng.NormFloat64()
		}
	}
	return th
}

// catLogProb is log p[v,k,c] computed directly in log space.
func catLogProb(param CategoricalParam, th []float64, K, C, v, k, c int) float64 {
	row := th[(v*K+k)*C : (v*K+k+1)*C]
	switch param {
	case CategoricalSoftmax:
		m := math.Inf(-1)
		for _, t := range row {
			m = max(m, t)
		}
		s := 0.0
		for _, t := range row {
			s += math.Exp(t - m)
		}
		return row[c] - m - math.Log(s)
	case CategoricalClamp:
		s := 0.0
		for _, t := range row {
			s += t
		}
		return math.Log(row[c]) - math.Log(s)
	default:
		return row[c]
	}
}

func inputRandData(rng *rand.Rand, B, V, C int) []uint8 {
	x := make([]uint8, B*V)
	for i := range x {
		x[i] = uint8(rng.IntN(C))
	}
	return x
}

func TestCategoricalForwardMatchesLogSpace(t *testing.T) {
	const B, K, C = 6, 3, 4
	for _, param := range []CategoricalParam{CategoricalSoftmax, CategoricalClamp, CategoricalExp} {
		for _, lc := range inputLeafCases() {
			for _, masked := range []bool{false, true} {
				name := param.String() + "/" + lc.name
				if masked {
					name += "/missing"
				}
				t.Run(name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(1, uint64(param)))
					l, err := NewCategorical[float64](lc.off, lc.vrs, lc.V, K, C, param)
					if err != nil {
						t.Fatal(err)
					}
					th := catParams(rng, param, lc.V, K, C)
					x := inputRandData(rng, B, lc.V, C)
					var miss []bool
					if masked {
						miss = inputMask(rng, B, lc.V, 0.3, 2)
					}
					out := make([]float64, l.F*B*(K+1))
					l.Table(th)
					l.Forward(x, miss, out)
					inputCheckRows(t, out, K)
					lv := inputLogValues(out, K)
					for f := range l.F {
						for b := range B {
							for k := range K {
								want := 0.0
								for _, v := range l.vars(f) {
									if miss == nil || !miss[b*lc.V+int(v)] {
										want += catLogProb(param, th, K, C, int(v), k, int(x[b*lc.V+int(v)]))
									}
								}
								got := lv[(f*B+b)*K+k]
								if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
									t.Fatalf("leaf %d sample %d unit %d: %.15g, want %.15g", f, b, k, got, want)
								}
								if masked && b == 2 && got != 0 {
									t.Fatalf("all-missing sample, leaf %d unit %d: log-value %v, want 0", f, k, got)
								}
							}
						}
					}
				})
			}
		}
	}
}

func TestCategoricalNormalization(t *testing.T) {
	const K, C = 4, 6
	off, vrs := SingleVariableLeaves(1)
	for _, param := range []CategoricalParam{CategoricalSoftmax, CategoricalClamp, CategoricalExp} {
		rng := rand.New(rand.NewPCG(2, 0))
		l, err := NewCategorical[float64](off, vrs, 1, K, C, param)
		if err != nil {
			t.Fatal(err)
		}
		th := catParams(rng, param, 1, K, C)
		x := make([]uint8, C) // B = C samples, x = c
		for c := range x {
			x[c] = uint8(c)
		}
		out := make([]float64, C*(K+1))
		l.Table(th)
		l.Forward(x, nil, out)
		lv := inputLogValues(out, K)
		for k := range K {
			sum, want := 0.0, 1.0
			for c := range C {
				sum += math.Exp(lv[c*K+k])
			}
			if param == CategoricalExp { // unnormalized: Σ_c exp θ
				want = 0
				for c := range C {
					want += math.Exp(th[k*C+c])
				}
			}
			if math.Abs(sum-want) > 1e-13*want {
				t.Errorf("%v unit %d: Σ_c p = %.16g, want %v", param, k, sum, want)
			}
		}
	}
}

func TestCategoricalGradient(t *testing.T) {
	const B, K, C = 5, 3, 4
	for _, param := range []CategoricalParam{CategoricalSoftmax, CategoricalClamp, CategoricalExp} {
		for _, lc := range inputLeafCases() {
			t.Run(param.String()+"/"+lc.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, uint64(param)))
				l, err := NewCategorical[float64](lc.off, lc.vrs, lc.V, K, C, param)
				if err != nil {
					t.Fatal(err)
				}
				th := catParams(rng, param, lc.V, K, C)
				if param == CategoricalClamp { // keep central differences inside θ > 0
					for i := range th {
						th[i] = 0.1 + th[i]
					}
				}
				x := inputRandData(rng, B, lc.V, C)
				miss := inputMask(rng, B, lc.V, 0.25, 1)
				g := inputRandGrad(rng, l.F, B, K)
				out := make([]float64, l.F*B*(K+1))
				loss := func() float64 {
					l.Table(th)
					l.Forward(x, miss, out)
					return inputLoss(out, g, K)
				}
				loss()
				d := make([]float64, len(th))
				for i := range d {
					d[i] = 0.5 // Backward adds: start from a non-zero gradient
				}
				l.Backward(x, miss, g, d)
				for i := range d {
					d[i] -= 0.5
				}
				inputCheckFD(t, "dθ", th, d, loss)
			})
		}
	}
}

func TestCategoricalFloat32MatchesFloat64(t *testing.T) {
	// MNIST shape: 784 one-pixel leaves, 256 values, K = 32, B = 16.
	const V, C, K, B = 784, 256, 32, 16
	rng := rand.New(rand.NewPCG(4, 0))
	off, vrs := SingleVariableLeaves(V)
	th32 := make([]float32, V*K*C)
	th64 := make([]float64, V*K*C)
	for i := range th32 {
		th32[i] = float32(rng.NormFloat64())
		th64[i] = float64(th32[i])
	}
	// Value 7 of variable 5 is improbable under every unit (e^-1000, below
	// the linear table's range): the float32 table builds that variable in
	// log space instead of with vec.SoftmaxTable.
	for k := range K {
		th32[(5*K+k)*C+7], th64[(5*K+k)*C+7] = -1000, -1000
	}
	x := inputRandData(rng, B, V, C)
	miss := inputMask(rng, B, V, 0.1, -1)
	x[5], miss[5] = 7, false
	g64 := inputRandGrad(rng, V, B, K)
	g32 := make([]float32, len(g64))
	for i, v := range g64 {
		g32[i] = float32(v)
		g64[i] = float64(g32[i])
	}
	l32, err := NewCategorical[float32](off, vrs, V, K, C, CategoricalSoftmax)
	if err != nil {
		t.Fatal(err)
	}
	l64, err := NewCategorical[float64](off, vrs, V, K, C, CategoricalSoftmax)
	if err != nil {
		t.Fatal(err)
	}
	out32 := make([]float32, V*B*(K+1))
	out64 := make([]float64, V*B*(K+1))
	l32.Table(th32)
	l64.Table(th64)
	l32.Forward(x, miss, out32)
	l64.Forward(x, miss, out64)
	lv32, lv64 := inputLogValues(out32, K), inputLogValues(out64, K)
	for i := range lv64 {
		if math.Abs(lv32[i]-lv64[i]) > 1e-4*max(1, math.Abs(lv64[i])) {
			t.Fatalf("log-value %d: float32 %v, float64 %v", i, lv32[i], lv64[i])
		}
	}
	d32 := make([]float32, len(th32))
	d64 := make([]float64, len(th64))
	l32.Backward(x, miss, g32, d32)
	l64.Backward(x, miss, g64, d64)
	scale := 0.0
	for _, v := range d64 {
		scale = max(scale, math.Abs(v))
	}
	for i := range d64 {
		if math.Abs(float64(d32[i])-d64[i]) > 1e-4*max(math.Abs(d64[i]), 1e-3*scale) {
			t.Fatalf("dθ[%d]: float32 %v, float64 %v (max |dθ| %v)", i, d32[i], d64[i], scale)
		}
	}
}

// A leaf of 30 variables whose per-variable rows favour alternate units by a
// factor 1e10: the product's maximum is 1e-150, below float32's range and
// below renormBelow. The float64 product, rescaled on the way, keeps float32
// outputs equal to float64 ones.
func TestCategoricalMultiVariableUnderflowGuard(t *testing.T) {
	const V, K, C = 30, 2, 2
	off := []int32{0, V}
	vrs := make([]int32, V)
	th := make([]float64, V*K*C)
	for v := range V {
		vrs[v] = int32(v)
		for k := range K {
			// p[v,k,0] = 1e-10/(1+1e-10) when k ≠ v mod 2, else 1/2.
			th[(v*K+k)*C], th[(v*K+k)*C+1] = 1, 1
			if k != v%2 {
				th[(v*K+k)*C] = 1e-10
			}
		}
	}
	x := make([]uint8, V) // B = 1, every value 0
	l32, _ := NewCategorical[float32](off, vrs, V, K, C, CategoricalClamp)
	l64, _ := NewCategorical[float64](off, vrs, V, K, C, CategoricalClamp)
	th32 := make([]float32, len(th))
	for i := range th {
		th32[i] = float32(th[i])
	}
	out32, out64 := make([]float32, K+1), make([]float64, K+1)
	l32.Table(th32)
	l64.Table(th)
	l32.Forward(x, nil, out32)
	l64.Forward(x, nil, out64)
	inputCheckRows(t, out32, K)
	lv32, lv64 := inputLogValues(out32, K), inputLogValues(out64, K)
	want := V/2*math.Log(1e-10/(1+1e-10)) + V/2*math.Log(0.5)
	for k := range K {
		if math.IsInf(lv32[k], 0) || math.Abs(lv32[k]-want) > 1e-5*math.Abs(want) || math.Abs(lv64[k]-want) > 1e-12*math.Abs(want) {
			t.Fatalf("unit %d: float32 %v, float64 %v, want %v", k, lv32[k], lv64[k], want)
		}
	}
}

// Two variables whose best units differ by more than float32's range: unit 0
// is e^-115 times as likely as unit 1 on variable 0 and e^138 times as likely
// on variable 1, so the product favours unit 0 by e^23. A float32 table
// would hold 0 for unit 0 on variable 0 and lose the leaf's best unit.
func TestCategoricalMultiVariableFloat64Table(t *testing.T) {
	const V, K, C = 2, 2, 2
	off, vrs := []int32{0, 2}, []int32{0, 1}
	// Logits (v, k, c); x = 0 for both variables.
	th := []float64{-115, 0, 0, 0, 0, 0, -138, 0}
	th32 := make([]float32, len(th))
	for i, v := range th {
		th32[i] = float32(v)
	}
	l32, err := NewCategorical[float32](off, vrs, V, K, C, CategoricalSoftmax)
	if err != nil {
		t.Fatal(err)
	}
	l32.Table(th32)
	out := make([]float32, K+1)
	l32.Forward([]uint8{0, 0}, nil, out)
	lv := inputLogValues(out, K)
	want := []float64{
		catLogProb(CategoricalSoftmax, th, K, C, 0, 0, 0) + catLogProb(CategoricalSoftmax, th, K, C, 1, 0, 0),
		catLogProb(CategoricalSoftmax, th, K, C, 0, 1, 0) + catLogProb(CategoricalSoftmax, th, K, C, 1, 1, 0),
	}
	for k := range K {
		if math.Abs(lv[k]-want[k]) > 1e-5*math.Abs(want[k]) {
			t.Fatalf("unit %d: float32 log-value %v, want %v", k, lv[k], want[k])
		}
	}
}

func TestCategoricalWorkersBitIdentical(t *testing.T) {
	// 40 variables in leaves of random sizes 1..4, permuted.
	const V, B, K, C = 40, 9, 5, 7
	rng := rand.New(rand.NewPCG(5, 0))
	perm := rng.Perm(V)
	vrs := make([]int32, V)
	for i, p := range perm {
		vrs[i] = int32(p)
	}
	off := []int32{0}
	for int(off[len(off)-1]) < V {
		off = append(off, min(off[len(off)-1]+int32(1+rng.IntN(4)), V))
	}
	for _, param := range []CategoricalParam{CategoricalSoftmax, CategoricalClamp} {
		th64 := catParams(rng, param, V, K, C)
		th := make([]float32, len(th64))
		for i := range th {
			th[i] = float32(th64[i])
		}
		x := inputRandData(rng, B, V, C)
		miss := inputMask(rng, B, V, 0.2, 3)
		F := len(off) - 1
		g := make([]float32, F*B*(K+1))
		for i := range g {
			g[i] = float32(rng.NormFloat64())
		}
		run := func(w int) (tab []float64, out, d []float32) {
			inputWithWorkers(w, func() {
				l, err := NewCategorical[float32](off, vrs, V, K, C, param)
				if err != nil {
					t.Fatal(err)
				}
				out = make([]float32, F*B*(K+1))
				d = make([]float32, len(th))
				l.Table(th)
				l.Forward(x, miss, out)
				l.Backward(x, miss, g, d)
				l.Backward(x, miss, g, d) // a second call must find clean workspaces
				tab = l.tab64             // multi-variable leaves: the table is float64
			})
			return tab, out, d
		}
		tab1, out1, d1 := run(1)
		tab4, out4, d4 := run(4)
		inputSameBits(t, param.String()+" table", tab1, tab4)
		inputSameBits(t, param.String()+" out", out1, out4)
		inputSameBits(t, param.String()+" dθ", d1, d4)
	}
}

func TestCategoricalSampleChiSquare(t *testing.T) {
	const V, K, C, n = 2, 3, 5, 20000
	rng := rand.New(rand.NewPCG(6, 0))
	off, vrs := SingleVariableLeaves(V)
	for _, param := range []CategoricalParam{CategoricalSoftmax, CategoricalClamp, CategoricalExp} {
		l, err := NewCategorical[float64](off, vrs, V, K, C, param)
		if err != nil {
			t.Fatal(err)
		}
		th := catParams(rng, param, V, K, C)
		l.Table(th)
		const v, k = 1, 2
		p := make([]float64, C)
		uniform := make([]float64, C)
		for c := range C {
			p[c] = math.Exp(catLogProb(param, th, K, C, v, k, c))
			uniform[c] = 1
		}
		draw := func(seed uint64) []uint8 {
			r := rand.New(rand.NewPCG(seed, 1))
			xs := make([]uint8, n)
			for i := range xs {
				xs[i] = l.Sample(r, v, k)
			}
			return xs
		}
		xs := draw(7)
		counts := make([]int, C)
		for _, c := range xs {
			counts[c]++
		}
		stat, df := chiSquare(counts, p)
		if pv := stattest.ChiSquareSF(stat, float64(df)); pv <= 0.001 {
			t.Errorf("%v: χ² = %.2f (df %d), p-value %.3g; counts %v, p %v", param, stat, df, pv, counts, p)
		}
		// The test has power: the same counts reject the uniform distribution.
		if stat, df := chiSquare(counts, uniform); stattest.ChiSquareSF(stat, float64(df)) > 0.001 {
			t.Errorf("%v: counts %v not distinguished from uniform", param, counts)
		}
		again, other := draw(7), draw(8)
		same := true
		for i := range xs {
			if xs[i] != again[i] {
				t.Fatalf("%v: same seed, sample %d differs", param, i)
			}
			same = same && xs[i] == other[i]
		}
		if same {
			t.Errorf("%v: different seeds gave the same samples", param)
		}
		// Mode is the argmax of the reference probabilities.
		for kk := range K {
			best := 0
			for c := range C {
				if catLogProb(param, th, K, C, v, kk, c) > catLogProb(param, th, K, C, v, kk, best) {
					best = c
				}
			}
			if got := l.Mode(v, kk); int(got) != best {
				t.Errorf("%v: Mode(%d, %d) = %d, want %d", param, v, kk, got, best)
			}
		}
	}
}

func TestCategoricalSampleLeaf(t *testing.T) {
	// Leaf 0 = {4, 0, 6}: SampleLeaf and ModeLeaf write only those entries.
	lc := inputLeafCases()[1]
	const K, C = 3, 4
	l, err := NewCategorical[float32](lc.off, lc.vrs, lc.V, K, C, CategoricalSoftmax)
	if err != nil {
		t.Fatal(err)
	}
	th := make([]float32, lc.V*K*C)
	for v := range lc.V { // unit 1 puts all its mass on value v mod C
		for c := range C {
			th[(v*K+1)*C+c] = -60
		}
		th[(v*K+1)*C+v%C] = 0
	}
	l.Table(th)
	row := []uint8{9, 9, 9, 9, 9, 9, 9}
	l.SampleLeaf(rand.New(rand.NewPCG(1, 2)), 0, 1, row)
	want := []uint8{0, 9, 9, 9, 0, 9, 2}
	mode := []uint8{9, 9, 9, 9, 9, 9, 9}
	l.ModeLeaf(0, 1, mode)
	for i := range row {
		if row[i] != want[i] || mode[i] != want[i] {
			t.Fatalf("SampleLeaf %v, ModeLeaf %v, want %v", row, mode, want)
		}
	}
}

func BenchmarkCategoricalTable(b *testing.B) {
	const V, K, C = 784, 32, 256
	off, vrs := SingleVariableLeaves(V)
	l, err := NewCategorical[float32](off, vrs, V, K, C, CategoricalSoftmax)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	// Two parameter sets that differ everywhere, alternated, so every call
	// rebuilds every variable (as after an optimizer step); "unchanged"
	// times the comparison that skips the rebuild.
	th := [2][]float32{make([]float32, V*K*C), make([]float32, V*K*C)}
	for i := range th[0] {
		th[0][i] = float32(rng.NormFloat64())
		th[1][i] = th[0][i] + 0.25
	}
	for _, changed := range []bool{true, false} {
		name := "changed"
		if !changed {
			name = "unchanged"
		}
		b.Run(name, func(b *testing.B) {
			l.Table(th[0])
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if changed {
					l.Table(th[(i+1)%2])
				} else {
					l.Table(th[0])
				}
			}
		})
	}
}

func benchmarkCategorical(b *testing.B, backward bool) {
	const V, B, K, C = 784, 256, 32, 256
	off, vrs := SingleVariableLeaves(V)
	l, err := NewCategorical[float32](off, vrs, V, K, C, CategoricalSoftmax)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	th := make([]float32, V*K*C)
	for i := range th {
		th[i] = float32(rng.NormFloat64())
	}
	x := inputRandData(rng, B, V, C)
	out := make([]float32, V*B*(K+1))
	g := make([]float32, len(out))
	for i := range g {
		g[i] = float32(rng.NormFloat64())
	}
	d := make([]float32, len(th))
	l.Table(th)
	l.Forward(x, nil, out)
	l.Backward(x, nil, g, d)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l.Forward(x, nil, out)
		if backward {
			l.Backward(x, nil, g, d)
		}
	}
}

func BenchmarkCategoricalForward(b *testing.B)         { benchmarkCategorical(b, false) }
func BenchmarkCategoricalForwardBackward(b *testing.B) { benchmarkCategorical(b, true) }

// TestCategoricalTableReuse checks that Table rebuilds exactly the variables
// whose parameters changed: after θ1 then θ2 (θ1 with one variable changed,
// in place, as an optimizer does), and after θ2 again, the layer's output is
// bit for bit that of a fresh layer given θ2.
func TestCategoricalTableReuse(t *testing.T) {
	const B, V, K, C = 5, 6, 4, 8
	for _, param := range []CategoricalParam{CategoricalSoftmax, CategoricalClamp, CategoricalExp} {
		rng := rand.New(rand.NewPCG(9, uint64(param)))
		off, vrs := SingleVariableLeaves(V)
		reused, th32 := newCategorical32(t, rng, param, V, K, C)
		x := inputRandData(rng, B, V, C)
		out := make([]float32, V*B*(K+1))
		reused.Table(th32)
		reused.Forward(x, nil, out)
		before := append([]float32(nil), out...)
		for i := 3 * K * C; i < 4*K*C; i++ { // variable 3 only
			th32[i] *= 1.5
		}
		for range 2 {
			reused.Table(th32)
			reused.Forward(x, nil, out)
			fresh, _ := NewCategorical[float32](off, vrs, V, K, C, param)
			want := make([]float32, len(out))
			fresh.Table(th32)
			fresh.Forward(x, nil, want)
			for i := range want {
				if math.Float32bits(out[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v: entry %d = %g, a fresh table gives %g", param, i, out[i], want[i])
				}
			}
		}
		changed := false
		for i := range out {
			f := i / (B * (K + 1))
			if out[i] != before[i] {
				changed = true
				if f != 3 {
					t.Fatalf("%v: leaf %d changed, only leaf 3's parameters did", param, f)
				}
			}
		}
		if !changed {
			t.Fatalf("%v: changing variable 3's parameters changed nothing", param)
		}
	}
}

// With reuse off every Table rebuilds every variable: the output follows
// parameter changes exactly as a fresh layer's does, before and after reuse
// is turned back on.
func TestCategoricalTableNoReuse(t *testing.T) {
	const B, V, K, C = 5, 6, 4, 8
	rng := rand.New(rand.NewPCG(10, 0))
	off, vrs := SingleVariableLeaves(V)
	l, err := NewCategorical[float32](off, vrs, V, K, C, CategoricalSoftmax)
	if err != nil {
		t.Fatal(err)
	}
	l.SetReuse(false)
	th := make([]float32, V*K*C)
	for i := range th {
		th[i] = float32(rng.NormFloat64())
	}
	x := inputRandData(rng, B, V, C)
	out, want := make([]float32, V*B*(K+1)), make([]float32, V*B*(K+1))
	for step := range 3 {
		if step == 2 {
			l.SetReuse(true)
		}
		for i := range th {
			th[i] += float32(0.1 * rng.NormFloat64())
		}
		l.Table(th)
		l.Forward(x, nil, out)
		fresh, _ := NewCategorical[float32](off, vrs, V, K, C, CategoricalSoftmax)
		fresh.Table(th)
		fresh.Forward(x, nil, want)
		for i := range want {
			if math.Float32bits(out[i]) != math.Float32bits(want[i]) {
				t.Fatalf("step %d: entry %d = %g, a fresh table gives %g", step, i, out[i], want[i])
			}
		}
	}
}

// BackwardSet writes the gradient over whatever dθ held: the same as
// Backward into a zeroed buffer, for the softmax fast path and for the
// parameterizations that fall back to clearing first.
func TestCategoricalBackwardSet(t *testing.T) {
	const B, V, K, C = 7, 5, 3, 6
	for _, param := range []CategoricalParam{CategoricalSoftmax, CategoricalClamp, CategoricalExp} {
		rng := rand.New(rand.NewPCG(11, uint64(param)))
		l, th32 := newCategorical32(t, rng, param, V, K, C)
		x := inputRandData(rng, B, V, C)
		miss := inputMask(rng, B, V, 0.3, 1) // sample 1: every variable missing
		g64 := inputRandGrad(rng, V, B, K)
		g := make([]float32, len(g64))
		for i, v := range g64 {
			g[i] = float32(v)
		}
		l.Table(th32)
		want := make([]float32, V*K*C)
		l.Backward(x, miss, g, want)
		got := make([]float32, V*K*C)
		for i := range got {
			got[i] = float32(rng.NormFloat64()) // stale values
		}
		l.BackwardSet(x, miss, g, got)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: dθ[%d] = %v, Backward into zeros gives %v", param, i, got[i], want[i])
			}
		}
	}
}

// newCategorical32 is a float32 layer of single-variable leaves with random
// parameters for param.
func newCategorical32(t *testing.T, rng *rand.Rand, param CategoricalParam, V, K, C int) (*Categorical[float32], []float32) {
	t.Helper()
	off, vrs := SingleVariableLeaves(V)
	l, err := NewCategorical[float32](off, vrs, V, K, C, param)
	if err != nil {
		t.Fatal(err)
	}
	th := catParams(rng, param, V, K, C)
	th32 := make([]float32, len(th))
	for i, v := range th {
		th32[i] = float32(v)
	}
	return l, th32
}
