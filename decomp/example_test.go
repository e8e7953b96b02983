package decomp_test

import (
	"fmt"
	"log"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/tenpc/tenpc/decomp"
)

// The mode-1 unfolding of a 2×3×2 tensor: row j holds the entries x[:, j, :],
// columns ordered row-major over the remaining modes (i, k).
func ExampleTensor_Unfold() {
	x, err := decomp.FromSlice([]float64{
		0, 1, 2, 3, 4, 5, // i = 0: x[0, j, k] = 2j + k
		6, 7, 8, 9, 10, 11, // i = 1
	}, 2, 3, 2)
	if err != nil {
		log.Fatal(err)
	}
	u, err := x.Unfold(1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mat.Formatted(u))
	// Output:
	// ⎡ 0   1   6   7⎤
	// ⎢ 2   3   8   9⎥
	// ⎣ 4   5  10  11⎦
}

// A rank-2 tensor, x = 3·a∘b∘c + 1·d∘e∘f with unit vectors, is recovered by
// CP-ALS: the weights are the two scales.
func ExampleCPALS() {
	s := 1 / math.Sqrt2
	a, b, c := []float64{1, 0}, []float64{s, s, 0}, []float64{0, 1}
	d, e, f := []float64{0.6, 0.8}, []float64{0, 0, 1}, []float64{s, s}
	x, err := decomp.New(2, 3, 2)
	if err != nil {
		log.Fatal(err)
	}
	for i := range 2 {
		for j := range 3 {
			for k := range 2 {
				x.Data[(i*3+j)*2+k] = 3*a[i]*b[j]*c[k] + d[i]*e[j]*f[k]
			}
		}
	}
	cp, err := decomp.CPALS(x, 2, &decomp.CPOptions{Init: decomp.InitSVD, MaxIter: 1000, Tol: 1e-14})
	if err != nil {
		log.Fatal(err)
	}
	rel, err := decomp.RelativeError(x, cp.Full())
	if err != nil {
		log.Fatal(err)
	}
	w := slices.Clone(cp.Weights)
	slices.Sort(w)
	fmt.Printf("weights %.6f, relative error below 1e-9: %v\n", w, rel < 1e-9)
	// Output:
	// weights [1.000000 3.000000], relative error below 1e-9: true
}

// A joint distribution of three binary variables that is a mixture of two
// product distributions, given as float32 probabilities, is factored by
// non-negative CP; rescaling each factor column to sum 1 turns the result
// into the mixture: weights π and one categorical distribution per variable
// and component.
func ExampleNonNegativeCP() {
	pi := []float64{0.7, 0.3}
	p := [][][]float64{ // p[variable][component][value]
		{{0.9, 0.1}, {0.2, 0.8}},
		{{0.6, 0.4}, {0.1, 0.9}},
		{{0.5, 0.5}, {0.95, 0.05}},
	}
	joint := make([]float32, 8)
	for i := range 2 {
		for j := range 2 {
			for k := range 2 {
				for r := range 2 {
					joint[(i*2+j)*2+k] += float32(pi[r] * p[0][r][i] * p[1][r][j] * p[2][r][k])
				}
			}
		}
	}
	x, err := decomp.FromSlice(joint, 2, 2, 2)
	if err != nil {
		log.Fatal(err)
	}
	cp, err := decomp.NonNegativeCP(x, 2, &decomp.CPOptions{MaxIter: 5000, Tol: 1e-13, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	// Mixture weights: λ_r times the column sums of every factor.
	mix := slices.Clone(cp.Weights)
	for _, f := range cp.Factors {
		for r := range mix {
			mix[r] *= mat.Sum(f.ColView(r))
		}
	}
	slices.Sort(mix)
	fmt.Printf("mixture weights %.3f\n", mix)
	// Output:
	// mixture weights [0.300 0.700]
}

// HOSVD at the multilinear rank of a tensor reproduces it, with a smaller
// core.
func ExampleHOSVD() {
	// x[i, j, k] = (i + 1)·(j + k): multilinear rank (1, 2, 2).
	x, err := decomp.New(3, 4, 5)
	if err != nil {
		log.Fatal(err)
	}
	for i := range 3 {
		for j := range 4 {
			for k := range 5 {
				x.Data[(i*4+j)*5+k] = float64((i + 1) * (j + k))
			}
		}
	}
	d, err := decomp.HOSVD(x, []int{1, 2, 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("core shape %v, relative error below 1e-12: %v\n", d.Ranks(), d.Trace[0] < 1e-12)
	// Output:
	// core shape [1 2 2], relative error below 1e-12: true
}

// sin(i + j + k + l) has tensor-train ranks 2: TT-SVD with a tolerance finds
// them and reports each bond's spectrum, two nonzero singular values and the
// rounding-level rest it drops.
func ExampleTTSVD() {
	x, err := decomp.New(4, 4, 4, 4)
	if err != nil {
		log.Fatal(err)
	}
	for off := range x.Data {
		i, j, k, l := off/64, off/16%4, off/4%4, off%4
		x.Data[off] = math.Sin(0.3 * float64(i+j+k+l))
	}
	tt, err := decomp.TTSVD(x, &decomp.TTOptions{Tol: 1e-10})
	if err != nil {
		log.Fatal(err)
	}
	rel, err := decomp.RelativeError(x, tt.Full())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ranks", tt.Ranks())
	fmt.Printf("bond 1 keeps %.3f, drops %d values below 1e-12: %v\n",
		tt.Spectra[1][:2], len(tt.Discarded[1]), slices.Max(tt.Discarded[1]) < 1e-12)
	fmt.Printf("relative error below 1e-12: %v\n", rel < 1e-12)
	// Output:
	// ranks [1 2 2 2 1]
	// bond 1 keeps [12.763 3.076], drops 6 values below 1e-12: true
	// relative error below 1e-12: true
}
