package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	row := d.Row(2)
	assert.Equal(t, []uint8{2, 3, 4}, row, "Row(2)")
	assert.Equal(t, 3, cap(row), "cap(Row(2))")
	s := d.Subset([]int{4, 0, 4})
	assert.Equal(t, 3, s.N, "Subset N")
	assert.Equal(t, []uint8{4, 5, 6, 0, 1, 2, 4, 5, 6}, s.X, "Subset X")
	assert.Equal(t, []int{4, 0, 4}, s.Labels, "Subset labels")
	s.X[0] = 99
	assert.Equal(t, uint8(4), d.X[12], "Subset shares storage with its source")
	for _, tc := range []struct{ n, want int }{{2, 2}, {0, 0}, {-1, 5}, {9, 5}} {
		l := d.Limit(tc.n)
		assert.Equal(t, tc.want, l.N, "Limit(%d) N", tc.n)
		assert.Len(t, l.X, tc.want*3, "Limit(%d) X", tc.n)
		assert.Len(t, l.Labels, tc.want, "Limit(%d) labels", tc.n)
		assert.NoError(t, l.validate(), "Limit(%d)", tc.n)
	}
	assert.Equal(t, 5, d.N, "Limit changed its source")
}

func TestRowPanics(t *testing.T) {
	assert.Panics(t, func() { seqDataset(5, 1, 256).Row(5) }, "Row(5) of 5 samples")
}

// epoch collects one pass of Batches: sample order, batch sizes, and checks
// that each batch's rows and labels are the dataset's.
func epoch(t *testing.T, d *Dataset, size int, rng *rand.Rand) (order, sizes []int) {
	t.Helper()
	for b := range d.Batches(size, rng) {
		sizes = append(sizes, b.N)
		require.Equal(t, d.D, b.D, "batch D")
		require.Len(t, b.X, b.N*b.D, "batch X of N=%d", b.N)
		require.Len(t, b.Index, b.N, "batch Index of N=%d", b.N)
		require.Len(t, b.Labels, b.N, "batch Labels of N=%d", b.N)
		for k, i := range b.Index {
			require.Equal(t, d.Row(i), b.X[k*b.D:(k+1)*b.D], "batch row %d is not sample %d", k, i)
			require.Equal(t, d.Labels[i], b.Labels[k], "batch label %d is not sample %d's", k, i)
		}
		order = append(order, b.Index...)
	}
	return order, sizes
}

func TestBatches(t *testing.T) {
	d := seqDataset(10, 4, 7)
	all := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
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
		assert.Equal(t, all, order, "size %d in order: order", tc.size)
		assert.Equal(t, tc.sizes, sizes, "size %d in order: batch sizes", tc.size)
		rng := rand.New(rand.NewPCG(1, 2))
		first, sizes := epoch(t, d, tc.size, rng)
		assert.Equal(t, tc.sizes, sizes, "size %d shuffled: batch sizes", tc.size)
		assert.ElementsMatch(t, all, first, "size %d: an epoch covers every sample once", tc.size)
		second, _ := epoch(t, d, tc.size, rng)
		assert.NotEqual(t, first, second, "size %d: two epochs in the same order", tc.size)
		again, _ := epoch(t, d, tc.size, rand.New(rand.NewPCG(1, 2)))
		assert.Equal(t, first, again, "size %d: same seed, another order", tc.size)
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
	assert.Equal(t, 2, n, "batches run by a loop that breaks after 2")
	n = 0
	for range seqDataset(0, 2, 3).Batches(2, nil) {
		n++
	}
	assert.Zero(t, n, "batches of an empty dataset")
}

func TestSplit(t *testing.T) {
	d := seqDataset(200, 2, 256)
	for _, tc := range []struct {
		frac   float64
		nValid int
	}{{0, 0}, {0.05, 10}, {0.5, 100}, {0.0049, 1}} {
		train, valid := Split(d, tc.frac, 42)
		assert.Equal(t, 200-tc.nValid, train.N, "Split(%v) train", tc.frac)
		assert.Equal(t, tc.nValid, valid.N, "Split(%v) valid", tc.frac)
		// Disjoint, covering, each in the original order.
		assert.IsNonDecreasing(t, train.Labels, "Split(%v) reordered train", tc.frac)
		assert.IsNonDecreasing(t, valid.Labels, "Split(%v) reordered valid", tc.frac)
		all := append(slices.Clone(train.Labels), valid.Labels...)
		assert.ElementsMatch(t, d.Labels, all, "Split(%v): train ∪ valid is not the dataset", tc.frac)
	}
	_, a := Split(d, 0.1, 42)
	_, b := Split(d, 0.1, 42)
	_, c := Split(d, 0.1, 43)
	assert.Equal(t, a.Labels, b.Labels, "same seed, different splits")
	assert.NotEqual(t, a.Labels, c.Labels, "seeds 42 and 43 gave the same split")
}

func TestSplitPanics(t *testing.T) {
	for _, f := range []float64{-0.1, 1, math.NaN()} {
		assert.Panics(t, func() { Split(seqDataset(3, 1, 2), f, 0) }, "Split(%v)", f)
	}
}

func TestBinarize(t *testing.T) {
	d := &Dataset{Name: "px", Shape: []int{6}, Values: 256, N: 1, D: 6, X: []uint8{0, 1, 127, 128, 200, 255}, Labels: []int{3}}
	th := d.BinarizeThreshold(DefaultThreshold)
	assert.Equal(t, []uint8{0, 0, 0, 1, 1, 1}, th.X, "threshold X")
	assert.Equal(t, 2, th.Values, "threshold values")
	assert.Equal(t, []int{3}, th.Labels, "threshold labels")
	assert.Equal(t, uint8(255), d.X[5], "BinarizeThreshold changed its source")

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
	assert.Zero(t, ones[0], "stochastic: ones for value 0 of %d", n)
	assert.Equal(t, n, ones[2], "stochastic: ones for value 255")
	// 51/255 = 0.2; the standard error over 20000 draws is 0.0028.
	assert.InDelta(t, 0.2, float64(ones[1])/n, 0.015, "stochastic: fraction of ones for value 51")
	again := big.BinarizeStochastic(rand.New(rand.NewPCG(7, 7)))
	assert.Equal(t, s.X, again.X, "stochastic binarization differs with the same seed")
	assert.Equal(t, 2, s.Values, "stochastic values")
}

func TestValidate(t *testing.T) {
	require.NoError(t, seqDataset(2, 3, 5).validate())
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
		assert.Error(t, d.validate(), "%s: validate accepted %+v", tc.name, d)
	}
}
