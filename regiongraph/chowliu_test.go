package regiongraph

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// sampleTree draws n samples of binary variables from a tree-shaped
// distribution: the root is a fair coin, and each other variable copies its
// parent except with probability flip[v].
func sampleTree(parents []int, flip []float64, n int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 1))
	// Visit parents before children.
	var order []int
	var visit func(u int)
	visit = func(u int) {
		order = append(order, u)
		for v, p := range parents {
			if p == u {
				visit(v)
			}
		}
	}
	for v, p := range parents {
		if p < 0 {
			visit(v)
		}
	}
	data := make([][]int, n)
	for i := range data {
		row := make([]int, len(parents))
		for _, v := range order {
			if parents[v] < 0 {
				row[v] = rng.IntN(2)
				continue
			}
			row[v] = row[parents[v]]
			if rng.Float64() < flip[v] {
				row[v] = 1 - row[v]
			}
		}
		data[i] = row
	}
	return data
}

func TestChowLiuRecoversTree(t *testing.T) {
	//        0
	//      /   \
	//     1     2
	//    / \     \
	//   3   4     5
	//   |         |
	//   7         6
	truth := []int{-1, 0, 0, 1, 1, 2, 5, 3}
	flip := []float64{0, 0.10, 0.15, 0.05, 0.20, 0.12, 0.08, 0.18}
	data := sampleTree(truth, flip, 4000, 7)

	got, err := ChowLiuParents(data, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, truth) {
		t.Errorf("parents rooted at 0 = %v, want %v", got, truth)
	}
	// Rooted automatically: the same undirected edges.
	auto, err := ChowLiuParents(data, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(edges(auto), edges(truth)) {
		t.Errorf("edges %v, want %v", edges(auto), edges(truth))
	}
	// The automatic root is the centre: edge lengths are MI + 1, between
	// 1.19 (flip 0.2: ln 2 - H(0.2) nats) and 1.5 (flip 0.05), so vertex 0,
	// at most 3 edges (≤ 4.5) from every vertex, beats every other vertex,
	// which has one 4 edges (≥ 4.76) away.
	if root := slices.Index(auto, -1); root != 0 {
		t.Errorf("automatic root %d, want 0", root)
	}

	g, err := ChowLiuTree(data, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	// 8 leaves, plus one subtree region (with one partition) for each of
	// the 5 variables with children (0, 1, 2, 3, 5).
	if s := g.Stats(); s.Regions != 13 || s.Partitions != 5 || s.LeafRegions != 8 || !s.StructuredDecomposable {
		t.Errorf("HCLT stats %+v, want 13 regions, 5 partitions, 8 leaves, structured", s)
	}
}

func edges(parents []int) [][2]int {
	var e [][2]int
	for v, p := range parents {
		if p >= 0 {
			e = append(e, [2]int{min(v, p), max(v, p)})
		}
	}
	slices.SortFunc(e, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return e
}

func TestFromTreeMatchesCirkitNumbering(t *testing.T) {
	// Variable 2 is the root with children 0 and 1; 0 has child 5; 1 has
	// children 3 and 4. cirkit's tree2rg creates, for v = 0..5, the leaf {v}
	// then v's subtree region, and lists each partition's inputs in the
	// order of their tree variables.
	g, err := FromTree([]int{2, 2, -1, 1, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	wantScopes := [][]int{{0}, {0, 5}, {1}, {1, 3, 4}, {2}, {0, 1, 2, 3, 4, 5}, {3}, {4}, {5}}
	for r, want := range wantScopes {
		if !slices.Equal(g.Regions[r].Scope, want) {
			t.Errorf("region %d scope %v, want %v", r, g.Regions[r].Scope, want)
		}
	}
	wantParts := []Partition{{1, []int{0, 8}}, {3, []int{2, 6, 7}}, {5, []int{1, 3, 4}}}
	if len(g.Partitions) != len(wantParts) {
		t.Fatalf("%d partitions, want %d", len(g.Partitions), len(wantParts))
	}
	for p, want := range wantParts {
		got := g.Partitions[p]
		if got.Output != want.Output || !slices.Equal(got.Inputs, want.Inputs) {
			t.Errorf("partition %d = %v, want %v", p, got, want)
		}
	}
	if !slices.Equal(g.Roots, []int{5}) {
		t.Errorf("roots %v, want [5]", g.Roots)
	}
	// A forest has one root per tree; a lone variable's root is its leaf.
	g, err = FromTree([]int{-1, 0, -1})
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	if !slices.Equal(g.Roots, []int{1, 3}) {
		t.Errorf("forest roots %v, want [1 3]", g.Roots)
	}
}

func TestChowLiuBadData(t *testing.T) {
	for _, tc := range []struct {
		name       string
		data       [][]int
		root, cats int
	}{
		{"empty", nil, -1, 0},
		{"ragged", [][]int{{0, 1}, {1}}, -1, 0},
		{"negative", [][]int{{0, -1}}, -1, 0},
		{"too many categories", [][]int{{0, 2}}, -1, 2},
		{"root out of range", [][]int{{0, 1}}, 2, 0},
	} {
		if _, err := ChowLiuTree(tc.data, tc.root, tc.cats); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// bruteMI is the smoothed pairwise mutual information of ChowLiuParents
// with k categories, summed cell by cell over the k² cells of each pair.
func bruteMI(data [][]int, k int) [][]float64 {
	n, d := len(data), len(data[0])
	alpha := chowLiuAlpha
	denom := float64(n) + float64(k*k)*alpha
	marg := func(i, a int) float64 {
		c := 0
		for _, row := range data {
			if row[i] == a {
				c++
			}
		}
		return (float64(c) + float64(k)*alpha) / denom
	}
	mi := make([][]float64, d)
	for i := range mi {
		mi[i] = make([]float64, d)
	}
	for i := range d {
		for j := range d {
			if i == j {
				continue
			}
			for a := range k {
				for b := range k {
					c := 0
					for _, row := range data {
						if row[i] == a && row[j] == b {
							c++
						}
					}
					p := (float64(c) + alpha) / denom
					mi[i][j] += p * (math.Log(p) - math.Log(marg(i, a)*marg(j, b)))
				}
			}
		}
	}
	return mi
}

// chainData draws n rows of d variables with values in [0, k): variable 0
// is uniform, variable v copies variable v-1 with probability keep, else
// draws a uniform value; variable d-1 is the constant c when c ≥ 0.
func chainData(n, d, k int, keep float64, c int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 2))
	data := make([][]int, n)
	for r := range data {
		row := make([]int, d)
		for v := range row {
			row[v] = rng.IntN(k)
			if v > 0 && rng.Float64() < keep {
				row[v] = row[v-1]
			}
		}
		if c >= 0 {
			row[d-1] = c
		}
		data[r] = row
	}
	return data
}

func checkMI(t *testing.T, name string, got, want [][]float64) {
	t.Helper()
	for i := range want {
		for j := range want[i] {
			if math.Abs(got[i][j]-want[i][j]) > 1e-12 {
				t.Errorf("%s: I(%d; %d) = %.15g, want %.15g", name, i, j, got[i][j], want[i][j])
				return
			}
		}
	}
}

func TestMutualInformationExact(t *testing.T) {
	for _, tc := range []struct {
		name        string
		n, k, drawn int // values drawn in [0, drawn), declared in [0, k)
		keep        float64
		constant    int
		background  float64 // fraction of values then set to 0
	}{
		{"binary", 200, 2, 2, 0.7, -1, 0},
		{"binary one word", 64, 2, 2, 0.5, -1, 0},
		{"binary one sample", 1, 2, 2, 0.5, -1, 0},
		{"binary constant", 130, 2, 2, 0.6, 1, 0},
		{"three", 65, 3, 3, 0.6, -1, 0},
		{"five, two unused", 300, 5, 3, 0.8, 2, 0},
		{"eight", 500, 8, 8, 0.5, 7, 0},
		// Mostly zeros: most pairs are counted by visiting samples.
		{"binary, background", 1000, 2, 2, 0.5, -1, 0.9},
		{"eight, background", 3000, 8, 8, 0.7, -1, 0.8},
	} {
		data := chainData(tc.n, 6, tc.drawn, tc.keep, tc.constant, uint64(tc.n))
		rng := rand.New(rand.NewPCG(uint64(tc.n), 3))
		for _, row := range data {
			for v := range row {
				if rng.Float64() < tc.background {
					row[v] = 0
				}
			}
		}
		checkMI(t, tc.name, pairwiseMI(data, tc.k), bruteMI(data, tc.k))
	}
}

// The mutual information of data with more than ChowLiuBins values is that
// of the data quantized into ChowLiuBins equal-width bins.
func TestMutualInformationQuantized(t *testing.T) {
	for _, k := range []int{ChowLiuBins + 1, 20, 256} {
		data := chainData(400, 5, k, 0.6, k-1, uint64(k))
		quantized := make([][]int, len(data))
		for r, row := range data {
			quantized[r] = make([]int, len(row))
			for v, x := range row {
				quantized[r][v] = x * ChowLiuBins / k
			}
		}
		checkMI(t, fmt.Sprintf("k=%d", k), pairwiseMI(data, k), bruteMI(quantized, ChowLiuBins))
	}
}

// ChowLiuParents returns a maximum spanning tree of the mutual information,
// as Kruskal's algorithm finds it.
func TestChowLiuMaximumSpanningTree(t *testing.T) {
	for seed := range uint64(5) {
		const d, k = 12, 3
		// Weakly dependent variables give many near-equal weights.
		data := chainData(300, d, k, 0.2, -1, seed)
		w := bruteMI(data, k)
		parents, err := ChowLiuParents(data, -1, k)
		if err != nil {
			t.Fatal(err)
		}
		got := 0.0
		for v, p := range parents {
			if p >= 0 {
				got += w[v][p]
			}
		}
		type edge struct {
			u, v int
			w    float64
		}
		var es []edge
		for u := range d {
			for v := u + 1; v < d; v++ {
				es = append(es, edge{u, v, w[u][v]})
			}
		}
		slices.SortFunc(es, func(a, b edge) int { return cmp.Compare(b.w, a.w) })
		comp := make([]int, d)
		for i := range comp {
			comp[i] = i
		}
		var find func(int) int
		find = func(x int) int {
			if comp[x] != x {
				comp[x] = find(comp[x])
			}
			return comp[x]
		}
		want := 0.0
		for _, e := range es {
			if a, b := find(e.u), find(e.v); a != b {
				comp[a] = b
				want += e.w
			}
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("seed %d: tree weight %.15g, maximum %.15g", seed, got, want)
		}
	}
}

// The tree depends on the data only: not on the order of the rows nor on
// the number of goroutines.
func TestChowLiuDeterministic(t *testing.T) {
	data := chainData(1000, 40, 256, 0.3, -1, 9)
	want, err := ChowLiuParents(data, -1, 256)
	if err != nil {
		t.Fatal(err)
	}
	wantMI := pairwiseMI(data, 256)
	shuffled := slices.Clone(data)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	got, err := ChowLiuParents(shuffled, -1, 256)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("parents of shuffled rows %v, want %v", got, want)
	}
	runtime.GOMAXPROCS(1)
	for i, row := range pairwiseMI(shuffled, 256) {
		if !slices.Equal(row, wantMI[i]) {
			t.Fatalf("mutual information of variable %d differs on shuffled rows with one goroutine", i)
		}
	}
}

// A tree of 256-valued variables (each a noisy copy of its parent) is
// recovered from the quantized data.
func TestChowLiuRecoversTreeQuantized(t *testing.T) {
	truth := []int{-1, 0, 0, 1, 1, 2, 5, 3, 7, 4}
	noise := []float64{0, 20, 35, 15, 45, 25, 30, 40, 10, 50}
	rng := rand.New(rand.NewPCG(3, 3))
	data := make([][]int, 3000)
	for r := range data {
		row := make([]int, len(truth))
		for v, p := range truth { // parents come before children
			x := 256 * rng.Float64()
			if p >= 0 {
				x = float64(row[p]) + noise[v]*rng.NormFloat64()
			}
			row[v] = int(math.Max(0, math.Min(255, x)))
		}
		data[r] = row
	}
	got, err := ChowLiuParents(data, 0, 256)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, truth) {
		t.Errorf("parents %v, want %v", got, truth)
	}
}

// smoothedImages returns n 28×28 images with 256 values, correlated like
// natural images: uniform noise averaged over 5×5 windows. With background,
// values below the 80th percentile of the average are 0, as about 80% of
// MNIST's pixels are; without, the values spread over the full range (about
// ±2 standard deviations), so that every pixel takes every quantization bin.
func smoothedImages(n int, background bool, seed uint64) [][]int {
	const side, win = 28, 5
	const pad = side + win - 1
	// The window average of 25 uniforms has mean 1/2 and standard deviation
	// sqrt(1/12/25); 0.84 standard deviations above the mean is its 80th
	// percentile (normal approximation).
	sd := math.Sqrt(1.0 / 12 / (win * win))
	lo, hi := 0.5-2*sd, 0.5+2*sd
	if background {
		lo = 0.5 + 0.84*sd
	}
	rng := rand.New(rand.NewPCG(seed, 4))
	noise := make([]float64, pad*pad)
	rowSums := make([]float64, pad*side)
	data := make([][]int, n)
	for r := range data {
		for i := range noise {
			noise[i] = rng.Float64()
		}
		for y := range pad { // horizontal sums of win
			for x := range side {
				s := 0.0
				for t := range win {
					s += noise[y*pad+x+t]
				}
				rowSums[y*side+x] = s
			}
		}
		img := make([]int, side*side)
		for y := range side {
			for x := range side {
				s := 0.0
				for t := range win {
					s += rowSums[(y+t)*side+x]
				}
				v := (s/(win*win) - lo) / (hi - lo) * 256
				img[y*side+x] = int(math.Max(0, math.Min(255, v)))
			}
		}
		data[r] = img
	}
	return data
}

// BenchmarkChowLiuMNISTShape learns the Chow-Liu tree of 60,000 synthetic
// 28×28 images with 256 values: dense (every pixel takes every bin, the
// slowest case) and with a background of zeros like MNIST.
func BenchmarkChowLiuMNISTShape(b *testing.B) {
	for _, bg := range []bool{false, true} {
		name := map[bool]string{false: "dense", true: "background"}[bg]
		b.Run(name, func(b *testing.B) {
			data := smoothedImages(60000, bg, 1)
			benchmarkBuild(b, func() (*Graph, error) { return ChowLiuTree(data, -1, 256) })
		})
	}
}

// The two joint-count kernels agree, on pairs where either would be picked.
func TestJointKernelsAgree(t *testing.T) {
	// Variable v is off its reference 0 with probability v/8.
	const d, k = 8, 5
	rng := rand.New(rand.NewPCG(5, 5))
	data := make([][]int, 1000)
	for r := range data {
		data[r] = make([]int, d)
		for v := range d {
			if rng.IntN(8) < v {
				data[r][v] = 1 + rng.IntN(k-1)
			}
		}
	}
	lut, _ := binLUT(k)
	s := newMIStats(data, lut, k)
	visit, bitsets := make([]int, k*k), make([]int, k*k)
	for i := range d {
		for j := i + 1; j < d; j++ {
			ni, nj := len(s.cats[i]), len(s.cats[j])
			oi, oj := s.offRef[i*s.words:(i+1)*s.words], s.offRef[j*s.words:(j+1)*s.words]
			s.jointVisit(i, j, nj, oi, oj, visit)
			s.jointBitsets(i, j, ni, nj, bitsets)
			for a := 1; a < ni; a++ {
				for b := 1; b < nj; b++ {
					if visit[a*nj+b] != bitsets[a*nj+b] {
						t.Errorf("n(x%d = %d, x%d = %d): visit %d, bitsets %d", i, s.cats[i][a], j, s.cats[j][b], visit[a*nj+b], bitsets[a*nj+b])
					}
				}
			}
		}
	}
}

// BenchmarkChowLiuJoint times the two joint-count kernels on one pair of
// 8-category variables over 60,000 samples (the second copies the first
// half the time), per unit of work: a 64-sample word of one bitset pair, or
// a visited sample (visitCost is their ratio).
func BenchmarkChowLiuJoint(b *testing.B) {
	const n, k = 60000, 8
	rng := rand.New(rand.NewPCG(6, 6))
	data := make([][]int, n)
	for r := range data {
		a, b := rng.IntN(k), rng.IntN(k)
		if rng.IntN(2) == 0 {
			b = a
		}
		data[r] = []int{a, b}
	}
	lut, _ := binLUT(k)
	s := newMIStats(data, lut, k)
	ni, nj := len(s.cats[0]), len(s.cats[1])
	oi, oj := s.offRef[:s.words], s.offRef[s.words:]
	joint := make([]int, k*k)
	b.Run("bitsets", func(b *testing.B) {
		for b.Loop() {
			s.jointBitsets(0, 1, ni, nj, joint)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(ni-1)*(nj-1)*s.words), "ns/unit")
	})
	b.Run("visit", func(b *testing.B) {
		for b.Loop() {
			s.jointVisit(0, 1, nj, oi, oj, joint)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*andCount(oi, oj)), "ns/unit")
	})
}
