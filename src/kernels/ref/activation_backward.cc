// Backward of the pointwise and small-vector ops: SwiGLU's silu·up, softmax,
// interleaved RoPE and the embedding gather.
#include <cmath>

#include "kernels/backward.h"

namespace whale {

// silu(g) = g·σ(g);  d silu/dg = σ(g)·(1 + g·(1 − σ(g))).
void SiluMulBackward(const float* gate, const float* up, const float* dout, int64_t n, float* dgate, float* dup) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i], s = 1.0f / (1.0f + std::exp(-g));
    const float d = dout[i];
    dup[i] = d * g * s;
    dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
  }
}

void SoftmaxBackward(const float* p, const float* dp, int64_t n, float* dx) {
  double dot = 0;
  for (int64_t i = 0; i < n; ++i) dot += double(p[i]) * dp[i];
  const float s = float(dot);
  for (int64_t i = 0; i < n; ++i) dx[i] = p[i] * (dp[i] - s);
}

// The rotation is orthogonal, so its transpose (rotation by −angle) carries the gradient.
void RopeInterleavedBackward(float* dx, int64_t d, int64_t pos, const float* inv_freq) {
  for (int64_t i = 0; i < d / 2; ++i) {
    const float angle = float(pos) * inv_freq[i];
    const float c = std::cos(angle), s = std::sin(angle);
    const float g0 = dx[2 * i], g1 = dx[2 * i + 1];
    dx[2 * i] = g0 * c + g1 * s;
    dx[2 * i + 1] = -g0 * s + g1 * c;
  }
}

void EmbeddingBackward(const float* dx, const int32_t* tokens, int64_t n, int64_t d, float* dtable) {
  for (int64_t t = 0; t < n; ++t) {
    float* row = dtable + int64_t(tokens[t]) * d;
    const float* g = dx + t * d;
    for (int64_t i = 0; i < d; ++i) row[i] += g[i];
  }
}

}  // namespace whale
