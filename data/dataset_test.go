package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// seqDataset returns n samples of d variables where sample i holds
// (i+j) mod values in variable j and has label i.
func seqDataset(n, d, values int) *Dataset {
	x := make([]uint8, n*d)
	labels := make([]int, n)
	for i := range n {
		labels[i] = i
		for j := range d {
			x[i*d+j] = uint8((i + j) % values)
		}
	}
	return &Dataset{Name: "seq", Shape: []int{d}, Values: values, N: n, D: d, X: x, Labels: labels}
}

func TestRowSubsetLimit(t *testing.T) {
	d := seqDataset(5, 3, 256)
	if got := d.Row(2); !slices.Equal(got, []uint8{2, 3, 4}) || cap(got) != 3 {
		t.Errorf("Row(2) = %v cap %d, want [2 3 4] cap 3", got, cap(got))
	}
	s := d.Subset([]int{4, 0, 4})
	if s.N != 3 || !slices.Equal(s.X, []uint8{4, 5, 6, 0, 1, 2, 4, 5, 6}) || !slices.Equal(s.Labels, []int{4, 0, 4}) {
		t.Errorf("Subset = N %d X %v labels %v", s.N, s.X, s.Labels)
	}
	s.X[0] = 99
	if d.X[12] != 4 {
		t.Error("Subset shares storage with its source")
	}
	for _, tc := range []struct{ n, want int }{{2, 2}, {0, 0}, {-1, 5}, {9, 5}} {
		l := d.Limit(tc.n)
		if l.N != tc.want || len(l.X) != tc.want*3 || len(l.Labels) != tc.want {
			t.Errorf("Limit(%d): N %d len(X) %d len(Labels) %d, want N %d", tc.n, l.N, len(l.X), len(l.Labels), tc.want)
		}
		if err := l.validate(); err != nil {
			t.Error(err)
		}
	}
	if d.N != 5 {
		t.Errorf("Limit changed its source: N = %d", d.N)
	}
}

func TestRowPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Row(5) of 5 samples did not panic")
		}
	}()
	seqDataset(5, 1, 256).Row(5)
}

// epoch collects one pass of Batches: sample order, batch sizes, and checks
// that each batch's rows and labels are the dataset's.
func epoch(t *testing.T, d *Dataset, size int, rng *rand.Rand) (order, sizes []int) {
	t.Helper()
	for b := range d.Batches(size, rng) {
		sizes = append(sizes, b.N)
		if len(b.X) != b.N*b.D || len(b.Index) != b.N || len(b.Labels) != b.N || b.D != d.D {
			t.Fatalf("batch N=%d D=%d with len(X)=%d len(Index)=%d len(Labels)=%d", b.N, b.D, len(b.X), len(b.Index), len(b.Labels))
		}
		for k, i := range b.Index {
			if !slices.Equal(b.X[k*b.D:(k+1)*b.D], d.Row(i)) || b.Labels[k] != d.Labels[i] {
				t.Fatalf("batch row %d is not sample %d", k, i)
			}
		}
		order = append(order, b.Index...)
	}
	return order, sizes
}

func TestBatches(t *testing.T) {
	d := seqDataset(10, 4, 7)
	for _, tc := range []struct {
		size  int
		sizes []int
	}{
		{3, []int{3, 3, 3, 1}},
		{5, []int{5, 5}},
		{10, []int{10}},
		{64, []int{10}},
	} {
		order, sizes := epoch(t, d, tc.size, nil)
		if !slices.Equal(order, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) || !slices.Equal(sizes, tc.sizes) {
			t.Errorf("size %d in order: order %v sizes %v, want 0..9 and %v", tc.size, order, sizes, tc.sizes)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		first, sizes := epoch(t, d, tc.size, rng)
		if !slices.Equal(sizes, tc.sizes) {
			t.Errorf("size %d shuffled: sizes %v, want %v", tc.size, sizes, tc.sizes)
		}
		if sorted := slices.Sorted(slices.Values(first)); !slices.Equal(sorted, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Errorf("size %d: epoch covers %v, want every sample once", tc.size, first)
		}
		second, _ := epoch(t, d, tc.size, rng)
		if slices.Equal(first, second) {
			t.Errorf("size %d: two epochs in the same order %v", tc.size, first)
		}
		again, _ := epoch(t, d, tc.size, rand.New(rand.NewPCG(1, 2)))
		if !slices.Equal(first, again) {
			t.Errorf("size %d: same seed gave %v then %v", tc.size, first, again)
		}
	}
}

func TestBatchesEarlyStopAndEmpty(t *testing.T) {
	n := 0
	for range seqDataset(10, 2, 3).Batches(2, nil) {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("break after 2 batches ran %d", n)
	}
	for range seqDataset(0, 2, 3).Batches(2, nil) {
		t.Error("empty dataset yielded a batch")
	}
}

func TestSplit(t *testing.T) {
	d := seqDataset(200, 2, 256)
	for _, tc := range []struct {
		frac   float64
		nValid int
	}{{0, 0}, {0.05, 10}, {0.5, 100}, {0.0049, 1}} {
		train, valid := Split(d, tc.frac, 42)
		if valid.N != tc.nValid || train.N != 200-tc.nValid {
			t.Errorf("Split(%v): %d/%d, want %d/%d", tc.frac, train.N, valid.N, 200-tc.nValid, tc.nValid)
		}
		// Disjoint, covering, each in the original order.
		all := append(slices.Clone(train.Labels), valid.Labels...)
		if !slices.IsSorted(train.Labels) || !slices.IsSorted(valid.Labels) {
			t.Errorf("Split(%v) reordered samples", tc.frac)
		}
		slices.Sort(all)
		for i, l := range all {
			if l != i {
				t.Fatalf("Split(%v): train ∪ valid is not the dataset (at %d: %d)", tc.frac, i, l)
			}
		}
	}
	_, a := Split(d, 0.1, 42)
	_, b := Split(d, 0.1, 42)
	_, c := Split(d, 0.1, 43)
	if !slices.Equal(a.Labels, b.Labels) {
		t.Errorf("same seed, different splits: %v %v", a.Labels, b.Labels)
	}
	if slices.Equal(a.Labels, c.Labels) {
		t.Errorf("seeds 42 and 43 gave the same split %v", a.Labels)
	}
}

func TestSplitPanics(t *testing.T) {
	for _, f := range []float64{-0.1, 1, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Split(%v) did not panic", f)
				}
			}()
			Split(seqDataset(3, 1, 2), f, 0)
		}()
	}
}

func TestBinarize(t *testing.T) {
	d := &Dataset{Name: "px", Shape: []int{6}, Values: 256, N: 1, D: 6, X: []uint8{0, 1, 127, 128, 200, 255}, Labels: []int{3}}
	th := d.BinarizeThreshold(DefaultThreshold)
	if !slices.Equal(th.X, []uint8{0, 0, 0, 1, 1, 1}) || th.Values != 2 || th.Labels[0] != 3 {
		t.Errorf("threshold: X %v values %d labels %v", th.X, th.Values, th.Labels)
	}
	if d.X[5] != 255 {
		t.Error("BinarizeThreshold changed its source")
	}

	// Stochastic: 0 and 255 are certain; v has mean v/255; same seed, same draw.
	const n = 20000
	big := &Dataset{Name: "px", Shape: []int{3}, Values: 256, N: n, D: 3, X: make([]uint8, 3*n)}
	for i := range n {
		big.X[3*i], big.X[3*i+1], big.X[3*i+2] = 0, 51, 255
	}
	s := big.BinarizeStochastic(rand.New(rand.NewPCG(7, 7)))
	var ones [3]int
	for i, v := range s.X {
		ones[i%3] += int(v)
	}
	// 51/255 = 0.2; the standard error over 20000 draws is 0.0028.
	if ones[0] != 0 || ones[2] != n || math.Abs(float64(ones[1])/n-0.2) > 0.015 {
		t.Errorf("stochastic: ones per value 0/51/255 = %v of %d, want 0, ~%d, %d", ones, n, n/5, n)
	}
	again := big.BinarizeStochastic(rand.New(rand.NewPCG(7, 7)))
	if !slices.Equal(s.X, again.X) || s.Values != 2 {
		t.Error("stochastic binarization differs with the same seed")
	}
}

func TestValidate(t *testing.T) {
	good := seqDataset(2, 3, 5)
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(d *Dataset)
	}{
		{"shape", func(d *Dataset) { d.Shape = []int{4} }},
		{"len X", func(d *Dataset) { d.X = d.X[:5] }},
		{"labels", func(d *Dataset) { d.Labels = d.Labels[:1] }},
		{"value", func(d *Dataset) { d.X[4] = 5 }},
	} {
		d := seqDataset(2, 3, 5)
		tc.mod(d)
		if d.validate() == nil {
			t.Errorf("%s: validate accepted %+v", tc.name, d)
		}
	}
}
