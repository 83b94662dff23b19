// Backward of MatMul (y = x·wᵀ): the two products of the chain rule, written
// as row-axpy loops the compiler vectorises over the contiguous dimension.
#include "kernels/backward.h"

namespace whale {

void MatMulBackward(const float* dy, const float* x, int64_t n, const float* w, int64_t m, int64_t k, float* dx,
                    float* dw, ThreadPool* pool) {
  // dx[t] += Σ_r dy[t,r] · w[r]: each thread owns whole rows of dx.
  if (dx) {
    auto body = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        float* __restrict dxt = dx + t * k;
        const float* dyt = dy + t * m;
        for (int64_t r = 0; r < m; ++r) {
          const float a = dyt[r];
          if (a == 0.0f) continue;
          const float* __restrict wr = w + r * k;
          for (int64_t i = 0; i < k; ++i) dxt[i] += a * wr[i];
        }
      }
    };
    if (pool) pool->ParallelFor(n, body);
    else body(0, n);
  }
  // dw[r] += Σ_t dy[t,r] · x[t]: each thread owns whole rows of dw.
  if (dw) {
    auto body = [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* __restrict dwr = dw + r * k;
        for (int64_t t = 0; t < n; ++t) {
          const float a = dy[t * m + r];
          if (a == 0.0f) continue;
          const float* __restrict xt = x + t * k;
          for (int64_t i = 0; i < k; ++i) dwr[i] += a * xt[i];
        }
      }
    };
    if (pool) pool->ParallelFor(m, body);
    else body(0, m);
  }
}

}  // namespace whale
