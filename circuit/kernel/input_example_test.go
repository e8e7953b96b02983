package kernel_test

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/circuit/kernel"
)

// A categorical input layer over two three-valued variables with K = 2
// units: validate the data, build the table once per step, gather a batch.
func ExampleCategorical() {
	const V, K, C = 2, 2, 3
	leafOff, leafVars := kernel.SingleVariableLeaves(V) // one leaf per variable
	l, err := kernel.NewCategorical[float64](leafOff, leafVars, V, K, C, kernel.CategoricalClamp)
	if err != nil {
		panic(err)
	}
	// θ: (V, K, C) weights, normalized over the C values.
	theta := []float64{
		1, 1, 2, // v0, k0: p = 1/4, 1/4, 1/2
		3, 1, 0.5, // v0, k1
		1, 1, 1, // v1, k0: uniform
		0.25, 0.5, 0.25, // v1, k1
	}
	x := []uint8{2, 1, 0, 1} // (B, V): two samples
	if err := kernel.ValidateCategories(x, V, C); err != nil {
		panic(err)
	}
	missing := []bool{false, false, false, true} // sample 1 marginalizes v1
	out := make([]float64, l.F*2*(K+1))          // (F, B, K+1)
	l.Table(theta)
	l.Forward(x, missing, out)
	for f := range l.F {
		for b := range 2 {
			row := out[(f*2+b)*(K+1) : (f*2+b+1)*(K+1)]
			fmt.Printf("leaf %d sample %d: p = %.4f %.4f\n", f, b,
				math.Exp(row[K])*row[0], math.Exp(row[K])*row[1])
		}
	}
	fmt.Println("error:", kernel.ValidateCategories([]uint8{0, 3}, V, C))
	// Output:
	// leaf 0 sample 0: p = 0.5000 0.1111
	// leaf 0 sample 1: p = 0.2500 0.6667
	// leaf 1 sample 0: p = 0.3333 0.5000
	// leaf 1 sample 1: p = 1.0000 1.0000
	// error: input data: sample 0, variable 1: value 3 outside 0..2
}
