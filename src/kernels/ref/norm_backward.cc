// Backward of RmsNorm. With inv = 1/sqrt(mean(x²)+eps) and y = g·x·inv:
//   ∂L/∂x_i = inv·g_i·dy_i − x_i·inv³/d · Σ_j g_j·dy_j·x_j,   ∂L/∂g_i = Σ_rows dy_i·x_i·inv.
#include <cmath>

#include "kernels/backward.h"

namespace whale {

void RmsNormBackward(const float* x, int64_t n, int64_t d, const float* g, double eps, const float* dy, float* dx,
                     float* dg) {
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * d;
    const float* dyt = dy + t * d;
    double ss = 0, dot = 0;
    for (int64_t i = 0; i < d; ++i) {
      ss += double(xt[i]) * xt[i];
      dot += double(g[i]) * dyt[i] * xt[i];
    }
    const double inv = 1.0 / std::sqrt(ss / double(d) + eps);
    const float a = float(inv), b = float(dot * inv * inv * inv / double(d));
    float* dxt = dx + t * d;
    for (int64_t i = 0; i < d; ++i) {
      dxt[i] += a * g[i] * dyt[i] - b * xt[i];
      if (dg) dg[i] += dyt[i] * xt[i] * a;
    }
  }
}

}  // namespace whale
