//go:build cgo && !purego

// Element-wise kernels of tenpc's hot loops, in C so that gcc vectorizes
// them (Go's compiler does not). Each kernel's body is written once, as an
// always-inline function, and compiled three times: for x86-64-v4
// (AVX-512), x86-64-v3 (AVX2, FMA) and the baseline; tenpc_vec_level picks
// one at run time from the CPU (or a test forces one). The semantics are
// those of the Go reference implementations in ref.go, which the tests hold
// these to.

// Products and sums are not contracted into FMAs: every level then rounds
// like the Go reference (and like each other), so results do not depend on
// the machine.
#pragma GCC optimize("fp-contract=off")

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
// exported tenpc_name dispatching on level.
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

// ---- CP layer -------------------------------------------------------------

// prod_norm: for each row b, H = z0[b]·z1[b] in double (K entries), m = max H,
// out[b] = [H/m, s0[b·ld] + s1[b·ld] + log m], or [0…, −Inf] when m = 0; a
// NaN in H makes the row NaN.
MULTI(prod_norm,
      (const float *z0, const float *z1, const float *s0, const float *s1, long ld, long B, long K, float *out),
      (z0, z1, s0, s1, ld, B, K, out))
BODY void prod_norm_body(const float *z0, const float *z1, const float *s0, const float *s1, long ld, long B, long K, float *out) {
	for (long b = 0; b < B; b++) {
		const float *r0 = z0 + b * K, *r1 = z1 + b * K;
		float *row = out + b * (K + 1);
		double m = 0;
		int nan = 0;
		for (long k = 0; k < K; k++) {
			double v = (double)r0[k] * (double)r1[k];
			m = v > m ? v : m;
			nan |= v != v;
		}
		double s = (double)s0[b * ld] + (double)s1[b * ld];
		if (nan) {
			for (long k = 0; k <= K; k++)
				row[k] = NAN;
			continue;
		}
		if (m == 0) {
			for (long k = 0; k < K; k++)
				row[k] = 0;
			row[K] = -INFINITY;
			continue;
		}
		// In double, m·(1/m) is within an ulp of 1 and every v/m with v < m
		// stays below 1 by more than float's half-ulp: rounding to float
		// gives exactly 1 at the maximum.
		double inv = 1 / m;
		for (long k = 0; k < K; k++)
			row[k] = (float)((double)r0[k] * (double)r1[k] * inv);
		row[K] = (float)(s + log(m));
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
