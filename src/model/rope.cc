#include "model/rope.h"

#include <algorithm>
#include <cmath>

namespace whale {
namespace {

// DeepSeek model.py precompute_freqs_cis: the dimension index at which a
// wavelength completes `rotations` turns over the original context.
double CorrectionDim(double rotations, double dim, double base, double max_pos) {
  return dim * std::log(max_pos / (rotations * 2 * M_PI)) / (2 * std::log(base));
}

double YarnMscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

std::vector<float> RopeInvFreq(const ModelConfig& c) {
  const int64_t d = c.qk_rope_head_dim;
  std::vector<float> f(d / 2);
  for (int64_t i = 0; i < d / 2; ++i)
    f[i] = float(1.0 / std::pow(c.rope_theta, double(2 * i) / double(d)));
  const RopeScaling& y = c.rope_scaling;
  if (!y.yarn) return f;
  const double L0 = double(y.original_max_position_embeddings);
  double low = std::floor(CorrectionDim(y.beta_fast, d, c.rope_theta, L0));
  double high = std::ceil(CorrectionDim(y.beta_slow, d, c.rope_theta, L0));
  low = std::max(low, 0.0);
  high = std::min(high, double(d - 1));
  if (low == high) high += 0.001;
  for (int64_t i = 0; i < d / 2; ++i) {
    const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
    // Low indices (fast rotations) keep their frequency; high ones are interpolated.
    f[i] = float(double(f[i]) / y.factor * ramp + double(f[i]) * (1 - ramp));
  }
  return f;
}

float SoftmaxScale(const ModelConfig& c) {
  double s = 1.0 / std::sqrt(double(c.qk_head_dim()));
  if (c.rope_scaling.yarn) {
    const double m = YarnMscale(c.rope_scaling.factor, c.rope_scaling.mscale_all_dim);
    s *= m * m;
  }
  return float(s);
}

}  // namespace whale
