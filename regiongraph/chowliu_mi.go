package regiongraph

import (
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// ChowLiuBins is the number of categories up to which ChowLiuTree computes
// the mutual information of the data exactly; data with more categories
// (256 pixel values) are first quantized into ChowLiuBins equal-width bins.
// A pair's joint counts cost up to (bins−1)² AND+popcounts per 64 samples;
// 8 bins keep full MNIST within seconds (docs/PERFORMANCE.md).
const ChowLiuBins = 8

// binLUT maps each of k values to its category for the mutual information:
// the identity when k ≤ ChowLiuBins, else the equal-width bin
// v·ChowLiuBins/k. It returns the lookup table and the number of categories.
func binLUT(k int) ([]int, int) {
	lut := make([]int, k)
	if k <= ChowLiuBins {
		for v := range lut {
			lut[v] = v
		}
		return lut, k
	}
	for v := range lut {
		lut[v] = v * ChowLiuBins / k
	}
	return lut, ChowLiuBins
}

// pairwiseMI returns the d x d matrix of smoothed pairwise mutual
// information (zero diagonal) of data whose values lie in [0, numValues),
// quantized by binLUT when numValues > ChowLiuBins.
func pairwiseMI(data [][]int, numValues int) [][]float64 {
	lut, k := binLUT(numValues)
	return mutualInformation(data, lut, k)
}

// mutualInformation returns the d x d matrix of pairwise mutual information
// (zero diagonal) of the categories lut[v] ∈ [0, k) of the values v in data,
// from the counts smoothed with α = chowLiuAlpha over all k² cells:
// p(a, b) = (n(a, b) + α) / (N + k²α), whose marginals are
// p(a) = (n(a) + kα) / (N + k²α).
func mutualInformation(data [][]int, lut []int, k int) [][]float64 {
	s := newMIStats(data, lut, k)
	d := len(s.cats)
	mi := make([][]float64, d)
	for i := range mi {
		mi[i] = make([]float64, d)
	}
	// Rows i are handed out in order to the workers; each pair (i, j > i)
	// is computed by one worker from integer counts, so the result does not
	// depend on the scheduling.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			joint := make([]int, k*k)
			for {
				i := int(next.Add(1)) - 1
				if i >= d {
					return
				}
				for j := i + 1; j < d; j++ {
					v := s.mi(i, j, joint)
					mi[i][j], mi[j][i] = v, v
				}
			}
		})
	}
	wg.Wait()
	return mi
}

// miStats holds the sufficient statistics of the pairwise mutual
// information: marginal counts, and per variable the category of every
// sample, as a code and as indicator bitsets.
//
// The smoothed joint's marginals are the smoothed marginals, so
// I(i; j) = H(i) + H(j) − H(i, j), and H(i, j) needs only the cells with
// non-zero counts (every empty cell adds the same −p₀ log p₀). Each
// variable's most frequent category is its reference; the counts in a
// reference row or column of a joint table follow from the marginal counts
// and the other cells, which come either from the popcounts of the ANDs of
// the categories' bitsets or, when few samples are off the reference in
// both variables, by visiting those samples.
type miStats struct {
	n, k, words int
	counts      []int     // counts[i*k+a] = n(x_i = a)
	cats        [][]int   // cats[i]: the categories i takes, its reference first
	codes       []uint8   // codes[i*n+r]: position in cats[i] of sample r's category
	first       []int     // first[i]: index of the bitset of cats[i][1]
	bitsets     []uint64  // bitset b is bitsets[b*words : (b+1)*words]
	offRef      []uint64  // offRef[i*words:(i+1)*words]: samples off i's reference
	plogp       []float64 // plogp[m] = p log p for a cell counted m times
	entropy     []float64 // entropy[i] = H(i) of the smoothed marginal
}

// visitCost is the cost of counting one sample by visiting it, in units of
// one 64-sample word of one bitset AND+popcount: about the ratio of the two
// kernels' times per unit on BenchmarkChowLiuJoint (docs/PERFORMANCE.md).
const visitCost = 2

// newMIStats counts the categories lut[v] ∈ [0, k) of data, k ≤ 256.
func newMIStats(data [][]int, lut []int, k int) *miStats {
	n, d := len(data), len(data[0])
	s := &miStats{n: n, k: k, words: (n + 63) / 64}
	alpha := chowLiuAlpha
	denom := float64(n) + float64(k*k)*alpha

	s.counts = make([]int, d*k)
	for _, row := range data {
		for i, v := range row {
			s.counts[i*k+lut[v]]++
		}
	}
	s.cats = make([][]int, d)
	s.first = make([]int, d+1)
	pos := make([]uint8, d*k) // pos[i*k+a]: position of category a in cats[i]
	for i := range d {
		c := s.counts[i*k : (i+1)*k]
		ref := 0
		for a := range c {
			if c[a] > c[ref] {
				ref = a
			}
		}
		cats := []int{ref}
		for a := range c {
			if a != ref && c[a] > 0 {
				pos[i*k+a] = uint8(len(cats))
				cats = append(cats, a)
			}
		}
		s.cats[i] = cats
		s.first[i+1] = s.first[i] + len(cats) - 1
	}
	s.codes = make([]uint8, d*n)
	s.bitsets = make([]uint64, s.first[d]*s.words)
	s.offRef = make([]uint64, d*s.words)
	for r, row := range data {
		w, bit := r/64, uint64(1)<<(r%64)
		for i, v := range row {
			p := pos[i*k+lut[v]]
			s.codes[i*n+r] = p
			if p > 0 {
				s.bitsets[(s.first[i]+int(p)-1)*s.words+w] |= bit
				s.offRef[i*s.words+w] |= bit
			}
		}
	}

	s.plogp = make([]float64, n+1)
	for m := range s.plogp {
		p := (float64(m) + alpha) / denom
		s.plogp[m] = p * math.Log(p)
	}
	s.entropy = make([]float64, d)
	for i := range d {
		h := 0.0
		for _, c := range s.counts[i*k : (i+1)*k] {
			p := (float64(c) + float64(k)*alpha) / denom
			h -= p * math.Log(p)
		}
		s.entropy[i] = h
	}
	return s
}

// bitset returns the indicator bitset of cats[i][a], a ≥ 1.
func (s *miStats) bitset(i, a int) []uint64 {
	b := s.first[i] + a - 1
	return s.bitsets[b*s.words : (b+1)*s.words]
}

// mi returns the mutual information of variables i and j. joint is
// scratch of at least k² counts.
func (s *miStats) mi(i, j int, joint []int) float64 {
	ci, cj := s.cats[i], s.cats[j]
	ni, nj := len(ci), len(cj)
	ki, kj := s.counts[i*s.k:(i+1)*s.k], s.counts[j*s.k:(j+1)*s.k]
	// joint[a*nj+b] = n(ci[a], cj[b]); row 0 and column 0 are the
	// references, filled from the marginals.
	if pairs := (ni - 1) * (nj - 1); pairs > 0 {
		oi, oj := s.offRef[i*s.words:(i+1)*s.words], s.offRef[j*s.words:(j+1)*s.words]
		if both := andCount(oi, oj); both*visitCost < pairs*s.words {
			s.jointVisit(i, j, nj, oi, oj, joint)
		} else {
			s.jointBitsets(i, j, ni, nj, joint)
		}
	}
	corner := s.n
	for a := 1; a < ni; a++ {
		c := ki[ci[a]]
		corner -= c
		for b := 1; b < nj; b++ {
			c -= joint[a*nj+b]
		}
		joint[a*nj] = c
	}
	for b := 1; b < nj; b++ {
		c := kj[cj[b]]
		for a := 1; a < ni; a++ {
			c -= joint[a*nj+b]
		}
		joint[b] = c
		corner -= c
	}
	joint[0] = corner
	// −H(i, j): the ni·nj cells that can be non-empty, and the empty rest.
	h := float64(s.k*s.k-ni*nj) * s.plogp[0]
	for _, c := range joint[:ni*nj] {
		h += s.plogp[c]
	}
	return s.entropy[i] + s.entropy[j] + h
}

// jointBitsets sets joint[a*nj+b], a, b ≥ 1, to the popcount of the AND of
// the bitsets of cats[i][a] and cats[j][b].
func (s *miStats) jointBitsets(i, j, ni, nj int, joint []int) {
	for a := 1; a < ni; a++ {
		x := s.bitset(i, a)
		for b := 1; b < nj; b++ {
			joint[a*nj+b] = andCount(x, s.bitset(j, b))
		}
	}
}

// jointVisit sets joint[a*nj+b], a, b ≥ 1, by visiting the samples off the
// reference in both i (bitset oi) and j (bitset oj).
func (s *miStats) jointVisit(i, j, nj int, oi, oj []uint64, joint []int) {
	clear(joint)
	codesI, codesJ := s.codes[i*s.n:(i+1)*s.n], s.codes[j*s.n:(j+1)*s.n]
	oj = oj[:len(oi)]
	for w, x := range oi {
		for m := x & oj[w]; m != 0; m &= m - 1 {
			r := w*64 + bits.TrailingZeros64(m)
			joint[int(codesI[r])*nj+int(codesJ[r])]++
		}
	}
}

// andCount returns the number of bits set in both x and y (len(y) ≥ len(x)).
func andCount(x, y []uint64) int {
	y = y[:len(x)]
	c := 0
	for w, v := range x {
		c += bits.OnesCount64(v & y[w])
	}
	return c
}
