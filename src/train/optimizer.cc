#include "train/optimizer.h"

#include <algorithm>
#include <cmath>

namespace whale {

double Schedule::LrScale(int64_t step) const {
  if (warmup > 0 && step < warmup) return double(step + 1) / double(warmup);
  if (kind == "constant") return 1.0;
  const double span = double(std::max<int64_t>(1, total - warmup));
  const double prog = std::clamp(double(step - warmup) / span, 0.0, 1.0);
  if (kind == "wsd") {
    const double start = 1.0 - decay_fraction;
    if (prog < start) return 1.0;
    return 1.0 - (1.0 - min_ratio) * (prog - start) / std::max(1e-9, decay_fraction);
  }
  return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + std::cos(M_PI * prog));
}

double AdamW::Step(double lr) {
  double ss = 0;
  for (const ParamTensor& t : p_.tensors)
    if (t.trainable)
      for (int64_t i = t.offset; i < t.offset + t.size; ++i) ss += double(p_.grad[i]) * p_.grad[i];
  const double norm = std::sqrt(ss);
  const float clip = (cfg_.clip > 0 && norm > cfg_.clip) ? float(cfg_.clip / norm) : 1.0f;
  ++t_;
  const float b1 = float(cfg_.beta1), b2 = float(cfg_.beta2);
  const float c1 = float(1.0 / (1.0 - std::pow(cfg_.beta1, double(t_))));
  const float c2 = float(1.0 / (1.0 - std::pow(cfg_.beta2, double(t_))));
  const float flr = float(lr), eps = float(cfg_.eps);
  for (const ParamTensor& t : p_.tensors) {
    if (!t.trainable) continue;
    const float decay = t.decay ? float(1.0 - lr * cfg_.weight_decay) : 1.0f;
    float* __restrict w = p_.data.data() + t.offset;
    const float* __restrict g = p_.grad.data() + t.offset;
    float* __restrict m = m_.data() + t.offset;
    float* __restrict v = v_.data() + t.offset;
    for (int64_t i = 0; i < t.size; ++i) {
      const float gi = g[i] * clip;
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
      w[i] = w[i] * decay - flr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
    }
  }
  return norm;
}

}  // namespace whale
