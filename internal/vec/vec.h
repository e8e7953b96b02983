// Declarations of vec.c's kernels; see vec.c and vec.go.

#include <stdint.h>

int tenpc_vec_detect(void);
void tenpc_vec_set_level(int l);
int tenpc_vec_get_level(void);

void tenpc_prod_norm(const float *z0, const float *z1, const float *s0, const float *s1, long ld, long B, long K, float *out);
void tenpc_quot(const float *g, long ldg, const float *z, float *t, long B, long K);
void tenpc_hadamard(const float *x, long ld, const float *d, float *dx, long B, long K, int set);
int tenpc_softmax_table(const float *th, long K, long C, float *tab, double *logScale, double *scale, double *work);
void tenpc_adam(float *restrict th, const float *restrict g, float *restrict m, float *restrict v, long n, const float *h, int flags);
void tenpc_mix_acc(const float *x, long ld, const float *w, const double *m, double *c, long cs, double *y, long B, long K, int first);
void tenpc_norm_rows(const double *y, const double *s, float *out, long B, long K);
void tenpc_quot64(const float *g, long ldg, const double *y, double *r, long B, long K);
void tenpc_mix_grad_w(const double *r, const float *x, long ld, const double *c, long cs, float *dw, long B, long K);
void tenpc_mix2_forward(const float *x0, const float *x1, long ld, const float *w0, const float *w1, long B, long K, float *out, double *work);
void tenpc_mix2_backward(const float *x0, const float *x1, long ld, const float *w0, const float *w1, const float *g, long B, long K,
			 float *dw0, float *dw1, float *dx0, float *dx1, int set0, int set1, double *work);
void tenpc_mix_grad_x(const double *r, const float *w, const float *x, long ld, const double *c, long cs, float *dx, long B, long K, int set);
void tenpc_scatter_rows(const float *g, long ldg, const uint8_t *x, long xs, const uint8_t *miss, double *acc, double *tot, long B, long K);
void tenpc_cat_grad_softmax(const float *tab, const double *scale, const double *acc, const double *tot, float *d, long K, long C, int set);
void tenpc_first_non_finite(const float *s, long n, long *at);
void tenpc_add(float *restrict dst, const float *restrict src, long n);
void tenpc_add_rows(float *restrict dst, const float *restrict src, long ld, long B, long K, int set);
void tenpc_gemm(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, long blen, int beta, float *Cm, long ldc);
void tenpc_transpose(const float *restrict src, long ld, long rows, long cols, float *restrict dst);
void tenpc_outer(const float *x1, const float *x2, long ld, long B, long K, float *restrict y);
void tenpc_tucker_grad_in(const float *d, const float *x1, const float *x2, long ld, float *dx1, float *dx2, long B, long K);
int tenpc_gemm_mul(long M, long N, long P, const float *a, long sai, long sap, const float *Bm, long ldb, const float *mul, long ldm, int beta, float *Cm, long ldc);
void tenpc_gather_rows(const float *tab, const double *logScale, long K, const uint8_t *x, long xs, long B, float *out);
