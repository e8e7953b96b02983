package nn_test

import (
	"fmt"

	"github.com/tenpc/tenpc/nn"
)

// A 6×6 matrix that is the Kronecker product of a 2×3 and a 3×2 matrix is
// an MPO of modes (2, 3) ← (3, 2) with bond dimension 1: TT-SVD finds the
// one non-zero singular value at the bond and reconstructs W exactly.
func ExampleMPOFromDense() {
	a := []float64{1, 2, 3, 4, 5, 6}  // 2×3
	b := []float64{1, -1, 2, 0, 0, 3} // 3×2
	w := make([]float64, 36)          // (2·3)×(3·2): W[(i0,i1),(j0,j1)] = a[i0,j0]·b[i1,j1]
	for i0 := range 2 {
		for i1 := range 3 {
			for j0 := range 3 {
				for j1 := range 2 {
					w[(i0*3+i1)*6+j0*2+j1] = a[i0*3+j0] * b[i1*2+j1]
				}
			}
		}
	}
	l, fit, err := nn.MPOFromDense(w, nil, []int{2, 3}, []int{3, 2}, nn.Truncation{Tol: 1e-9}, nn.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Describe())
	fmt.Printf("parameters %d of %d, relative error below 1e-12: %v\n", l.ParamCount(), len(w), fit.RelError() < 1e-12)
	// Output:
	// 6 → 6, MPO 2x3 ← 3x2, bonds [1]
	// parameters 12 of 36, relative error below 1e-12: true
}
