// Declarations of vec.c's kernels; see vec.c and vec.go.

int tenpc_vec_detect(void);
void tenpc_vec_set_level(int l);
int tenpc_vec_get_level(void);

void tenpc_prod_norm(const float *z0, const float *z1, const float *s0, const float *s1, long ld, long B, long K, float *out);
void tenpc_quot(const float *g, long ldg, const float *z, float *t, long B, long K);
void tenpc_hadamard(const float *x, long ld, const float *d, float *dx, long B, long K, int set);
void tenpc_softmax_table(const float *th, long K, long C, float *tab, double *logScale, double *scale, double *work, int *bad);
void tenpc_adam(float *restrict th, float *restrict g, float *restrict m, float *restrict v, long n, const float *h, int flags);
