package kernel

import (
	"fmt"
	"math"
)

// Conversions between log-values and the scaled representation
// row = [V_0 … V_{K-1}, S] (see the package documentation).

// FromLog converts rows of K log-values into scaled rows:
// lv: (rows, K) -> buf: (rows, K+1). Each row gets S = max_k lv_k and
// V_k = exp(lv_k − S), so max_k V_k = 1; a row whose log-values are all −Inf
// gets V = 0 and S = −Inf. The exponentials are taken in float64.
func FromLog[T Float](lv []T, K int, buf []T) {
	rows := checkRows("FromLog", len(lv), K, len(buf))
	for r := range rows {
		in := lv[r*K : r*K+K]
		row := buf[r*(K+1) : r*(K+1)+K+1]
		s := math.Inf(-1)
		for _, v := range in {
			s = max(s, float64(v))
		}
		if math.IsInf(s, -1) {
			clear(row[:K])
			row[K] = T(s)
			continue
		}
		for k, v := range in {
			row[k] = T(math.Exp(float64(v) - s))
		}
		row[K] = T(s)
	}
}

// ToLog converts scaled rows into log-values:
// buf: (rows, K+1) -> lv: (rows, K), lv_k = S + log V_k (−Inf where V_k = 0).
func ToLog[T Float](buf []T, K int, lv []T) {
	rows := checkRows("ToLog", len(lv), K, len(buf))
	for r := range rows {
		row := buf[r*(K+1) : r*(K+1)+K+1]
		out := lv[r*K : r*K+K]
		s := float64(row[K])
		for k, v := range row[:K] {
			if v == 0 {
				out[k] = T(math.Inf(-1))
				continue
			}
			out[k] = T(s + math.Log(float64(v)))
		}
	}
}

// LogValues reads a layer's output in log space, the way a circuit's root is
// read: buf: (F, B, K+1) -> dst: (F, B, K), dst = S + log V.
func LogValues[T Float](buf []T, F, B, K int, dst []T) {
	if len(buf) != F*B*(K+1) || len(dst) != F*B*K {
		panic(fmt.Sprintf("kernel.LogValues: len(buf)=%d, len(dst)=%d, want %d and %d for F=%d B=%d K=%d",
			len(buf), len(dst), F*B*(K+1), F*B*K, F, B, K))
	}
	ToLog(buf, K, dst)
}

// SeedGrad is the gradient counterpart of LogValues: given dLog = ∂ℓ/∂(log
// value) of shape (F, B, K) it adds it into the gradient buffer g of shape
// (F, B, K+1) (entry K of every row, the unused scale slot, is left alone).
// Adding, not overwriting, follows the package's accumulation convention.
func SeedGrad[T Float](dLog []T, F, B, K int, g []T) {
	if len(g) != F*B*(K+1) || len(dLog) != F*B*K {
		panic(fmt.Sprintf("kernel.SeedGrad: len(dLog)=%d, len(g)=%d, want %d and %d for F=%d B=%d K=%d",
			len(dLog), len(g), F*B*K, F*B*(K+1), F, B, K))
	}
	for r := range F * B {
		src := dLog[r*K : r*K+K]
		dst := g[r*(K+1) : r*(K+1)+K]
		for k, v := range src {
			dst[k] += v
		}
	}
}

func checkRows(name string, nlv, K, nbuf int) int {
	if K <= 0 || nlv%K != 0 || nbuf != nlv/K*(K+1) {
		panic(fmt.Sprintf("kernel.%s: %d log-values and a buffer of %d do not hold whole rows of K=%d (+1 scale)", name, nlv, nbuf, K))
	}
	return nlv / K
}
