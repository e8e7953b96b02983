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
		row[K] = T(s + logPos(m))
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
				o[k] += T(v * dr[k]) // the product rounded on its own: a sum of two such is order-free
			}
		}
	}
}

// expFast is the exp of SoftmaxTable: e^x for x ≤ 0 with a relative error
// below 1e-8 (Cody–Waite reduction, a degree-8 Taylor polynomial, 2^n in the
// exponent bits); 0 below −708, NaN stays NaN.
func expFast(x float64) float64 {
	const (
		log2e   = 1.4426950408889634
		ln2hi   = 6.93147180369123816490e-01 // ln2 split so n·ln2hi is exact
		ln2lo   = 1.90821492927058770002e-10
		shifter = 6755399441055744.0 // 1.5·2⁵²: adding it rounds to an integer
	)
	if !(x >= -708) {
		if x != x {
			return x
		}
		return 0
	}
	t := x*log2e + shifter
	n := t - shifter
	r := (x - n*ln2hi) - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+r*(1.0/40320))))))))
	return p * math.Float64frombits(uint64(int64(math.Float64bits(t))-int64(math.Float64bits(shifter))+1023)<<52)
}

// logPos is log x for finite x > 0 within a few ulps (the kernels'
// log-scales, identical in C): x = 2^e·m with m in [√½, √2),
// log m = 2·atanh s, s = (m−1)/(m+1), |s| ≤ 0.1716, by its series to s²¹
// (truncation below 1e-17); subnormal x scaled by 2⁵⁴ first.
func logPos(x float64) float64 {
	const ln2hi, ln2lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10
	bias := int64(1023)
	if x < 2.2250738585072014e-308 {
		x *= 18014398509481984.0
		bias += 54
	}
	b := math.Float64bits(x)
	e := int64(b>>52) - bias
	m := math.Float64frombits(b&(1<<52-1) | 0x3ff0000000000000)
	if m > 1.4142135623730951 {
		m *= 0.5
		e++
	}
	s := (m - 1) / (m + 1)
	z := s * s
	p := 1.0 / 21
	p = 1.0/19 + z*p
	p = 1.0/17 + z*p
	p = 1.0/15 + z*p
	p = 1.0/13 + z*p
	p = 1.0/11 + z*p
	p = 1.0/9 + z*p
	p = 1.0/7 + z*p
	p = 1.0/5 + z*p
	p = 1.0/3 + z*p
	lm := 2*s + 2*s*z*p
	fe := float64(e)
	return fe*ln2hi + (lm + fe*ln2lo)
}

// exp32 is the exp of SoftmaxTable: e^x in float32 for x ≤ 0 within 2e-7
// relative (n = round(x·log2 e) by adding 1.5·2²³, r = x − n·ln2 in two
// parts, a degree-7 Taylor polynomial, 2^n in the exponent bits); 0 below
// −87, NaN stays NaN, exactly 1 at 0. Every operation is rounded to float32
// (the conversions keep the compiler from fusing a multiply-add).
func exp32(x float32) float32 {
	const (
		log2e   = float32(1.44269504)
		ln2hi   = float32(0.693359375) // 9 bits: n·ln2hi is exact for |n| ≤ 126
		ln2lo   = float32(-2.12194440e-4)
		shifter = float32(12582912.0) // 1.5·2²³: adding it rounds to an integer
	)
	if !(x >= -87) {
		if x != x {
			return x
		}
		return 0
	}
	t := float32(x*log2e) + shifter
	n := t - shifter
	r := float32(x-float32(n*ln2hi)) - float32(n*ln2lo)
	p := float32(1.0 / 5040)
	for _, c := range [...]float32{1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2, 1, 1} {
		p = float32(r*p) + c
	}
	return p * math.Float32frombits(uint32(int32(math.Float32bits(t))-int32(math.Float32bits(shifter))+127)<<23)
}

// logTiny is log 1e-300: SoftmaxTable refuses a variable with a value whose
// largest probability is below it.
const logTiny = -690.77552789821368

func softmaxTableRef[T Float](th []T, K, C int, tab []T, logScale, scale, work []float64) bool {
	lse, L := work[:K], work[K:K+C]
	for k := range K {
		t := th[k*C : (k+1)*C]
		m := float32(math.Inf(-1))
		for _, x := range t {
			if float32(x) > m {
				m = float32(x)
			}
		}
		var l [16]float64 // value c in lane c mod 16, combined as vec.c's sum16
		for c, x := range t {
			l[c&15] += float64(exp32(float32(x) - m))
		}
		var p [8]float64
		for i := range p {
			p[i] = l[i] + l[i+8]
		}
		s := ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]))
		if !(s >= 1) { // a NaN or an infinity among the logits
			return false
		}
		lse[k] = float64(m) + logPos(s)
	}
	for c := range L {
		L[c] = math.Inf(-1)
	}
	for k := range K {
		for c, x := range th[k*C : (k+1)*C] {
			if v := float64(float32(x)) - lse[k]; v > L[c] {
				L[c] = v
			}
		}
	}
	for _, l := range L {
		if !(l >= logTiny) {
			return false
		}
	}
	for c := range C {
		row := tab[c*K : (c+1)*K]
		for k := range row {
			row[k] = T(exp32(float32(float64(float32(th[k*C+c])) - lse[k] - L[c])))
		}
		logScale[c], scale[c] = L[c], expFast(L[c])
	}
	return true
}

func adamRef[T Float](th, g, m, v []T, h *AdamStep) {
	var (
		b1, b2 = T(h.Beta1), T(h.Beta2)
		c1, c2 = T(h.C1), T(h.C2)
		step   = T(h.StepSize)
		sbc2   = T(h.SqrtBC2)
		eps    = T(h.Eps)
		l2     = T(h.L2)
		shrink = T(h.Shrink)
		lo     = T(h.Min)
	)
	g, m, v = g[:len(th)], m[:len(th)], v[:len(th)]
	for i, p := range th {
		if h.Decoupled {
			p *= shrink
		}
		gi := g[i]
		if h.Coupled {
			gi += l2 * p
		}
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		p = p - step*(mi/(T(math.Sqrt(float64(vi)))/sbc2+eps))
		if h.Clamp && !(p >= lo) {
			p = lo
		}
		th[i] = p
	}
}

func mixAccRef[T Float](x []T, ld int, w []T, m, c []float64, cs int, y []float64, B, K int, first bool) {
	w = w[:K]
	for b := range B {
		s, mb := float64(x[b*ld+K]), m[b]
		ch := 1.0
		switch {
		case math.IsInf(mb, -1):
			ch = 0
		case s != mb && is32[T]():
			ch = expFast(s - mb)
		case s != mb:
			ch = math.Exp(s - mb)
		}
		c[b*cs] = ch
		xr, yr := x[b*ld:b*ld+K], y[b*K:(b+1)*K]
		if first {
			for k, v := range xr {
				yr[k] = float64(w[k]) * float64(v) * ch
			}
		} else {
			for k, v := range xr {
				yr[k] += float64(w[k]) * float64(v) * ch
			}
		}
	}
}

func normRowsRef[T Float](y, s []float64, out []T, B, K int) {
	for b := range B {
		yr, row := y[b*K:(b+1)*K], out[b*(K+1):(b+1)*(K+1)]
		// The maximum over the bit patterns: for non-negative floats they
		// order like the values, and a NaN's pattern beats every number.
		var mb uint64
		for _, v := range yr {
			mb = max(mb, math.Float64bits(v))
		}
		m := math.Float64frombits(mb)
		switch {
		case m != m:
			for k := range row {
				row[k] = T(m)
			}
		case m == 0:
			clear(row[:K])
			row[K] = T(math.Inf(-1))
		default:
			inv := 1 / m
			for k, v := range yr {
				row[k] = T(v * inv)
				if v == m { // v·(1/v) may round to 1−ulp in float64
					row[k] = 1
				}
			}
			row[K] = T(s[b] + logPos(m))
		}
	}
}

func quotF64Ref[T Float](g []T, ldg int, y, r []float64, B, K int) {
	for b := range B {
		gr, yr, rr := g[b*ldg:b*ldg+K], y[b*K:(b+1)*K], r[b*K:(b+1)*K]
		for k, v := range yr {
			if v != 0 {
				rr[k] = float64(gr[k]) / v
			} else {
				rr[k] = 0
			}
		}
	}
}

func mixGradWRef[T Float](r []float64, x []T, ld int, c []float64, cs int, dw []T, B, K int) {
	for k := range K {
		s := 0.0
		for b := range B {
			s += r[b*K+k] * float64(x[b*ld+k]) * c[b*cs]
		}
		dw[k] += T(s)
	}
}

func mixGradXRef[T Float](r []float64, w, x []T, ld int, c []float64, cs int, dx []T, B, K int, set bool) {
	w = w[:K]
	for b := range B {
		o, xr, rr, cb := dx[b*ld:b*ld+K], x[b*ld:b*ld+K], r[b*K:(b+1)*K], c[b*cs]
		if set {
			for k, v := range xr {
				o[k] = T(rr[k] * float64(w[k]) * float64(v) * cb)
			}
		} else {
			for k, v := range xr {
				o[k] += T(rr[k] * float64(w[k]) * float64(v) * cb)
			}
		}
	}
}

func scatterRowsRef[T Float](g []T, ldg int, x []uint8, xs int, miss []bool, acc, tot []float64, B, K int) {
	tot = tot[:K]
	for b := range B {
		if miss != nil && miss[b*xs] {
			continue
		}
		c := int(x[b*xs])
		gr, a := g[b*ldg:b*ldg+K], acc[c*K:(c+1)*K]
		for k, v := range gr {
			a[k] += float64(v)
			tot[k] += float64(v)
		}
	}
}

func catGradSoftmaxRef[T Float](tab []T, scale, acc, tot []float64, d []T, K, C int, set bool) {
	for k := range K {
		tk, dk := tot[k], d[k*C:(k+1)*C]
		for c := range dk {
			p := float64(tab[c*K+k]) * scale[c]
			v := T(acc[c*K+k] - p*tk)
			if set {
				dk[c] = v
			} else {
				dk[c] += v
			}
		}
	}
}

func firstNonFiniteRef[T Float](s []T) int {
	for i, x := range s {
		if d := x - x; d != 0 || d != d {
			return i
		}
	}
	return -1
}

func addRef[T Float](dst, src []T) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] += x
	}
}

func addRowsRef[T Float](dst, src []T, ld, B, K int, set bool) {
	for b := range B {
		d, s := dst[b*ld:b*ld+K], src[b*ld:b*ld+K]
		if set {
			copy(d, s)
			continue
		}
		for k, x := range s {
			d[k] += x
		}
	}
}

func gemmRef[T Float](M, N, P int, a []T, sai, sap int, b []T, ldb int, accumulate bool, c []T, ldc int) {
	for i := range M {
		ci := c[i*ldc : i*ldc+N]
		if !accumulate {
			clear(ci)
		}
		for p := range P {
			av, bp := a[i*sai+p*sap], b[p*ldb:p*ldb+N]
			for j, x := range bp {
				ci[j] += av * x
			}
		}
	}
}

func transposeRef[T Float](src []T, ld, rows, cols int, dst []T) {
	for i := range rows {
		for j, v := range src[i*ld : i*ld+cols] {
			dst[j*rows+i] = v
		}
	}
}

func outerRef[T Float](x1, x2 []T, ld, B, K int, y []T) {
	for b := range B {
		r2 := x2[b*ld : b*ld+K]
		for i, v := range x1[b*ld : b*ld+K] {
			yr := y[(b*K+i)*K : (b*K+i+1)*K]
			for j, w := range r2 {
				yr[j] = v * w
			}
		}
	}
}

// dot16 is Σ_j a[j]·b[j] in sixteen interleaved lanes, combined by halving
// (the order of the C kernels).
func dot16[T Float](a, b []T) T {
	var l [16]T
	for j, x := range a {
		l[j&15] += x * b[j]
	}
	for w := 8; w >= 1; w /= 2 {
		for j := range w {
			l[j] += l[j+w]
		}
	}
	return l[0]
}

func tuckerGradInRef[T Float](d, x1, x2 []T, ld int, dx1, dx2 []T, B, K int) {
	for b := range B {
		r1, r2 := x1[b*ld:b*ld+K], x2[b*ld:b*ld+K]
		for i, v1 := range r1 {
			dr := d[(b*K+i)*K : (b*K+i+1)*K]
			if dx1 != nil {
				dx1[b*ld+i] += v1 * dot16(dr, r2)
			}
			if dx2 != nil {
				o2 := dx2[b*ld : b*ld+K]
				for j, v2 := range r2 {
					o2[j] += v2 * dr[j] * v1
				}
			}
		}
	}
}

func gatherRowsRef[T Float](tab []T, logScale []float64, K int, x []uint8, xs, B int, out []T) {
	for b := range B {
		c := int(x[b*xs])
		row := out[b*(K+1) : (b+1)*(K+1)]
		copy(row[:K], tab[c*K:(c+1)*K])
		row[K] = T(logScale[c])
	}
}
