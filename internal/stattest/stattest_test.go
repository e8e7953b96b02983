package stattest

import (
	"math"
	"testing"
)

func TestChiSquareSF(t *testing.T) {
	// Critical values from standard tables and closed forms (χ²_2 is
	// exponential with mean 2; for χ²_4, P(χ² ≤ x) = 1 − (1 + x/2)·e^{−x/2}).
	for _, tc := range []struct{ x, k, p float64 }{
		{3.841459, 1, 0.05}, {6.634897, 1, 0.01}, {18.307038, 10, 0.05},
		{29.588298, 10, 0.001}, {124.342113, 100, 0.05}, {0.4, 2, math.Exp(-0.2)},
		{6.0, 2, math.Exp(-3)}, {11.070497693516351, 5, 0.05}, {0.5, 4, 0.9735009788392561}, {0, 3, 1},
	} {
		if got := ChiSquareSF(tc.x, tc.k); math.Abs(got-tc.p) > 1e-6*tc.p+1e-12 {
			t.Errorf("ChiSquareSF(%v, %v) = %.9g, want %.9g", tc.x, tc.k, got, tc.p)
		}
	}
}
