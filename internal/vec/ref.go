package vec

import "math"

// The Go reference loops: every float64 instance runs them, and float32
// ones too in builds without the C kernels.

func prodNormRef[T Float](z0, z1, s0, s1 []T, ld, B, K int, out []T) {
	for b := range B {
		r0, r1, row := z0[b*K:(b+1)*K], z1[b*K:(b+1)*K], out[b*(K+1):(b+1)*(K+1)]
		// The maximum over the bit patterns: for non-negative floats they
		// order like the values, and a NaN's pattern beats every number.
		var mb uint64
		for k := range r0 {
			mb = max(mb, math.Float64bits(float64(r0[k])*float64(r1[k])))
		}
		m := math.Float64frombits(mb)
		s := float64(s0[b*ld]) + float64(s1[b*ld])
		if m == 0 {
			clear(row[:K])
			row[K] = T(math.Inf(-1))
			continue
		}
		inv := 1 / m
		for k := range r0 {
			v := float64(r0[k]) * float64(r1[k])
			row[k] = T(v * inv)
			if v == m { // v·(1/v) may round to 1−ulp in float64
				row[k] = 1
			}
		}
		if m != m {
			for k := range row {
				row[k] = T(m)
			}
			continue
		}
		row[K] = T(s + math.Log(m))
	}
}

func quotRef[T Float](g []T, ldg int, z, t []T, B, K int) {
	for b := range B {
		gr, zr, tr := g[b*ldg:b*ldg+K], z[b*K:(b+1)*K], t[b*K:(b+1)*K]
		for k, v := range zr {
			if v != 0 {
				tr[k] = gr[k] / v
			} else {
				tr[k] = 0
			}
		}
	}
}

func hadamardRef[T Float](x []T, ld int, d, dx []T, B, K int, set bool) {
	for b := range B {
		xr, dr, o := x[b*ld:b*ld+K], d[b*K:(b+1)*K], dx[b*ld:b*ld+K]
		if set {
			for k, v := range xr {
				o[k] = v * dr[k]
			}
		} else {
			for k, v := range xr {
				o[k] += v * dr[k]
			}
		}
	}
}
