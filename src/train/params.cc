#include "train/params.h"

#include <cmath>

namespace whale {

Params::Params(const ModelConfig& c, bool with_mtp) {
  model_.config = c;
  model_.path = "(training)";
  int64_t total = 0;
  ForEachTensor(c, model_.weights, with_mtp, [&](const TensorSpec& s) {
    if (s.optional) return;  // absent from a fresh model: tied lm_head, V2's missing router bias
    ParamTensor t{s.name, s.shape, s.role, total, 1};
    for (int64_t d : s.shape) t.size *= d;
    t.trainable = s.role != TensorRole::kBias;
    t.decay = s.role == TensorRole::kLinear || s.role == TensorRole::kEmbedding || s.role == TensorRole::kHead ||
              s.role == TensorRole::kRouter;
    total += t.size;
    tensors.push_back(t);
  });
  data.assign(total, 0.0f);
  grad.assign(total, 0.0f);
  // Second walk: point every slot at its place in the arena (the vectors in
  // ModelWeights were sized by the first walk and do not move now).
  size_t i = 0;
  ForEachTensor(c, model_.weights, with_mtp, [&](const TensorSpec& s) {
    if (s.optional) {
      if (s.role == TensorRole::kHead) *s.slot = model_.weights.embed_tokens;  // tied
      return;
    }
    const ParamTensor& t = tensors[i++];
    WeightView& v = *s.slot;
    v.dtype = DType::kF32;
    v.rows = t.shape.size() == 2 ? t.shape[0] : 1;
    v.cols = t.shape.back();
    v.data = reinterpret_cast<const uint8_t*>(data.data() + t.offset);
  });
}

void Params::Init(uint64_t seed, double std) {
  std::mt19937_64 rng(seed);
  const double out_std = std / std::sqrt(2.0 * double(config().num_hidden_layers));
  for (const ParamTensor& t : tensors) {
    float* p = data.data() + t.offset;
    if (t.role == TensorRole::kNorm) {
      std::fill(p, p + t.size, 1.0f);
    } else if (t.role == TensorRole::kBias) {
      std::fill(p, p + t.size, 0.0f);
    } else {
      const bool out = t.name.find("o_proj") != std::string::npos || t.name.find("down_proj") != std::string::npos;
      std::normal_distribution<double> nd(0.0, out ? out_std : std);
      for (int64_t j = 0; j < t.size; ++j) p[j] = float(nd(rng));
    }
  }
}

void Params::ZeroGrad() { std::fill(grad.begin(), grad.end(), 0.0f); }

}  // namespace whale
