//go:build cgo && !purego

// Element-wise kernels of tenpc's hot loops and a small GEMM, in C so that
// gcc vectorizes them (Go's compiler does not). Each kernel's body is written
// once, as an always-inline function, and compiled three times: for
// x86-64-v4 (AVX-512), x86-64-v3 (AVX2, FMA) and the baseline; `level`
// picks one at run time from the CPU (or a test forces one). The GEMM has
// its own AVX-512 version with intrinsics. The semantics are those of the
// Go reference implementations in ref.go, which the tests hold these to:
// bit for bit, except the GEMM (fused multiply-adds where the CPU has them)
// and libm's log against Go's math.Log (both within an ulp).

// IEEE semantics throughout (NaN, ±Inf, signed zeros, no reassociation),
// and no contraction of products and sums into FMAs, so that every level
// rounds like the Go reference (and like each other) and results do not
// depend on the machine (the GEMM, below, opts in to FMAs explicitly). gcc
// contracts by default in GNU C and clang within expressions: these pragmas
// turn it off for every function below.
#if defined(__clang__)
#pragma clang fp contract(off)
#else
#pragma GCC optimize("fp-contract=off")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "vec.h"

#define BODY static inline __attribute__((always_inline))

#if defined(__x86_64__) && defined(__GNUC__)
#define TARGET_V4 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi,bmi2,popcnt")))
#define TARGET_V3 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))
#else
#define TARGET_V4
#define TARGET_V3
#endif

// The level in use: 2 (v4), 1 (v3) or 0 (baseline).
static int level = -1;

int tenpc_vec_detect(void) {
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
	    __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return 2;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
		return 1;
#endif
	return 0;
}

void tenpc_vec_set_level(int l) { level = l; }
int tenpc_vec_get_level(void) { return level; }

// MULTI defines name_v4, name_v3, name_v1 calling name_body, and the
// exported tenpc_name dispatching on level. LEVELS31 defines only name_v3
// and name_v1, for a kernel whose v4 version is written with intrinsics.
#define MULTI(name, params, args)                                   \
	BODY void name##_body params;                                   \
	TARGET_V4 static void name##_v4 params { name##_body args; }    \
	TARGET_V3 static void name##_v3 params { name##_body args; }    \
	static void name##_v1 params { name##_body args; }              \
	void tenpc_##name params {                                      \
		switch (level) {                                            \
		case 2: name##_v4 args; return;                             \
		case 1: name##_v3 args; return;                             \
		default: name##_v1 args; return;                            \
		}                                                           \
	}
#define LEVELS31(name, params, args)                                \
	BODY void name##_body params;                                   \
	TARGET_V3 static void name##_v3 params { name##_body args; }    \
	static void name##_v1 params { name##_body args; }

// log_pos is ref.go's logPos: log x for finite x > 0, within a few ulps:
// x = 2^e·m with m in [√½, √2), log m = 2·atanh s with s = (m−1)/(m+1),
// |s| ≤ 0.1716, by its series to s²¹ (truncation below 1e-17); subnormal x
// scaled by 2^54 first. Branch-free, so loops calling it vectorize.
BODY double log_pos(double x) {
	const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
	int sub = x < 2.2250738585072014e-308;
	x = sub ? x * 18014398509481984.0 : x;
	uint64_t b;
	memcpy(&b, &x, 8);
	int64_t e = (int64_t)(b >> 52) - (sub ? 1023 + 54 : 1023);
	uint64_t mb = (b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	double m;
	memcpy(&m, &mb, 8);
	int big = m > 1.4142135623730951;
	m = big ? m * 0.5 : m;
	e = big ? e + 1 : e;
	double s = (m - 1) / (m + 1), z = s * s;
	double p = 1.0 / 21;
	p = 1.0 / 19 + z * p;
	p = 1.0 / 17 + z * p;
	p = 1.0 / 15 + z * p;
	p = 1.0 / 13 + z * p;
	p = 1.0 / 11 + z * p;
	p = 1.0 / 9 + z * p;
	p = 1.0 / 7 + z * p;
	p = 1.0 / 5 + z * p;
	p = 1.0 / 3 + z * p;
	double lm = 2 * s + 2 * s * z * p;
	double fe = (double)e;
	return fe * ln2hi + (lm + fe * ln2lo);
}

#define LOG_CHUNK 64

// scale_logs writes dst[j·ld] = (float)(s[j] + log m[j]) for j < n.
BODY void scale_logs(const double *restrict m, const double *restrict s, long n, float *dst, long ld) {
	double l[LOG_CHUNK];
	for (long j = 0; j < n; j++)
		l[j] = log_pos(m[j]);
	for (long j = 0; j < n; j++)
		dst[j * ld] = (float)(s[j] + l[j]);
}

// special_row writes a row with a NaN ([NaN…], log-scale NaN into *s) or
// whose maximum m is 0 ([0…], log-scale −Inf) and reports whether it did.
BODY int special_row(float *row, long K, int nan, double m, double *s) {
	if (!nan && m != 0)
		return 0;
	float v = nan ? NAN : 0;
	for (long k = 0; k < K; k++)
		row[k] = v;
	*s = nan ? NAN : -INFINITY;
	return 1;
}

// norm_row writes row = y / m with m = max y (entries ≥ 0; exactly 1 at the
// maximum up to rounding), or a special row (see special_row, which may set
// *s); *mj gets m, or 1 for a special row (its log is then 0).
BODY void norm_row(const double *y, long K, float *row, double *mj, double *s) {
	double m = 0;
	int nan = 0;
	for (long k = 0; k < K; k++) {
		double v = y[k];
		m = v > m ? v : m;
		nan |= v != v;
	}
	*mj = 1;
	if (special_row(row, K, nan, m, s))
		return;
	double inv = 1 / m;
	for (long k = 0; k < K; k++)
		row[k] = (float)(y[k] * inv);
	*mj = m;
}

// ---- CP layer -------------------------------------------------------------

// prod_norm: for each row b, H = z0[b]·z1[b] in double (K entries), m = max H,
// out[b] = [H/m, s0[b·ld] + s1[b·ld] + log m], or [0…, −Inf] when m = 0; a
// NaN in H makes the row NaN.
LEVELS31(prod_norm,
         (const float *z0, const float *z1, const float *s0, const float *s1, long ld, long B, long K, float *out),
         (z0, z1, s0, s1, ld, B, K, out))
BODY void prod_norm_body(const float *z0, const float *z1, const float *s0, const float *s1, long ld, long B, long K, float *out) {
	// Rows in chunks: the row maxima first, then their logs in one
	// vectorized loop (a special row gets m = 1 and its log-scale, NaN or
	// −Inf, as s).
	double ms[LOG_CHUNK], ss[LOG_CHUNK];
	for (long b0 = 0; b0 < B; b0 += LOG_CHUNK) {
		long nb = B - b0 < LOG_CHUNK ? B - b0 : LOG_CHUNK;
		for (long j = 0; j < nb; j++) {
			long b = b0 + j;
			const float *r0 = z0 + b * K, *r1 = z1 + b * K;
			float *row = out + b * (K + 1);
			double m = 0;
			int nan = 0;
			for (long k = 0; k < K; k++) {
				double v = (double)r0[k] * (double)r1[k];
				m = v > m ? v : m;
				nan |= v != v;
			}
			ss[j] = (double)s0[b * ld] + (double)s1[b * ld];
			ms[j] = 1;
			if (special_row(row, K, nan, m, &ss[j]))
				continue;
			// In double, m·(1/m) is within an ulp of 1 and every v/m with
			// v < m stays below 1 by more than float's half-ulp: rounding
			// to float gives exactly 1 at the maximum.
			double inv = 1 / m;
			for (long k = 0; k < K; k++)
				row[k] = (float)((double)r0[k] * (double)r1[k] * inv);
			ms[j] = m;
		}
		scale_logs(ms, ss, nb, out + b0 * (K + 1) + K, K + 1);
	}
}

// quot: t[b,k] = g[b·ldg+k] / z[b·K+k], 0 where z = 0.
MULTI(quot, (const float *g, long ldg, const float *z, float *t, long B, long K), (g, ldg, z, t, B, K))
BODY void quot_body(const float *g, long ldg, const float *z, float *t, long B, long K) {
	for (long b = 0; b < B; b++) {
		const float *gr = g + b * ldg, *zr = z + b * K;
		float *tr = t + b * K;
		for (long k = 0; k < K; k++) {
			float v = zr[k];
			float q = gr[k] / (v != 0 ? v : 1.0f);
			tr[k] = v != 0 ? q : 0.0f;
		}
	}
}

// hadamard: dx[b·ld+k] (+)= x[b·ld+k]·d[b·K+k] for k < K (set: =).
MULTI(hadamard, (const float *x, long ld, const float *d, float *dx, long B, long K, int set),
      (x, ld, d, dx, B, K, set))
BODY void hadamard_body(const float *x, long ld, const float *d, float *dx, long B, long K, int set) {
	for (long b = 0; b < B; b++) {
		const float *xr = x + b * ld, *dr = d + b * K;
		float *o = dx + b * ld;
		if (set) {
			for (long k = 0; k < K; k++)
				o[k] = xr[k] * dr[k];
		} else {
			for (long k = 0; k < K; k++)
				o[k] += xr[k] * dr[k];
		}
	}
}

// ---- categorical table ----------------------------------------------------

// exp_fast is expFast of package kernel (and of ref.go): e^x for x ≤ 0 with
// a relative error below 1e-8; Cody–Waite reduction, a degree-8 Taylor
// polynomial, 2^n in the exponent bits; 0 below −708, NaN stays NaN.
// Branch-free so that loops calling it vectorize.
BODY double exp_fast(double x) {
	const double log2e = 1.4426950408889634;
	const double ln2hi = 6.93147180369123816490e-01;
	const double ln2lo = 1.90821492927058770002e-10;
	const double shifter = 6755399441055744.0;
	int in = x >= -708;
	double xc = in ? x : -708;
	double t = xc * log2e + shifter;
	double n = t - shifter;
	double r = (xc - n * ln2hi) - n * ln2lo;
	double p = 1 + r * (1 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320))))))));
	int64_t tb, sb;
	memcpy(&tb, &t, 8);
	memcpy(&sb, &shifter, 8);
	uint64_t eb = (uint64_t)(tb - sb + 1023) << 52;
	double e;
	memcpy(&e, &eb, 8);
	double y = p * e;
	return in ? y : (x != x ? x : 0);
}

// exp32 is ref.go's exp32: e^x in float for x ≤ 0, within 2e-7 relative:
// n = round(x·log2 e) by adding 1.5·2²³, r = x − n·ln2 in two parts (n·ln2hi
// exact), a degree-7 Taylor polynomial for e^r (|r| ≤ 0.35), 2^n in the
// exponent bits; 0 below −87 (e^−87.3 is float's smallest normal), NaN stays
// NaN, exactly 1 at 0. Branch-free so that loops calling it vectorize.
BODY float exp32(float x) {
	const float log2e = 1.44269504f, ln2hi = 0.693359375f, ln2lo = -2.12194440e-4f, shifter = 12582912.0f;
	int in = x >= -87.0f;
	float xc = in ? x : -87.0f;
	float t = xc * log2e + shifter;
	float n = t - shifter;
	float r = (xc - n * ln2hi) - n * ln2lo;
	float p = 1 + r * (1 + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
	int32_t tb, sb;
	memcpy(&tb, &t, 4);
	memcpy(&sb, &shifter, 4);
	uint32_t eb = (uint32_t)(tb - sb + 127) << 23;
	float e;
	memcpy(&e, &eb, 4);
	float y = p * e;
	return in ? y : (x != x ? x : 0);
}

BODY void tr8x8(const float *s, long ld, float *d, long ldd);
BODY void transpose_body(const float *restrict src, long ld, long rows, long cols, float *restrict dst);

// LOG_TINY is log 1e-300: a value whose largest probability is below it
// makes softmax_table refuse the variable.
#define LOG_TINY (-690.77552789821368)

// sum16 combines sixteen lanes pairwise, lane i with lane i+8, then i+4,
// then i+2, then the last two: the order of the AVX-512 version's vector
// adds (and of ref.go's softmaxTableRef).
BODY double sum16(const double *l) {
	double p[8], q[4];
	for (int i = 0; i < 8; i++)
		p[i] = l[i] + l[i + 8];
	for (int i = 0; i < 4; i++)
		q[i] = p[i] + p[i + 4];
	return (q[0] + q[2]) + (q[1] + q[3]);
}

// softmax_table: see SoftmaxTable in vec.go; work: SoftmaxWork(K, C)
// doubles. Per unit k, over the values in θ's (K, C) order: the maximum
// m, then Σ e^(θ − m) in sixteen lanes (value c in lane c mod 16) and
// lse[k]; then L[c] over the units; then the entries, eight units by a block
// of values at a time, transposed into tab in 8×8 blocks. The AVX-512
// version (below) computes the same in registers.
LEVELS31(softmax_table,
         (const float *th, long K, long C, float *tab, double *logScale, double *scale, double *work, int *bad),
         (th, K, C, tab, logScale, scale, work, bad))
BODY void softmax_table_body(const float *th, long K, long C, float *tab, double *logScale, double *scale, double *work, int *bad) {
	double *lse = work, *L = work + K;
	float f[8 * 256];
	int b = 0;
	for (long k = 0; k < K; k++) {
		const float *t = th + k * C;
		float m = -INFINITY;
		for (long c = 0; c < C; c++)
			m = t[c] > m ? t[c] : m;
		double l[16] = {0};
		for (long c0 = 0; c0 < C; c0 += 256) {
			long nc = C - c0 < 256 ? C - c0 : 256;
			for (long j = 0; j < nc; j++)
				f[j] = exp32(t[c0 + j] - m);
			for (long j = 0; j < nc; j++)
				l[j & 15] += (double)f[j];
		}
		double s = sum16(l);
		int ok = s >= 1; // false: a NaN or an infinity among the logits
		b |= !ok;
		lse[k] = (double)m + log_pos(ok ? s : 1);
	}
	if (b) {
		*bad = 1;
		return;
	}
	for (long c = 0; c < C; c++)
		L[c] = -INFINITY;
	for (long k = 0; k < K; k++) {
		const float *t = th + k * C;
		double lk = lse[k];
		for (long c = 0; c < C; c++) {
			double v = (double)t[c] - lk;
			L[c] = v > L[c] ? v : L[c];
		}
	}
	for (long c = 0; c < C; c++)
		b |= !(L[c] >= LOG_TINY);
	*bad = b;
	if (b)
		return;
	for (long k0 = 0; k0 < K; k0 += 8) {
		long nk = K - k0 < 8 ? K - k0 : 8;
		for (long c0 = 0; c0 < C; c0 += 256) {
			long nc = C - c0 < 256 ? C - c0 : 256;
			for (long i = 0; i < nk; i++) {
				const float *t = th + (k0 + i) * C + c0;
				const double *Lc = L + c0;
				double lk = lse[k0 + i];
				float *fr = f + i * 256;
				for (long j = 0; j < nc; j++)
					fr[j] = exp32((float)((double)t[j] - lk - Lc[j]));
			}
			long j = 0;
			if (nk == 8)
				for (; j + 8 <= nc; j += 8)
					tr8x8(f + j, 256, tab + (c0 + j) * K + k0, K);
			for (; j < nc; j++)
				for (long i = 0; i < nk; i++)
					tab[(c0 + j) * K + k0 + i] = f[i * 256 + j];
		}
	}
	for (long c = 0; c < C; c++) {
		logScale[c] = L[c];
		scale[c] = exp_fast(L[c]);
	}
}

// ---- Adam -----------------------------------------------------------------

// adam: one Adam step over n parameters in float32, then (clamp) θ ←
// max(θ, lo); see Adam in vec.go for h.
MULTI(adam, (float *restrict th, const float *restrict g, float *restrict m, float *restrict v, long n, const float *h, int flags),
      (th, g, m, v, n, h, flags))
#if defined(__x86_64__)
#include <xmmintrin.h>
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
typedef float v4fu __attribute__((vector_size(16), aligned(4), may_alias));
#endif

BODY void adam_body(float *restrict th, const float *restrict g, float *restrict m, float *restrict v, long n, const float *h, int flags) {
	const float b1 = h[0], b2 = h[1], c1 = h[2], c2 = h[3], step = h[4], sbc2 = h[5], eps = h[6],
		    l2 = h[7], shrink = h[8], lo = h[9];
	const int decay = flags & 1, coupled = flags & 2, clamp = flags & 4;
	long i = 0;
#if defined(__x86_64__)
	// Four lanes at a time with SSE's square root: compilers keep sqrtf's
	// errno path (no -fno-math-errno in cgo's flags) and then do not
	// vectorize the loop. Same operations, in the same order, as the tail.
	for (; i + 4 <= n; i += 4) {
		v4f p = *(const v4fu *)(th + i);
		if (decay)
			p = p * shrink;
		v4f g0 = *(const v4fu *)(g + i);
		v4f gi = coupled ? g0 + l2 * p : g0;
		v4f mi = b1 * *(const v4fu *)(m + i) + c1 * gi;
		v4f vi = b2 * *(const v4fu *)(v + i) + c2 * gi * gi;
		*(v4fu *)(m + i) = mi;
		*(v4fu *)(v + i) = vi;
		p = p - step * (mi / ((v4f)_mm_sqrt_ps((__m128)vi) / sbc2 + eps));
		if (clamp) {
			v4i keep = p >= lo; // NaN compares false and becomes lo
			p = (v4f)((keep & (v4i)p) | (~keep & (v4i)(lo - (v4f){})));
		}
		*(v4fu *)(th + i) = p;
	}
#endif
	// Selects, not branches, and every store unconditional.
	for (; i < n; i++) {
		float p = th[i];
		p = decay ? p * shrink : p;
		float g0 = g[i];
		float gi = coupled ? g0 + l2 * p : g0;
		float mi = b1 * m[i] + c1 * gi;
		float vi = b2 * v[i] + c2 * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p = p - step * (mi / (sqrtf(vi) / sbc2 + eps));
		th[i] = clamp ? (p >= lo ? p : lo) : p; // NaN becomes lo, as nn.Param.ClampToMin does
	}
}

// ---- mixing layer ---------------------------------------------------------

// mix_acc: see MixAcc in vec.go (float32 inputs, exps by exp_fast).
MULTI(mix_acc,
      (const float *x, long ld, const float *w, const double *m, double *c, long cs, double *y, long B, long K, int first),
      (x, ld, w, m, c, cs, y, B, K, first))
BODY void mix_acc_body(const float *x, long ld, const float *w, const double *m, double *c, long cs, double *y, long B, long K, int first) {
	for (long b = 0; b < B; b++) {
		double s = x[b * ld + K], mb = m[b];
		double ch = s == mb ? 1 : exp_fast(s - mb);
		ch = mb == -INFINITY ? 0 : ch;
		c[b * cs] = ch;
		const float *xr = x + b * ld;
		double *yr = y + b * K;
		if (first) {
			for (long k = 0; k < K; k++)
				yr[k] = (double)w[k] * (double)xr[k] * ch;
		} else {
			for (long k = 0; k < K; k++)
				yr[k] += (double)w[k] * (double)xr[k] * ch;
		}
	}
}

// norm_rows: see NormRows in vec.go.
MULTI(norm_rows, (const double *y, const double *s, float *out, long B, long K), (y, s, out, B, K))
BODY void norm_rows_body(const double *y, const double *s, float *out, long B, long K) {
	double ms[LOG_CHUNK], ss[LOG_CHUNK]; // as in prod_norm
	for (long b0 = 0; b0 < B; b0 += LOG_CHUNK) {
		long nb = B - b0 < LOG_CHUNK ? B - b0 : LOG_CHUNK;
		for (long j = 0; j < nb; j++) {
			long b = b0 + j;
			ss[j] = s[b];
			norm_row(y + b * K, K, out + b * (K + 1), &ms[j], &ss[j]);
		}
		scale_logs(ms, ss, nb, out + b0 * (K + 1) + K, K + 1);
	}
}

// quot64: r[b,k] = g[b·ldg+k] / y[b,k] in double, 0 where y = 0.
MULTI(quot64, (const float *g, long ldg, const double *y, double *r, long B, long K), (g, ldg, y, r, B, K))
BODY void quot64_body(const float *g, long ldg, const double *y, double *r, long B, long K) {
	for (long b = 0; b < B; b++) {
		const float *gr = g + b * ldg;
		const double *yr = y + b * K;
		double *rr = r + b * K;
		for (long k = 0; k < K; k++) {
			double v = yr[k];
			double q = (double)gr[k] / (v != 0 ? v : 1.0);
			rr[k] = v != 0 ? q : 0.0;
		}
	}
}

// mix_grad_w: dw[k] += Σ_b r[b,k]·x[b·ld+k]·c[b·cs], summed over b in order
// in double.
MULTI(mix_grad_w, (const double *r, const float *x, long ld, const double *c, long cs, float *dw, long B, long K),
      (r, x, ld, c, cs, dw, B, K))
BODY void mix_grad_w_body(const double *r, const float *x, long ld, const double *c, long cs, float *dw, long B, long K) {
	for (long k0 = 0; k0 < K; k0 += 64) {
		long n = K - k0 < 64 ? K - k0 : 64;
		double acc[64];
		for (long k = 0; k < n; k++)
			acc[k] = 0;
		for (long b = 0; b < B; b++) {
			const double *rr = r + b * K + k0;
			const float *xr = x + b * ld + k0;
			double cb = c[b * cs];
			for (long k = 0; k < n; k++)
				acc[k] += rr[k] * (double)xr[k] * cb;
		}
		for (long k = 0; k < n; k++)
			dw[k0 + k] += (float)acc[k];
	}
}

// mix_grad_x: dx[b·ld+k] (+)= r[b,k]·w[k]·x[b·ld+k]·c[b·cs] (set: =).
MULTI(mix_grad_x,
      (const double *r, const float *w, const float *x, long ld, const double *c, long cs, float *dx, long B, long K, int set),
      (r, w, x, ld, c, cs, dx, B, K, set))
BODY void mix_grad_x_body(const double *r, const float *w, const float *x, long ld, const double *c, long cs, float *dx, long B, long K, int set) {
	for (long b = 0; b < B; b++) {
		const double *rr = r + b * K;
		const float *xr = x + b * ld;
		float *o = dx + b * ld;
		double cb = c[b * cs];
		if (set) {
			for (long k = 0; k < K; k++)
				o[k] = (float)(rr[k] * (double)w[k] * (double)xr[k] * cb);
		} else {
			for (long k = 0; k < K; k++)
				o[k] += (float)(rr[k] * (double)w[k] * (double)xr[k] * cb);
		}
	}
}

// ---- mixing layer of two inputs, fused ------------------------------------

// mix2_factors computes, for nb rows of a two-input mixing fold, the
// aligned log-scales m[j] (the max of the two log-scales, NaN when either
// is NaN) and the inputs' factors c0[j], c1[j] = exp(s_h − m), as the
// mixing kernel's sum and mix_acc do (Go's max differs only in the sign it
// gives a zero m, which no result depends on: c_h = 1 either way, and
// m + log M is the same); branch-free, so the rows vectorize.
BODY void mix2_factors(const float *x0, const float *x1, long ld, long K, long nb, double *restrict m, double *restrict c0, double *restrict c1) {
	for (long j = 0; j < nb; j++) {
		double s0 = x0[j * ld + K], s1 = x1[j * ld + K];
		double mb = s0 > s1 ? s0 : s1;
		mb = s0 != s0 ? s0 : mb;
		mb = s1 != s1 ? s1 : mb;
		double a = s0 == mb ? 1 : exp_fast(s0 - mb), b = s1 == mb ? 1 : exp_fast(s1 - mb);
		m[j] = mb;
		c0[j] = mb == -INFINITY ? 0 : a;
		c1[j] = mb == -INFINITY ? 0 : b;
	}
}

// mix2_row forms the float64 sums y (K entries) of one row, as mix_acc does.
BODY void mix2_row(const float *x0, const float *x1, const float *w0, const float *w1, long K, double *restrict y, double a, double b) {
	for (long k = 0; k < K; k++)
		y[k] = (double)w0[k] * (double)x0[k] * a;
	for (long k = 0; k < K; k++)
		y[k] += (double)w1[k] * (double)x1[k] * b;
}

// mix2_dx writes (set) or adds one input's row of the input gradient, as
// mix_grad_x does.
BODY void mix2_dx(const double *restrict r, const float *w, const float *x, double c, long K, int set, float *o) {
	if (set)
		for (long k = 0; k < K; k++)
			o[k] = (float)(r[k] * (double)w[k] * (double)x[k] * c);
	else
		for (long k = 0; k < K; k++)
			o[k] += (float)(r[k] * (double)w[k] * (double)x[k] * c);
}

// mix2_forward: see MixPairForward in vec.go; work: K doubles.
MULTI(mix2_forward,
      (const float *x0, const float *x1, long ld, const float *w0, const float *w1, long B, long K, float *out, double *work),
      (x0, x1, ld, w0, w1, B, K, out, work))
BODY void mix2_forward_body(const float *x0, const float *x1, long ld, const float *w0, const float *w1, long B, long K, float *out, double *work) {
	double ms[LOG_CHUNK], ss[LOG_CHUNK], c0[LOG_CHUNK], c1[LOG_CHUNK]; // as in norm_rows
	double *y = work;
	for (long b0 = 0; b0 < B; b0 += LOG_CHUNK) {
		long nb = B - b0 < LOG_CHUNK ? B - b0 : LOG_CHUNK;
		mix2_factors(x0 + b0 * ld, x1 + b0 * ld, ld, K, nb, ss, c0, c1);
		for (long j = 0; j < nb; j++) {
			long b = b0 + j;
			mix2_row(x0 + b * ld, x1 + b * ld, w0, w1, K, y, c0[j], c1[j]);
			norm_row(y, K, out + b * (K + 1), &ms[j], &ss[j]);
		}
		scale_logs(ms, ss, nb, out + b0 * (K + 1) + K, K + 1);
	}
}

// mix2_backward: see MixPairBackward in vec.go; work: 4K doubles.
MULTI(mix2_backward,
      (const float *x0, const float *x1, long ld, const float *w0, const float *w1, const float *g, long B, long K,
       float *dw0, float *dw1, float *dx0, float *dx1, int set0, int set1, double *work),
      (x0, x1, ld, w0, w1, g, B, K, dw0, dw1, dx0, dx1, set0, set1, work))
BODY void mix2_backward_body(const float *x0, const float *x1, long ld, const float *w0, const float *w1, const float *g, long B, long K,
			     float *dw0, float *dw1, float *dx0, float *dx1, int set0, int set1, double *work) {
	double *restrict y = work, *restrict r = work + K, *restrict a0 = work + 2 * K, *restrict a1 = work + 3 * K;
	double ms[LOG_CHUNK], cs0[LOG_CHUNK], cs1[LOG_CHUNK];
	for (long k = 0; k < K; k++)
		a0[k] = a1[k] = 0;
	for (long b = 0; b < B; b++) {
		long j = b % LOG_CHUNK;
		if (j == 0)
			mix2_factors(x0 + b * ld, x1 + b * ld, ld, K, B - b < LOG_CHUNK ? B - b : LOG_CHUNK, ms, cs0, cs1);
		const float *x0r = x0 + b * ld, *x1r = x1 + b * ld, *gr = g + b * (K + 1);
		double c0 = cs0[j], c1 = cs1[j];
		mix2_row(x0r, x1r, w0, w1, K, y, c0, c1);
		for (long k = 0; k < K; k++) { // quot64
			double v = y[k];
			double q = (double)gr[k] / (v != 0 ? v : 1.0);
			r[k] = v != 0 ? q : 0.0;
		}
		if (dw0)
			for (long k = 0; k < K; k++)
				a0[k] += r[k] * (double)x0r[k] * c0;
		if (dw1)
			for (long k = 0; k < K; k++)
				a1[k] += r[k] * (double)x1r[k] * c1;
		if (dx0)
			mix2_dx(r, w0, x0r, c0, K, set0, dx0 + b * ld);
		if (dx1)
			mix2_dx(r, w1, x1r, c1, K, set1, dx1 + b * ld);
	}
	if (dw0)
		for (long k = 0; k < K; k++)
			dw0[k] += (float)a0[k];
	if (dw1)
		for (long k = 0; k < K; k++)
			dw1[k] += (float)a1[k];
}

// ---- categorical gradients ------------------------------------------------

// scatter_rows: see ScatterRows in vec.go; miss may be NULL.
MULTI(scatter_rows,
      (const float *g, long ldg, const uint8_t *x, long xs, const uint8_t *miss, double *acc, double *tot, long B, long K),
      (g, ldg, x, xs, miss, acc, tot, B, K))
BODY void scatter_rows_body(const float *g, long ldg, const uint8_t *x, long xs, const uint8_t *miss, double *acc, double *tot, long B, long K) {
	for (long b = 0; b < B; b++) {
		if (miss && miss[b * xs])
			continue;
		const float *gr = g + b * ldg;
		double *a = acc + (long)x[b * xs] * K;
		for (long k = 0; k < K; k++) {
			a[k] += (double)gr[k];
			tot[k] += (double)gr[k];
		}
	}
}

// cat_grad_softmax: see CatGradSoftmax in vec.go.
MULTI(cat_grad_softmax,
      (const float *tab, const double *scale, const double *acc, const double *tot, float *d, long K, long C, int set),
      (tab, scale, acc, tot, d, K, C, set))
BODY void cat_grad_softmax_body(const float *tab, const double *scale, const double *acc, const double *tot, float *d, long K, long C, int set) {
	// Eight values' gradients over (a block of) the units, formed in tab's
	// (C, K) order where the reads are contiguous and the loop vectorizes,
	// then transposed into d's (K, C) order in 8×8 blocks.
	float g[8 * 64], gt[64];
	for (long c0 = 0; c0 < C; c0 += 8) {
		long nc = C - c0 < 8 ? C - c0 : 8;
		for (long k0 = 0; k0 < K; k0 += 64) {
			long nk = K - k0 < 64 ? K - k0 : 64;
			for (long i = 0; i < nc; i++) {
				long c = c0 + i;
				double sc = scale[c];
				const float *tr = tab + c * K + k0;
				const double *ar = acc + c * K + k0, *tt = tot + k0;
				float *gr = g + i * 64;
				for (long j = 0; j < nk; j++)
					gr[j] = (float)(ar[j] - ((double)tr[j] * sc) * tt[j]);
			}
			long j = 0;
			if (nc == 8)
				for (; j + 8 <= nk; j += 8) {
					float *dk = d + (k0 + j) * C + c0;
					if (set) {
						tr8x8(g + j, 64, dk, C);
						continue;
					}
					tr8x8(g + j, 64, gt, 8);
					for (int r = 0; r < 8; r++)
						for (int i = 0; i < 8; i++)
							dk[r * C + i] += gt[r * 8 + i];
				}
			for (; j < nk; j++) {
				float *dk = d + (k0 + j) * C + c0;
				for (long i = 0; i < nc; i++)
					dk[i] = set ? g[i * 64 + j] : dk[i] + g[i * 64 + j];
			}
		}
	}
}

// ---- gradient bookkeeping -------------------------------------------------

// first_non_finite: the index of the first NaN or ±Inf in s[0:n], or −1.
// Blocks of 256 are checked vectorized (x − x is 0 exactly for finite x);
// a block with a hit is scanned for the first.
MULTI(first_non_finite, (const float *s, long n, long *at), (s, n, at))
BODY void first_non_finite_body(const float *s, long n, long *at) {
	*at = -1;
	for (long lo = 0; lo < n; lo += 256) {
		long hi = lo + 256 < n ? lo + 256 : n;
		int bad = 0;
		for (long i = lo; i < hi; i++) {
			float d = s[i] - s[i];
			bad |= d != 0 || d != d;
		}
		if (!bad)
			continue;
		for (long i = lo; i < hi; i++) {
			float d = s[i] - s[i];
			if (d != 0 || d != d) {
				*at = i;
				return;
			}
		}
	}
}

// add: dst[i] += src[i] for i < n.
MULTI(add, (float *restrict dst, const float *restrict src, long n), (dst, src, n))
BODY void add_body(float *restrict dst, const float *restrict src, long n) {
	for (long i = 0; i < n; i++)
		dst[i] += src[i];
}

// add_rows: dst[b·ld+k] += src[b·ld+k] for k < K (set: =).
MULTI(add_rows, (float *restrict dst, const float *restrict src, long ld, long B, long K, int set),
      (dst, src, ld, B, K, set))
BODY void add_rows_body(float *restrict dst, const float *restrict src, long ld, long B, long K, int set) {
	if (set) {
		for (long b = 0; b < B; b++)
			memcpy(dst + b * ld, src + b * ld, (size_t)K * sizeof(float));
		return;
	}
	for (long b = 0; b < B; b++)
		for (long k = 0; k < K; k++)
			dst[b * ld + k] += src[b * ld + k];
}

// ---- small GEMM -----------------------------------------------------------

// GEMM_TILE(MR, NR) defines gemm_tile_MRxNR: c[r·ldc + 0:n] (beta: +=,
// else =) Σ_p a[r·sai + p·sap] · b[p·ldb + 0:NR] for r < MR, with the MR×NR
// accumulators in registers; b must have NR readable columns (n ≤ NR are
// stored).
#define GEMM_TILE(MR, NR)                                                                  \
	BODY void gemm_tile_##MR##x##NR(long P, const float *a, long sai, long sap, const float *b, \
					 long ldb, float *c, long ldc, long n, int beta, int fma) { \
		float acc[MR][NR];                                                             \
		for (int r = 0; r < MR; r++)                                                   \
			for (int j = 0; j < NR; j++)                                           \
				acc[r][j] = 0;                                                 \
		for (long p = 0; p < P; p++) {                                                 \
			const float *bp = b + p * ldb;                                         \
			for (int r = 0; r < MR; r++) {                                         \
				float av = a[r * sai + p * sap];                               \
				for (int j = 0; j < NR; j++)                                   \
					acc[r][j] = fma ? __builtin_fmaf(av, bp[j], acc[r][j]) \
							: acc[r][j] + av * bp[j];      \
			}                                                                      \
		}                                                                              \
		for (int r = 0; r < MR; r++) {                                                 \
			float *cr = c + r * ldc;                                               \
			if (n == NR) {                                                         \
				for (int j = 0; j < NR; j++)                                   \
					cr[j] = beta ? cr[j] + acc[r][j] : acc[r][j];          \
			} else { /* via t: acc stays indexed by constants, in registers */ \
				float t[NR];                                                   \
				for (int j = 0; j < NR; j++)                                   \
					t[j] = acc[r][j];                                      \
				for (long j = 0; j < n; j++)                                   \
					cr[j] = beta ? cr[j] + t[j] : t[j];                    \
			}                                                                      \
		}                                                                              \
	}
GEMM_TILE(4, 32)
GEMM_TILE(1, 32)

// gemm_cols runs the tiles of width NR over all M rows for one panel of
// columns.
#define GEMM_COLS(NR)                                                                          \
	BODY void gemm_cols_##NR(long M, long P, const float *a, long sai, long sap, const float *b, \
				 long ldb, float *c, long ldc, long n, int beta, int fma) {            \
		long i = 0;                                                                    \
		for (; i + 4 <= M; i += 4)                                                     \
			gemm_tile_4x##NR(P, a + i * sai, sai, sap, b, ldb, c + i * ldc, ldc, n, beta, fma); \
		for (; i < M; i++)                                                             \
			gemm_tile_1x##NR(P, a + i * sai, sai, sap, b, ldb, c + i * ldc, ldc, n, beta, fma); \
	}
GEMM_COLS(32)

#define GEMM_PC 256

// gemm: C[i, 0:N] (beta 0: =, else +=) Σ_p a[i·sai + p·sap] · Bm[p·ldb + 0:N]
// for i < M: every row of C a combination of rows of Bm, register-blocked
// in tiles of 4 rows by 32 columns. Whole 32-column panels read Bm in place
// (no packing). The last, narrower panel also reads in place the rows whose
// 32-column window lies within the blen readable elements of Bm (the extra
// columns only reach accumulators that are never stored); the remaining
// rows are copied, zero-padded, in chunks of GEMM_PC. With (sai, sap) =
// (lda, 1) the left factor is A, with (1, lda) it is Aᵀ.
BODY void gemm_body(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, long blen, int beta, float *Cm, long ldc, int fma);
TARGET_V3 static void gemm_v3(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, long blen, int beta, float *Cm, long ldc) {
	gemm_body(M, N, P, a, sai, sap, Bm, ldb, blen, beta, Cm, ldc, 1);
}
static void gemm_v1(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, long blen, int beta, float *Cm, long ldc) {
	gemm_body(M, N, P, a, sai, sap, Bm, ldb, blen, beta, Cm, ldc, 0);
}
#if defined(__x86_64__) && defined(__GNUC__)
static void gemm_avx512(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, int beta, float *Cm, long ldc, const float *mul, long ldm);
#endif

// Subnormal operands and results send x86's floating-point units to a
// microcode path tens of times slower. A trained circuit's scaled values
// and gradients reach them (a product of two values 1e-20 below their
// row's largest), which made a trained QG-Tucker K=32 layer's backward
// four times slower than a fresh one's. The GEMMs therefore run with
// flush-to-zero and denormals-are-zero set, restoring the caller's MXCSR
// after: what they drop is below 1.2e-38 of the rows' scale.
#if defined(__x86_64__) && defined(__GNUC__)
static inline unsigned int ftz_enter(void) {
	unsigned int csr = __builtin_ia32_stmxcsr();
	__builtin_ia32_ldmxcsr(csr | 0x8040); // FTZ (bit 15) | DAZ (bit 6)
	return csr;
}
static inline void ftz_leave(unsigned int csr) { __builtin_ia32_ldmxcsr(csr); }
#else
static inline unsigned int ftz_enter(void) { return 0; }
static inline void ftz_leave(unsigned int csr) { (void)csr; }
#endif

void tenpc_gemm(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, long blen, int beta, float *Cm, long ldc) {
	unsigned int csr = ftz_enter();
	switch (level) {
#if defined(__x86_64__) && defined(__GNUC__)
	case 2:
		gemm_avx512(M, N, P, a, sai, sap, Bm, ldb, beta, Cm, ldc, 0, 0);
		break;
#endif
	case 1:
		gemm_v3(M, N, P, a, sai, sap, Bm, ldb, blen, beta, Cm, ldc);
		break;
	default:
		gemm_v1(M, N, P, a, sai, sap, Bm, ldb, blen, beta, Cm, ldc);
		break;
	}
	ftz_leave(csr);
}

BODY void gemm_body(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, long blen, int beta, float *Cm, long ldc, int fma) {
	long j0 = 0;
	for (; j0 + 32 <= N; j0 += 32)
		gemm_cols_32(M, P, a, sai, sap, Bm + j0, ldb, Cm + j0, ldc, 32, beta, fma);
	long n = N - j0;
	if (n == 0)
		return;
	long safe = blen >= j0 + 32 ? (blen - j0 - 32) / ldb + 1 : 0;
	safe = safe < P ? safe : P;
	if (safe > 0) {
		gemm_cols_32(M, safe, a, sai, sap, Bm + j0, ldb, Cm + j0, ldc, n, beta, fma);
		beta = 1;
	}
	float pack[GEMM_PC * 32];
	for (long p0 = safe; p0 < P; p0 += GEMM_PC) {
		long pc = P - p0 < GEMM_PC ? P - p0 : GEMM_PC;
		for (long p = 0; p < pc; p++) {
			const float *src = Bm + (p0 + p) * ldb + j0;
			float *dst = pack + p * 32;
			for (long j = 0; j < n; j++)
				dst[j] = src[j];
			for (long j = n; j < 32; j++)
				dst[j] = 0;
		}
		gemm_cols_32(M, pc, a + p0 * sap, sai, sap, pack, 32, Cm + j0, ldc, n, beta, fma);
		beta = 1;
	}
}

// Eight floats as one vector: gcc lowers the shuffles below to AVX
// instructions in the v4 and v3 builds and to SSE ones in the baseline.
typedef float v8f __attribute__((vector_size(32)));
typedef float v8fu __attribute__((vector_size(32), aligned(4), may_alias));
typedef int v8i __attribute__((vector_size(32)));

// SHUFFLE(a, b, i0, …, i7) picks lanes of a (0–7) and b (8–15): gcc's
// __builtin_shuffle takes a mask vector, clang's __builtin_shufflevector
// constant indices.
#if defined(__clang__)
#define SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (v8i){__VA_ARGS__})
#endif

// tr8x8 writes the transpose of the 8×8 block at s (leading dimension ld)
// to d (leading dimension ldd): pairs of rows interleaved, then pairs of
// pairs, then the 128-bit halves.
BODY void tr8x8(const float *s, long ld, float *d, long ldd) {
	v8f r0 = *(const v8fu *)(s), r1 = *(const v8fu *)(s + ld), r2 = *(const v8fu *)(s + 2 * ld),
	    r3 = *(const v8fu *)(s + 3 * ld), r4 = *(const v8fu *)(s + 4 * ld), r5 = *(const v8fu *)(s + 5 * ld),
	    r6 = *(const v8fu *)(s + 6 * ld), r7 = *(const v8fu *)(s + 7 * ld);
#define LO 0, 8, 1, 9, 4, 12, 5, 13
#define HI 2, 10, 3, 11, 6, 14, 7, 15
	v8f t0 = SHUFFLE(r0, r1, LO), t1 = SHUFFLE(r0, r1, HI);
	v8f t2 = SHUFFLE(r2, r3, LO), t3 = SHUFFLE(r2, r3, HI);
	v8f t4 = SHUFFLE(r4, r5, LO), t5 = SHUFFLE(r4, r5, HI);
	v8f t6 = SHUFFLE(r6, r7, LO), t7 = SHUFFLE(r6, r7, HI);
#define LO2 0, 1, 8, 9, 4, 5, 12, 13
#define HI2 2, 3, 10, 11, 6, 7, 14, 15
	v8f u0 = SHUFFLE(t0, t2, LO2), u1 = SHUFFLE(t0, t2, HI2);
	v8f u2 = SHUFFLE(t1, t3, LO2), u3 = SHUFFLE(t1, t3, HI2);
	v8f u4 = SHUFFLE(t4, t6, LO2), u5 = SHUFFLE(t4, t6, HI2);
	v8f u6 = SHUFFLE(t5, t7, LO2), u7 = SHUFFLE(t5, t7, HI2);
#define LO4 0, 1, 2, 3, 8, 9, 10, 11
#define HI4 4, 5, 6, 7, 12, 13, 14, 15
	*(v8fu *)(d) = SHUFFLE(u0, u4, LO4);
	*(v8fu *)(d + ldd) = SHUFFLE(u1, u5, LO4);
	*(v8fu *)(d + 2 * ldd) = SHUFFLE(u2, u6, LO4);
	*(v8fu *)(d + 3 * ldd) = SHUFFLE(u3, u7, LO4);
	*(v8fu *)(d + 4 * ldd) = SHUFFLE(u0, u4, HI4);
	*(v8fu *)(d + 5 * ldd) = SHUFFLE(u1, u5, HI4);
	*(v8fu *)(d + 6 * ldd) = SHUFFLE(u2, u6, HI4);
	*(v8fu *)(d + 7 * ldd) = SHUFFLE(u3, u7, HI4);
#undef LO
#undef HI
#undef LO2
#undef HI2
#undef LO4
#undef HI4
}

// transpose: dst[j·rows + i] = src[i·ld + j] for i < rows, j < cols: whole
// 8×8 blocks by shuffles, the edges element by element.
MULTI(transpose, (const float *restrict src, long ld, long rows, long cols, float *restrict dst),
      (src, ld, rows, cols, dst))
BODY void transpose_body(const float *restrict src, long ld, long rows, long cols, float *restrict dst) {
	long r8 = rows & ~7L, c8 = cols & ~7L;
	for (long i0 = 0; i0 < r8; i0 += 8)
		for (long j0 = 0; j0 < c8; j0 += 8)
			tr8x8(src + i0 * ld + j0, ld, dst + j0 * rows + i0, rows);
	for (long i = 0; i < rows; i++)
		for (long j = i < r8 ? c8 : 0; j < cols; j++)
			dst[j * rows + i] = src[i * ld + j];
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

// The AVX-512 GEMM: the same product as gemm_body, in tiles of R = 4 (or 1)
// rows by 32 columns held in 2R zmm accumulators; column edges use masked
// loads and stores (no packing, no reads past a row's N columns).
TARGET_V4 static inline __attribute__((always_inline)) void
gemm_tile_avx512(int R, long P, const float *a, long sai, long sap, const float *b, long ldb,
		 __mmask16 m0, __mmask16 m1, int two, int beta, float *c, long ldc, const float *mul, long ldm) {
	__m512 acc[4][2];
	for (int r = 0; r < R; r++)
		acc[r][0] = acc[r][1] = _mm512_setzero_ps();
	for (long p = 0; p < P; p++) {
		const float *bp = b + p * ldb;
		__m512 b0 = _mm512_maskz_loadu_ps(m0, bp);
		__m512 b1 = two ? _mm512_maskz_loadu_ps(m1, bp + 16) : _mm512_setzero_ps();
		for (int r = 0; r < R; r++) {
			__m512 av = _mm512_set1_ps(a[r * sai + p * sap]);
			acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
			if (two)
				acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
		}
	}
	for (int r = 0; r < R; r++) {
		float *cr = c + r * ldc;
		__m512 v0 = acc[r][0], v1 = acc[r][1];
		if (mul) {
			const float *mr = mul + r * ldm;
			v0 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m0, mr), v0);
			if (two)
				v1 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m1, mr + 16), v1);
		}
		if (beta) {
			v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), v0);
			if (two)
				v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), v1);
		}
		_mm512_mask_storeu_ps(cr, m0, v0);
		if (two)
			_mm512_mask_storeu_ps(cr + 16, m1, v1);
	}
}

TARGET_V4 static void gemm_avx512(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, int beta, float *Cm, long ldc, const float *mul, long ldm) {
	for (long j0 = 0; j0 < N; j0 += 32) {
		long n = N - j0 < 32 ? N - j0 : 32;
		__mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
		__mmask16 m1 = n >= 32 ? 0xFFFF : n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : 0;
		const float *b = Bm + j0;
		float *c = Cm + j0;
		const float *mu = mul ? mul + j0 : 0;
		long i = 0;
		if (n > 16) {
			for (; i + 4 <= M; i += 4)
				gemm_tile_avx512(4, P, a + i * sai, sai, sap, b, ldb, m0, m1, 1, beta, c + i * ldc, ldc, mu ? mu + i * ldm : 0, ldm);
			for (; i < M; i++)
				gemm_tile_avx512(1, P, a + i * sai, sai, sap, b, ldb, m0, m1, 1, beta, c + i * ldc, ldc, mu ? mu + i * ldm : 0, ldm);
		} else {
			for (; i + 4 <= M; i += 4)
				gemm_tile_avx512(4, P, a + i * sai, sai, sap, b, ldb, m0, 0, 0, beta, c + i * ldc, ldc, mu ? mu + i * ldm : 0, ldm);
			for (; i < M; i++)
				gemm_tile_avx512(1, P, a + i * sai, sai, sap, b, ldb, m0, 0, 0, beta, c + i * ldc, ldc, mu ? mu + i * ldm : 0, ldm);
		}
	}
}

// exp32_v is exp32 on sixteen lanes, operation for operation (no FMAs).
TARGET_V4 static inline __m512 exp32_v(__m512 x) {
	const __m512 lo = _mm512_set1_ps(-87.0f), log2e = _mm512_set1_ps(1.44269504f),
		     ln2hi = _mm512_set1_ps(0.693359375f), ln2lo = _mm512_set1_ps(-2.12194440e-4f),
		     shifter = _mm512_set1_ps(12582912.0f);
	__mmask16 in = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ), nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
	__m512 xc = _mm512_max_ps(x, lo);
	__m512 t = _mm512_add_ps(_mm512_mul_ps(xc, log2e), shifter);
	__m512 n = _mm512_sub_ps(t, shifter);
	__m512 r = _mm512_sub_ps(_mm512_sub_ps(xc, _mm512_mul_ps(n, ln2hi)), _mm512_mul_ps(n, ln2lo));
	__m512 p = _mm512_set1_ps(1.0f / 5040);
	p = _mm512_add_ps(_mm512_mul_ps(r, p), _mm512_set1_ps(1.0f / 720));
	p = _mm512_add_ps(_mm512_mul_ps(r, p), _mm512_set1_ps(1.0f / 120));
	p = _mm512_add_ps(_mm512_mul_ps(r, p), _mm512_set1_ps(1.0f / 24));
	p = _mm512_add_ps(_mm512_mul_ps(r, p), _mm512_set1_ps(1.0f / 6));
	p = _mm512_add_ps(_mm512_mul_ps(r, p), _mm512_set1_ps(1.0f / 2));
	p = _mm512_add_ps(_mm512_mul_ps(r, p), _mm512_set1_ps(1.0f));
	p = _mm512_add_ps(_mm512_mul_ps(r, p), _mm512_set1_ps(1.0f));
	__m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(shifter)), _mm512_set1_epi32(127)), 23);
	__m512 y = _mm512_maskz_mul_ps(in, p, _mm512_castsi512_ps(e));
	return _mm512_mask_mov_ps(y, nan, x);
}

// tr16 transposes sixteen rows of sixteen floats in place: pairs of rows
// interleaved, then pairs of pairs, then 128-bit lanes twice.
TARGET_V4 static inline void tr16(__m512 r[16]) {
	__m512 t[16];
	for (int i = 0; i < 8; i++) {
		t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
	}
	for (int i = 0; i < 4; i++) {
		__m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]),
			c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
		r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
		r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
		r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
		r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
	}
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 4; j++) {
			t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
			t[8 * i + 4 + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0xdd);
		}
	for (int j = 0; j < 8; j++) {
		r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
		r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd);
	}
}

// mask16 selects the first n < 16 lanes, or all sixteen.
static inline __mmask16 mask16(long n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

// softmax_table_avx512 is softmax_table_body in registers: the sums in two
// vectors of eight doubles (lanes c mod 16), the table in 16×16 blocks
// transposed in registers.
TARGET_V4 static void softmax_table_avx512(const float *th, long K, long C, float *tab, double *logScale, double *scale, double *work, int *bad) {
	double *lse = work, *L = work + K;
	const __m512 ninf = _mm512_set1_ps(-INFINITY);
	int b = 0;
	for (long k = 0; k < K; k++) {
		const float *t = th + k * C;
		__m512 mv = ninf;
		for (long c = 0; c < C; c += 16)
			mv = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, mask16(C - c), t + c), mv);
		__m512 mb = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
		__m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
		for (long c = 0; c < C; c += 16) {
			__m512 e = exp32_v(_mm512_sub_ps(_mm512_mask_loadu_ps(ninf, mask16(C - c), t + c), mb));
			lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
			hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
		}
		__m512d p = _mm512_add_pd(lo, hi);
		__m256d q = _mm256_add_pd(_mm512_castpd512_pd256(p), _mm512_extractf64x4_pd(p, 1));
		__m128d r = _mm_add_pd(_mm256_castpd256_pd128(q), _mm256_extractf128_pd(q, 1));
		double s = _mm_cvtsd_f64(r) + _mm_cvtsd_f64(_mm_unpackhi_pd(r, r));
		int ok = s >= 1; // false: a NaN or an infinity among the logits
		b |= !ok;
		lse[k] = (double)_mm512_cvtss_f32(mb) + log_pos(ok ? s : 1);
	}
	if (b) {
		*bad = 1;
		return;
	}
	const __m512d dninf = _mm512_set1_pd(-INFINITY);
	for (long c0 = 0; c0 < C; c0 += 16) {
		__mmask16 mc = mask16(C - c0);
		__m512d l0 = dninf, l1 = dninf;
		for (long k = 0; k < K; k++) {
			__m512 x = _mm512_maskz_loadu_ps(mc, th + k * C + c0);
			__m512d lk = _mm512_set1_pd(lse[k]);
			l0 = _mm512_max_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x)), lk), l0);
			l1 = _mm512_max_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1)), lk), l1);
		}
		_mm512_mask_storeu_pd(L + c0, (__mmask8)mc, l0);
		_mm512_mask_storeu_pd(L + c0 + 8, (__mmask8)(mc >> 8), l1);
	}
	for (long c = 0; c < C; c++)
		b |= !(L[c] >= LOG_TINY);
	*bad = b;
	if (b)
		return;
	__m512 rows[16];
	for (long k0 = 0; k0 < K; k0 += 16) {
		long nk = K - k0 < 16 ? K - k0 : 16;
		__mmask16 mk = mask16(nk);
		for (long c0 = 0; c0 < C; c0 += 16) {
			long nc = C - c0 < 16 ? C - c0 : 16;
			__mmask16 mc = mask16(nc);
			__m512d L0 = _mm512_maskz_loadu_pd((__mmask8)mc, L + c0), L1 = _mm512_maskz_loadu_pd((__mmask8)(mc >> 8), L + c0 + 8);
			for (long i = 0; i < 16; i++) {
				if (i >= nk) {
					rows[i] = _mm512_setzero_ps();
					continue;
				}
				__m512 x = _mm512_maskz_loadu_ps(mc, th + (k0 + i) * C + c0);
				__m512d lk = _mm512_set1_pd(lse[k0 + i]);
				__m512d a0 = _mm512_sub_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x)), lk), L0);
				__m512d a1 = _mm512_sub_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1)), lk), L1);
				__m512 a = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(a0)), _mm512_cvtpd_ps(a1), 1);
				rows[i] = exp32_v(a);
			}
			tr16(rows);
			for (long j = 0; j < nc; j++)
				_mm512_mask_storeu_ps(tab + (c0 + j) * K + k0, mk, rows[j]);
		}
	}
	for (long c = 0; c < C; c++) {
		logScale[c] = L[c];
		scale[c] = exp_fast(L[c]);
	}
}
// prod_norm_avx512 is prod_norm_body with each row in sixteen-float chunks
// (masked at the row's end), in three passes over a chunk of rows so that
// no row waits on the last: the products' maxima (in doubles), their
// inverses and logs, then the scaled rows (recomputing the products).
TARGET_V4 static inline void prod16(const float *r0, const float *r1, __mmask16 mk, __m512d *v0, __m512d *v1) {
	__m512 a = _mm512_maskz_loadu_ps(mk, r0), x = _mm512_maskz_loadu_ps(mk, r1);
	*v0 = _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a)), _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
	*v1 = _mm512_mul_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1)), _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1)));
}

TARGET_V4 static void prod_norm_avx512(const float *z0, const float *z1, const float *s0, const float *s1, long ld, long B, long K, float *out) {
	double ms[LOG_CHUNK], ss[LOG_CHUNK], inv[LOG_CHUNK];
	int sp[LOG_CHUNK];
	for (long b0 = 0; b0 < B; b0 += LOG_CHUNK) {
		long nb = B - b0 < LOG_CHUNK ? B - b0 : LOG_CHUNK;
		for (long j = 0; j < nb; j++) {
			long b = b0 + j;
			__m512d mv = _mm512_setzero_pd();
			__mmask8 nan = 0;
			for (long c = 0; c < K; c += 16) {
				__m512d v0, v1;
				prod16(z0 + b * K + c, z1 + b * K + c, mask16(K - c), &v0, &v1);
				nan |= _mm512_cmp_pd_mask(v0, v0, _CMP_UNORD_Q) | _mm512_cmp_pd_mask(v1, v1, _CMP_UNORD_Q);
				mv = _mm512_max_pd(v0, _mm512_max_pd(v1, mv)); // a NaN product loses
			}
			double m = _mm512_reduce_max_pd(mv);
			ss[j] = (double)s0[b * ld] + (double)s1[b * ld];
			ms[j] = 1;
			sp[j] = special_row(out + b * (K + 1), K, nan != 0, m, &ss[j]);
			if (!sp[j])
				ms[j] = m;
		}
		for (long j = 0; j < nb; j++)
			inv[j] = 1 / ms[j];
		for (long j = 0; j < nb; j++) {
			if (sp[j])
				continue;
			long b = b0 + j;
			float *row = out + b * (K + 1);
			__m512d iv = _mm512_set1_pd(inv[j]);
			for (long c = 0; c < K; c += 16) {
				__mmask16 mk = mask16(K - c);
				__m512d v0, v1;
				prod16(z0 + b * K + c, z1 + b * K + c, mk, &v0, &v1);
				__m512 y = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(_mm512_mul_pd(v0, iv))),
							     _mm512_cvtpd_ps(_mm512_mul_pd(v1, iv)), 1);
				_mm512_mask_storeu_ps(row + c, mk, y);
			}
		}
		scale_logs(ms, ss, nb, out + b0 * (K + 1) + K, K + 1);
	}
}
#endif

// ---- Tucker layer ---------------------------------------------------------

// outer: y[(b·K + i)·K + j] = x1[b·ld + i] · x2[b·ld + j].
MULTI(outer, (const float *x1, const float *x2, long ld, long B, long K, float *restrict y), (x1, x2, ld, B, K, y))
BODY void outer_body(const float *x1, const float *x2, long ld, long B, long K, float *restrict y) {
	for (long b = 0; b < B; b++) {
		const float *r1 = x1 + b * ld, *r2 = x2 + b * ld;
		for (long i = 0; i < K; i++) {
			float v = r1[i];
			float *yr = y + (b * K + i) * K;
			for (long j = 0; j < K; j++)
				yr[j] = v * r2[j];
		}
	}
}

// dot16 is Σ_j a[j]·b[j] in sixteen interleaved lanes combined pairwise
// (ref.go's dot16).
BODY float dot16(const float *restrict a, const float *restrict b, long n) {
	float l[16];
	for (int j = 0; j < 16; j++)
		l[j] = 0;
	long c = 0;
	for (; c + 16 <= n; c += 16)
		for (int j = 0; j < 16; j++)
			l[j] += a[c + j] * b[c + j];
	for (int j = 0; c < n; c++, j++)
		l[j] += a[c] * b[c];
	for (int w = 8; w >= 1; w /= 2)
		for (int j = 0; j < w; j++)
			l[j] += l[j + w];
	return l[0];
}

// tucker_grad_in: see TuckerGradIn in vec.go; dx1 or dx2 may be NULL.
MULTI(tucker_grad_in,
      (const float *d, const float *x1, const float *x2, long ld, float *dx1, float *dx2, long B, long K),
      (d, x1, x2, ld, dx1, dx2, B, K))
BODY void tucker_grad_in_body(const float *d, const float *x1, const float *x2, long ld, float *dx1, float *dx2, long B, long K) {
	for (long b = 0; b < B; b++) {
		const float *r1 = x1 + b * ld, *r2 = x2 + b * ld;
		for (long i = 0; i < K; i++) {
			const float *dr = d + (b * K + i) * K;
			float v1 = r1[i];
			if (dx1)
				dx1[b * ld + i] += v1 * dot16(dr, r2, K);
			if (dx2) {
				float *o2 = dx2 + b * ld;
				for (long j = 0; j < K; j++)
					o2[j] += r2[j] * dr[j] * v1;
			}
		}
	}
}

// gemm_mul: C[i, 0:N] (beta: +=, else =) mul[i·ldm + 0:N] ⊙ (the gemm
// product), the multiplication in the AVX-512 GEMM's epilogue. It returns 0
// (doing nothing) below that level, where the caller forms the product and
// the Hadamard product in two passes.
int tenpc_gemm_mul(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, const float *mul, long ldm, int beta, float *Cm, long ldc) {
#if defined(__x86_64__) && defined(__GNUC__)
	if (level == 2) {
		unsigned int csr = ftz_enter();
		gemm_avx512(M, N, P, a, sai, sap, Bm, ldb, beta, Cm, ldc, mul, ldm);
		ftz_leave(csr);
		return 1;
	}
#endif
	return 0;
}

// ---- input layer ----------------------------------------------------------

// gather_rows: see GatherRows in vec.go.
MULTI(gather_rows,
      (const float *tab, const double *logScale, long K, const uint8_t *x, long xs, long B, float *out),
      (tab, logScale, K, x, xs, B, out))
BODY void gather_rows_body(const float *tab, const double *logScale, long K, const uint8_t *x, long xs, long B, float *out) {
	for (long b = 0; b < B; b++) {
		long c = x[b * xs];
		const float *src = tab + c * K;
		float *row = out + b * (K + 1);
		for (long k = 0; k < K; k++)
			row[k] = src[k];
		row[K] = (float)logScale[c];
	}
}

int tenpc_softmax_table(const float *th, long K, long C, float *tab, double *logScale, double *scale, double *work) {
	int bad = 0;
	switch (level) {
#if defined(__x86_64__) && defined(__GNUC__)
	case 2:
		softmax_table_avx512(th, K, C, tab, logScale, scale, work, &bad);
		break;
#endif
	case 1:
		softmax_table_v3(th, K, C, tab, logScale, scale, work, &bad);
		break;
	default:
		softmax_table_v1(th, K, C, tab, logScale, scale, work, &bad);
		break;
	}
	return !bad;
}

void tenpc_prod_norm(const float *z0, const float *z1, const float *s0, const float *s1, long ld, long B, long K, float *out) {
	switch (level) {
#if defined(__x86_64__) && defined(__GNUC__)
	case 2:
		prod_norm_avx512(z0, z1, s0, s1, ld, B, K, out);
		return;
#endif
	case 1:
		prod_norm_v3(z0, z1, s0, s1, ld, B, K, out);
		return;
	default:
		prod_norm_v1(z0, z1, s0, s1, ld, B, K, out);
		return;
	}
}
